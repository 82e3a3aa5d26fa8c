// F2 status latency, F3 Semaphore requests per minute, F4 bytes fetched per new output line.
// Ours (websocket push with reconcile; and our polling fallback) against the Python original's pattern (one status
// poll per task every 10 s, and a full output download plus a status poll every 2 s for a tailed task), each
// against its own instance of our Semaphore-compatible server in the same run.
import "../../src/polyfill.js";
import { startSemaphoreServer, type SemaphoreServer } from "../../src/emulator/index.js";
import { SemaphoreClient } from "../../src/semaphore/client.js";
import { TaskTracker } from "../../src/semaphore/tracker.js";
import { Store } from "../../src/core/store.js";
import { Logger } from "../../src/log/logger.js";
import { isTerminalStatus } from "../../src/semaphore/types.js";
import { emit, median, pct, ms, sleep, type Figure } from "./figures.js";

const quick = process.argv.includes("--quick");
const WINDOW_MS = quick ? 12_000 : 60_000;
const OUR_POLL_MS = 5_000; // [semaphore] poll_interval default
const PY_POLL_MS = 10_000; // semaphore_poll plugin default
const PY_TAIL_MS = 2_000; // tail_logs loop

type Strategy = "push" | "poll" | "python";

interface Run {
  strategy: Strategy;
  server: SemaphoreServer;
  /** server status change time per `${taskId}:${status}` (first occurrence). */
  changedAt: Map<string, number>;
  /** client detection latency per transition. */
  latencies: number[];
  /** transitions the client never saw (polls skipped over them). */
  missed: number;
  newLines: number;
  stop(): Promise<void>;
}

async function server(changedAt: Map<string, number>): Promise<SemaphoreServer> {
  return startSemaphoreServer({
    tickMs: 200,
    lineDelayMs: 100,
    seed: "empty",
    schedules: false,
    maxParallelTasks: 100,
    onTaskUpdate: (t, at) => {
      const k = `${t.id}:${t.status}`;
      if (!changedAt.has(k)) changedAt.set(k, at);
    },
  });
}

/** Starts `n` long tasks (each its own template, so none waits for another) and returns their ids. */
async function startTasks(srv: SemaphoreServer, n: number, lines: number, delayUnits: number): Promise<number[]> {
  const project = srv.createProject("Bench");
  const client = new SemaphoreClient({ url: srv.url, token: srv.adminToken });
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const tpl = srv.addTemplate(project.id, {
      name: `Job ${i}`,
      scenario: { lines: Array.from({ length: lines }, (_, k) => `TASK [step ${k}] ${"*".repeat(40)}`), delayUnits },
    });
    ids.push((await client.startTask(project.id, { templateId: tpl.id })).id);
  }
  client.close();
  return ids;
}

async function ours(strategy: "push" | "poll", n: number, lines: number, delayUnits: number, follow: number): Promise<Run> {
  const changedAt = new Map<string, number>();
  const srv = await server(changedAt);
  const run: Run = { strategy, server: srv, changedAt, latencies: [], missed: 0, newLines: 0, stop: async () => undefined };
  if (strategy === "poll") srv.faults.refuseWebsocket(403);
  const client = new SemaphoreClient({ url: srv.url, token: srv.adminToken });
  const store = new Store();
  const tracker = new TaskTracker({ client, store, log: new Logger({ level: "error" }).child("t"), pollIntervalMs: OUR_POLL_MS, wsRetryMs: 600_000 });
  const transitionsSeen = new Set<string>();
  store.on("transition", (t) => {
    transitionsSeen.add(`${t.taskId}:${t.status}`);
    if (t.status === "waiting") return; // creation by our own request, not a change to detect
    const at = changedAt.get(`${t.taskId}:${t.status}`);
    if (at !== undefined) run.latencies.push(performance.now() - at);
  });
  store.on("output", (_k, l) => {
    run.newLines += l.length;
  });
  await tracker.start();
  const ids = await startTasks(srv, n, lines, delayUnits);
  for (const id of ids) tracker.track(1, id);
  const unfollow = ids.slice(0, follow).map((id) => tracker.follow(1, id));
  run.stop = async () => {
    for (const u of unfollow) u();
    run.missed = [...changedAt.keys()].filter((k) => !transitionsSeen.has(k)).length;
    await tracker.stop();
    client.close();
    await srv.stop();
  };
  return run;
}

/** The Python original: a 10 s status poll per task; a tailed task also gets status + whole output every 2 s. */
async function python(n: number, lines: number, delayUnits: number, tail: number): Promise<Run> {
  const changedAt = new Map<string, number>();
  const srv = await server(changedAt);
  const run: Run = { strategy: "python", server: srv, changedAt, latencies: [], missed: 0, newLines: 0, stop: async () => undefined };
  const client = new SemaphoreClient({ url: srv.url, token: srv.adminToken, maxConcurrent: 64 });
  const ids = await startTasks(srv, n, lines, delayUnits);
  const last = new Map<number, string>();
  const seen = new Set<string>();
  const timers: NodeJS.Timeout[] = [];
  const poll = async (id: number) => {
    const t = await client.task(1, id).catch(() => undefined);
    if (!t || last.get(id) === t.status) return;
    last.set(id, t.status);
    seen.add(`${id}:${t.status}`);
    if (t.status === "waiting") return;
    const at = changedAt.get(`${id}:${t.status}`);
    if (at !== undefined) run.latencies.push(performance.now() - at);
  };
  ids.forEach((id, i) => {
    // Monitors start when each task is started; stagger like real starts.
    const first = setTimeout(
      function tick() {
        void poll(id);
        timers.push(setTimeout(tick, PY_POLL_MS));
      },
      (i * 37) % PY_POLL_MS,
    );
    timers.push(first);
  });
  let prevLen = new Map<number, number>();
  for (const id of ids.slice(0, tail)) {
    const tailTick = async () => {
      await poll(id);
      const out = await client.taskOutput(1, id).catch(() => undefined);
      if (out) {
        const before = prevLen.get(id) ?? 0;
        if (out.length > before) run.newLines += out.length - before;
        prevLen.set(id, out.length);
      }
      timers.push(setTimeout(() => void tailTick(), PY_TAIL_MS));
    };
    timers.push(setTimeout(() => void tailTick(), PY_TAIL_MS));
  }
  run.stop = async () => {
    for (const t of timers) clearTimeout(t);
    run.missed = [...changedAt.keys()].filter((k) => !seen.has(k)).length;
    client.close();
    await srv.stop();
  };
  return run;
}

interface Measured {
  requestsPerMin: number;
  bytesPerLine: number;
  lat: number[];
  missed: number;
  transitions: number;
}

/** Lets the runs warm up, then measures over the window. */
async function measure(runs: Run[]): Promise<Measured[]> {
  await sleep(2_000);
  for (const r of runs) r.server.resetStats();
  const lines0 = runs.map((r) => r.newLines);
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const minutes = (performance.now() - t0) / 60_000;
  const out = runs.map((r, i) => {
    const s = r.server.stats();
    const requests = Object.entries(s.requestsByRoute)
      .filter(([k]) => k !== "GET /api/ws")
      .reduce((a, [, v]) => a + v, 0);
    const newLines = r.newLines - lines0[i]!;
    const m: Measured = {
      requestsPerMin: requests / minutes,
      bytesPerLine: newLines > 0 ? (s.bytesOut + s.wsBytesOut) / newLines : NaN,
      lat: [],
      missed: 0,
      transitions: 0,
    };
    return m;
  });
  for (const r of runs) await r.stop();
  runs.forEach((r, i) => {
    out[i]!.lat = r.latencies;
    out[i]!.missed = r.missed;
    out[i]!.transitions = r.changedAt.size;
  });
  return out;
}

export async function semaphoreBench(): Promise<Figure[]> {
  const figures: Figure[] = [];
  // F2: short tasks so transitions keep coming during the window (waiting → starting → running → success).
  const lat = await measure([await ours("push", 20, 12, 10, 0), await ours("poll", 20, 12, 10, 0), await python(20, 12, 10, 0)]);
  const latText = (m: Measured) => `median ${ms(median(m.lat))}, p95 ${ms(pct(m.lat, 95))}; ${m.missed} of ${m.transitions} statuses never seen`;
  figures.push({
    id: "F2",
    name: "status change → our store (push)",
    ours: latText(lat[0]!),
    baseline: `Python 10 s poll: ${latText(lat[2]!)}`,
    goal: "median ≤ 250 ms",
    met: median(lat[0]!.lat) <= 250,
    raw: { push: lat[0]!.lat, python: lat[2]!.lat },
  });
  figures.push({
    id: "F2",
    name: "status change → our store (polling fallback, 5 s)",
    ours: latText(lat[1]!),
    baseline: `Python 10 s poll: ${latText(lat[2]!)}`,
    raw: { poll: lat[1]!.lat },
  });

  // F3 and F4: long-running tasks (~3 min), one of them followed/tailed.
  for (const n of quick ? [1, 50] : [1, 10, 50]) {
    const [push, poll, py] = await measure([await ours("push", n, 400, 5, 1), await ours("poll", n, 400, 5, 1), await python(n, 400, 5, 1)]);
    const f3: Figure = {
      id: "F3",
      name: `Semaphore requests/min, ${n} running task${n > 1 ? "s" : ""} (1 followed)`,
      ours: `push ${push!.requestsPerMin.toFixed(1)}; polling fallback ${poll!.requestsPerMin.toFixed(1)}`,
      baseline: `Python ${py!.requestsPerMin.toFixed(1)}`,
    };
    if (n === 50) {
      f3.goal = "push ≤ 2/min";
      f3.met = push!.requestsPerMin <= 2;
    }
    figures.push(f3);
    if (n === 1) {
      figures.push({
        id: "F4",
        name: "bytes fetched per new output line (1 followed task)",
        ours: `push ${push!.bytesPerLine.toFixed(0)} B; polling fallback ${poll!.bytesPerLine.toFixed(0)} B`,
        baseline: `Python ${py!.bytesPerLine.toFixed(0)} B (whole log every 2 s)`,
        note: "the Python figure grows with the log's length; ours does not",
      });
    }
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await semaphoreBench()) emit(f);
  process.exit(0);
}
void isTerminalStatus;
