// Where a process's memory goes, by kind: V8 heap spaces, external and array buffers, the WebAssembly linear
// memories (the Rust crypto's), and the kernel's view (anonymous vs file-backed resident pages). Used by the probe
// (soak-probe.ts) in a benchmarked process and by the staged breakdown (memory-stages.ts).
import { readFileSync } from "node:fs";
import v8 from "node:v8";

// The project compiles without the DOM lib, which declares WebAssembly; only these members are used here.
interface WasmMemory {
  buffer: ArrayBuffer;
}
interface WasmInstance {
  exports: Record<string, unknown>;
}
declare const WebAssembly: { Memory: abstract new (...a: never[]) => WasmMemory; Instance: new (...a: never[]) => WasmInstance; instantiate: unknown };

export interface MemoryKinds {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Committed size of each V8 heap space (new_space, old_space, code_space, large_object_space, …). */
  spaces: Record<string, number>;
  /** Sum of the WebAssembly memories instantiated so far (the Rust crypto's linear memory); NaN before the hook. */
  wasm: number;
  /** Resident anonymous pages (heaps, WASM, malloc) and file-backed ones (the node binary, shared libraries). */
  rssAnon: number;
  rssFile: number;
}

const memories: WasmMemory[] = [];
let hooked = false;

/**
 * Records the memory export of every WebAssembly instance created from now on, so its size can be reported (the
 * crypto bindings keep theirs private, and process.memoryUsage() counts it nowhere). Must run before the module loads.
 */
export function hookWasmMemories(): void {
  if (hooked) return;
  hooked = true;
  const note = (inst: WasmInstance) => {
    for (const v of Object.values(inst.exports)) if (v instanceof WebAssembly.Memory) memories.push(v);
    return inst;
  };
  const wasm = WebAssembly as { instantiate: unknown; Instance: unknown };
  const instantiate = (wasm.instantiate as (...a: unknown[]) => Promise<unknown>).bind(WebAssembly);
  const Instance = WebAssembly.Instance;
  wasm.instantiate = async (...a: unknown[]) => {
    const r = await instantiate(...a);
    note(r instanceof Instance ? r : (r as { instance: WasmInstance }).instance);
    return r;
  };
  wasm.Instance = new Proxy(Instance, { construct: (T, args) => note(Reflect.construct(T, args) as WasmInstance) });
}

function statusKiB(field: string, text: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) * 1024 : NaN;
}

export function memoryKinds(): MemoryKinds {
  const m = process.memoryUsage();
  const spaces: Record<string, number> = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = s.space_size;
  let status = "";
  try {
    status = readFileSync("/proc/self/status", "utf8");
  } catch {
    /* not Linux */
  }
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    spaces,
    wasm: hooked ? memories.reduce((a, mem) => a + mem.buffer.byteLength, 0) : NaN,
    rssAnon: statusKiB("RssAnon", status),
    rssFile: statusKiB("RssFile", status),
  };
}

const mib = (b: number) => (Number.isNaN(b) ? "?" : (b / 1048576).toFixed(1));

/** One line: RSS = anon + file, then the V8 heap by space, external, and WASM. */
export function kindsText(k: MemoryKinds): string {
  const s = k.spaces;
  return (
    `RSS ${mib(k.rss)} (anon ${mib(k.rssAnon)}, file ${mib(k.rssFile)}) · V8 heap ${mib(k.heapUsed)} used of ${mib(k.heapTotal)}` +
    ` (new ${mib(s.new_space ?? NaN)}, old ${mib(s.old_space ?? NaN)}, code ${mib(s.code_space ?? NaN)}, large ${mib(s.large_object_space ?? NaN)})` +
    ` · external ${mib(k.external)} · WASM ${mib(k.wasm)} MiB`
  );
}
