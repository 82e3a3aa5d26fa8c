// The memory breakdown by start-up stage, without a homeserver: Node itself, the modules loaded, Rust crypto
// initialised on fake-indexeddb, and a crypto store snapshot written. Each variant (Node flags) runs in its own
// process so they do not disturb each other; forced GCs between stages show what is retained rather than garbage.
//   node dist/test/bench/memory-stages.js            (all variants, a table)
//   node --expose-gc dist/test/bench/memory-stages.js --stage-run   (one process, JSON lines)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import { hookWasmMemories, memoryKinds, kindsText, type MemoryKinds } from "./memory-kinds.js";

interface Stage {
  stage: string;
  kinds: MemoryKinds;
}
interface OlmLike {
  outgoingRequests(): Promise<Array<{ id: string; type: number }>>;
  markRequestAsSent(id: string, type: number, body: string): Promise<unknown>;
}
const SYNCS = 100;

async function stageRun(): Promise<void> {
  // Flags set at run time, as the program itself would (the variants' "runtime" rows).
  if (process.env.STAGE_V8_FLAGS) v8.setFlagsFromString(process.env.STAGE_V8_FLAGS);
  hookWasmMemories();
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const out = (stage: string) => {
    gc();
    gc();
    process.stdout.write(JSON.stringify({ stage, kinds: memoryKinds() }) + "\n");
  };
  out("node");
  await import("../../src/polyfill.js");
  const sdk = await import("matrix-js-sdk");
  out("+ matrix-js-sdk");
  await import("../../src/cli/main.js");
  out("+ our modules (headless)");
  const { ensureIndexedDb, takeCryptoSnapshot, writeCryptoSnapshot } = await import("../../src/matrix/crypto-store.js");
  await ensureIndexedDb();
  const client = sdk.createClient({ baseUrl: "http://127.0.0.1:9", userId: "@bench:localhost", deviceId: "BENCHDEV", accessToken: "x" });
  await client.initRustCrypto({ useIndexedDB: true, cryptoDatabasePrefix: "bench" });
  out("+ Rust crypto on fake-indexeddb");
  // What every /sync does with encryption on: the OlmMachine takes the sync's key counts (and re-reads its account,
  // which holds its 50 one-time keys once they are generated and uploaded).
  const rust = client.getCrypto() as unknown as { processSyncChanges(a: unknown): Promise<unknown>; olmMachine: OlmLike };
  const sync = (otks: number) =>
    rust.processSyncChanges({
      toDeviceEvents: [],
      deviceLists: { changed: [], left: [] },
      oneTimeKeysCounts: { signed_curve25519: otks },
      unusedFallbackKeys: ["signed_curve25519"],
    });
  await sync(0);
  for (const r of await rust.olmMachine.outgoingRequests()) {
    if (r.constructor.name === "KeysUploadRequest")
      await rust.olmMachine.markRequestAsSent(r.id, r.type, JSON.stringify({ one_time_key_counts: { signed_curve25519: 50 } }));
  }
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < SYNCS; i++) await sync(50);
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ cpuPerSyncMs: (cpu.user + cpu.system) / 1000 / SYNCS }) + "\n");
  out(`+ ${SYNCS} syncs`);
  const dir = mkdtempSync(join(tmpdir(), "chatrixcd-memstages-"));
  try {
    for (let i = 0; i < 3; i++) await writeCryptoSnapshot(join(dir, "crypto-store.bin"), await takeCryptoSnapshot("bench", "@bench:localhost", "BENCHDEV"));
    out("+ 3 crypto store saves");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  client.stopClient();
  process.exit(0);
}

/** The variants compared: Node's defaults and the V8 flags worth measuring. */
export const VARIANTS: Array<{ name: string; flags: string[]; env?: Record<string, string> }> = [
  { name: "defaults", flags: [] },
  { name: "--max-semi-space-size=1", flags: ["--max-semi-space-size=1"] },
  { name: "--max-semi-space-size=1 set at run time", flags: [], env: { STAGE_V8_FLAGS: "--max-semi-space-size=1" } },
  { name: "--liftoff-only (no optimised WASM)", flags: ["--liftoff-only"] },
  { name: "--liftoff-only set at run time", flags: [], env: { STAGE_V8_FLAGS: "--liftoff-only" } },
  { name: "MALLOC_ARENA_MAX=2", flags: [], env: { MALLOC_ARENA_MAX: "2" } },
  { name: "--wasm-num-compilation-tasks=1 at run time", flags: [], env: { STAGE_V8_FLAGS: "--wasm-num-compilation-tasks=1" } },
  { name: "--single-threaded", flags: ["--single-threaded"] },
];

function main(): void {
  const self = fileURLToPath(import.meta.url);
  for (const v of VARIANTS) {
    const r = spawnSync(process.execPath, ["--expose-gc", ...v.flags, self, "--stage-run"], { encoding: "utf8", env: { ...process.env, ...v.env } });
    process.stdout.write(`\n${v.name}\n`);
    if (r.status !== 0) {
      process.stdout.write(`  failed (${r.status}): ${r.stderr.slice(-1500)}\n`);
      continue;
    }
    for (const line of r.stdout.trim().split("\n")) {
      if (!line.startsWith("{")) continue;
      const s = JSON.parse(line) as Stage & { cpuPerSyncMs?: number };
      if (s.cpuPerSyncMs !== undefined) {
        process.stdout.write(`  CPU per sync ${s.cpuPerSyncMs.toFixed(2)} ms\n`);
        continue;
      }
      process.stdout.write(`  ${s.stage.padEnd(32)} ${kindsText(s.kinds)}\n`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes("--stage-run")) await stageRun();
  else main();
}
