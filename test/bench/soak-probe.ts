// Loaded into a benchmarked process with `node --import …/soak-probe.js` (the soak, test/bench/soak.ts): the
// process itself is not changed. On every SIGUSR2 it appends one JSON line to $SOAK_PROBE_FILE describing the
// interval since the previous signal (or since start): memory now, CPU time and event-loop utilisation over the
// interval, and the event-loop delay histogram (perf_hooks monitorEventLoopDelay), which is then reset.
// Without SOAK_PROBE_FILE it does nothing.
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { appendFileSync } from "node:fs";
import { writeHeapSnapshot } from "node:v8";
import { hookWasmMemories, memoryKinds, type MemoryKinds } from "./memory-kinds.js";

/** One interval as the probe reports it. Delays in ms, memory in bytes. */
export interface ProbeSample {
  seq: number;
  /** Date.now() when taken. */
  t: number;
  intervalMs: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** user + system CPU time over the interval. */
  cpuMs: number;
  /** performance.eventLoopUtilization over the interval (0..1). */
  elu: number;
  /** monitorEventLoopDelay over the interval. It times a `resolutionMs` timer, so an idle loop reads ≈ resolutionMs. */
  lag: { count: number; min: number; p50: number; p99: number; max: number; mean: number; resolutionMs: number };
  /** Memory by kind: heap spaces, WASM linear memory, anonymous vs file-backed RSS. */
  kinds?: MemoryKinds;
  /** With $SOAK_PROBE_HEAP (a path prefix) and $SOAK_PROBE_HEAP_AT (a seq): the heap snapshot written after that sample. */
  heapSnapshot?: string;
}

export const PROBE_RESOLUTION_MS = 10;

export function installProbe(file: string): void {
  hookWasmMemories();
  const h = monitorEventLoopDelay({ resolution: PROBE_RESOLUTION_MS });
  h.enable();
  let seq = 0;
  let since = Date.now();
  let cpu = process.cpuUsage();
  let elu = performance.eventLoopUtilization();
  const ms = (ns: number) => ns / 1e6;
  process.on("SIGUSR2", () => {
    const now = Date.now();
    const kinds = memoryKinds();
    const m = kinds;
    const c = process.cpuUsage(cpu);
    const e = performance.eventLoopUtilization(elu);
    const n = h.count;
    const sample: ProbeSample = {
      seq: seq++,
      t: now,
      intervalMs: now - since,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      cpuMs: (c.user + c.system) / 1000,
      elu: e.utilization,
      kinds,
      lag:
        n > 0
          ? {
              count: n,
              min: ms(h.min),
              p50: ms(h.percentile(50)),
              p99: ms(h.percentile(99)),
              max: ms(h.max),
              mean: ms(h.mean),
              resolutionMs: PROBE_RESOLUTION_MS,
            }
          : { count: 0, min: NaN, p50: NaN, p99: NaN, max: NaN, mean: NaN, resolutionMs: PROBE_RESOLUTION_MS },
    };
    // Memory first, then the snapshot (which itself takes memory); the line goes out when the snapshot is on disk.
    // Only once: a snapshot inflates RSS for a while, which would distort the samples after it.
    if (process.env.SOAK_PROBE_HEAP && String(sample.seq) === process.env.SOAK_PROBE_HEAP_AT)
      sample.heapSnapshot = writeHeapSnapshot(`${process.env.SOAK_PROBE_HEAP}-${sample.seq}.heapsnapshot`);
    appendFileSync(file, JSON.stringify(sample) + "\n");
    h.reset();
    since = now;
    cpu = process.cpuUsage();
    elu = performance.eventLoopUtilization();
  });
}

if (process.env.SOAK_PROBE_FILE) installProbe(process.env.SOAK_PROBE_FILE);
