// F6: the console's cost. Prints figures; asserts nothing.
//   node dist/test/bench/console-bench.js [--quick]
// 1. Render time per frame at 160x48 with 50 live tasks (in-process, fake terminal; goal ≤ 2 ms).
// 2. Key-to-screen latency: in-process (key written → bytes on the terminal) and through a real
//    pseudo-terminal running `chatrixcd --demo` (goal ≤ 50 ms).
// 3. Idle CPU over 30 s and RSS of `chatrixcd --demo` in a pseudo-terminal at 160x48 (goal ≤ 1 % of a core).
import type * as NodePty from "node-pty";
import { createRequire } from "node:module";
import { execSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { harness, addTask, sleep } from "../console-helpers.js";
import { emit } from "./figures.js";
import { historyApp } from "../helpers-history.js";

const quick = process.argv.includes("--quick");
/** --history: the frames are measured with the History view (its charts) open over the panels (issue 14.11). */
const charts = process.argv.includes("--history");
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f = (n: number) => n.toFixed(2);
let keyInProcess = "n/a";

async function renderBench(): Promise<void> {
  const h = await harness({ cols: 160, rows: 48, app: charts ? await historyApp() : undefined });
  try {
    for (let i = 1; i <= 50; i++) addTask(h.app, i, { templateName: `Template ${i % 7}`, currentTask: "starting" });
    await h.until(/#50/);
    if (charts) {
      await h.keys("h");
      await h.until(/success rate \d+%/);
    }
    h.con.scheduler.flush();
    const frames = quick ? 200 : 1000;
    const times: number[] = [];
    const idle: number[] = [];
    const naive: number[] = [];
    let n = 0;
    for (let i = 0; i < frames; i++) {
      // A realistic 200 ms worth of change: 10 tasks move, 5 log lines arrive.
      for (let k = 0; k < 10; k++) {
        const id = 1 + ((i * 10 + k) % 50);
        addTask(h.app, id, { currentTask: `step ${i}-${k}` });
      }
      for (let k = 0; k < 5; k++) h.app.logger.log("info", "bench", `line ${n++} ${"x".repeat(40)}`);
      // Worst case for the charts: the whole History view is drawn again in every frame (it changes at most once a second).
      if (charts) h.con.historyView.invalidate();
      const t0 = performance.now();
      h.con.scheduler.flush();
      times.push(performance.now() - t0);
      // A frame with nothing changed (the clock tick when idle).
      const t1 = performance.now();
      h.con.scheduler.flush();
      idle.push(performance.now() - t1);
      // Baseline: the same kind of frame drawn the way blessed does by default, every panel redrawn.
      for (let k = 0; k < 10; k++) {
        const id = 1 + ((i * 10 + k + 5) % 50);
        addTask(h.app, id, { currentTask: `again ${i}-${k}` });
      }
      for (let k = 0; k < 5; k++) h.app.logger.log("info", "bench", `line ${n++} ${"x".repeat(40)}`);
      (h.con as unknown as { fullRedraw: boolean }).fullRedraw = true;
      const t2 = performance.now();
      h.con.scheduler.flush();
      naive.push(performance.now() - t2);
      // Let blessed flush its output to the (fake) terminal, as between real frames.
      await new Promise((r) => setImmediate(r));
    }
    await sleep(50);
    console.log(`F6 render, 160x48, 50 live tasks, 10 task updates + 5 log lines per frame (${frames} frames)${charts ? ", History view open" : ""}:`);
    console.log(
      `  per frame: mean ${f(mean(times))} ms, p50 ${f(pct(times, 50))} ms, p95 ${f(pct(times, 95))} ms, max ${f(Math.max(...times))} ms (goal ≤ 2 ms)`,
    );
    console.log(`  nothing changed: mean ${f(mean(idle))} ms`);
    emit({
      id: "F6",
      name: `render per frame, 160×48, 50 live tasks (${frames} frames)`,
      ours: `mean ${f(mean(times))} ms, p95 ${f(pct(times, 95))} ms`,
      baseline: `the same frame with every panel redrawn (blessed default): mean ${f(mean(naive))} ms, p95 ${f(pct(naive, 95))} ms`,
      goal: "≤ 2 ms",
      met: mean(times) <= 2,
    });

    // Key to screen, in-process: from writing the key to the first byte written to the terminal.
    const lat: number[] = [];
    const out = h.io.output as unknown as { write: (c: unknown, ...a: unknown[]) => boolean };
    const orig = out.write.bind(out);
    let waiting: ((t: number) => void) | undefined;
    out.write = (c: unknown, ...a: unknown[]) => {
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(performance.now());
      }
      return orig(c, ...a);
    };
    for (let i = 0; i < (quick ? 50 : 200); i++) {
      const got = new Promise<number>((r) => {
        waiting = r;
      });
      const t0 = performance.now();
      h.io.input.write(i % 2 ? "k" : "j");
      lat.push((await got) - t0);
    }
    out.write = orig;
    console.log(`F6 key-to-screen, in-process (j/k in the tasks table): mean ${f(mean(lat))} ms, p95 ${f(pct(lat, 95))} ms (goal ≤ 50 ms)`);
    keyInProcess = `in-process mean ${f(mean(lat))} ms, p95 ${f(pct(lat, 95))} ms`;
  } finally {
    h.destroy();
  }
}

async function ptyBench(): Promise<void> {
  const pty = createRequire(import.meta.url)("node-pty") as typeof NodePty;
  const main = fileURLToPath(new URL("../../screens/main.js", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "chatrixcd-bench-"));
  mkdirSync(join(dir, "xdg"));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CHATRIXCD_")) env[k] = v;
  Object.assign(env, {
    TERM: "xterm-256color",
    LANG: "C.UTF-8",
    NCURSES_NO_UTF8_ACS: "1",
    XDG_CONFIG_HOME: join(dir, "xdg"),
    CHATRIXCD_BOT_STATE_DIR: join(dir, "state"),
  });
  const p = pty.spawn(process.execPath, [main, "--demo"], { name: "xterm-256color", cols: 160, rows: 48, cwd: dir, env });
  let last = 0;
  let onData: (() => void) | undefined;
  let bytes = 0;
  p.onData((d) => {
    bytes += d.length;
    last = performance.now();
    onData?.();
  });
  try {
    const hz = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;
    const cpu = () => {
      const s = readFileSync(`/proc/${p.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return (Number(s[11]) + Number(s[12])) / hz;
    };
    const status = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(readFileSync(`/proc/${p.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
    const warm = quick ? 4000 : 8000;
    await sleep(warm);
    // Key to screen through the pty: key written → first byte of the redraw back.
    const lat: number[] = [];
    for (let i = 0; i < (quick ? 20 : 60); i++) {
      await sleep(40);
      const got = new Promise<number>((r) => {
        onData = () => {
          onData = undefined;
          r(performance.now());
        };
      });
      const t0 = performance.now();
      p.write(i % 2 ? "k" : "j");
      lat.push((await Promise.race([got, sleep(1000).then(() => performance.now())])) - t0);
    }
    console.log(
      `F6 key-to-screen through a pty (chatrixcd --demo, 160x48): ` +
        `mean ${f(mean(lat))} ms, p50 ${f(pct(lat, 50))} ms, p95 ${f(pct(lat, 95))} ms (goal ≤ 50 ms)`,
    );
    emit({
      id: "F6",
      name: "key → screen latency",
      ours: `through a pty (chatrixcd --demo): mean ${f(mean(lat))} ms, p95 ${f(pct(lat, 95))} ms`,
      baseline: keyInProcess,
      goal: "≤ 50 ms",
      met: pct(lat, 95) <= 50,
    });
    await sleep(2000);
    const secs = quick ? 10 : 30;
    const c0 = cpu();
    const b0 = bytes;
    const t0 = performance.now();
    await sleep(secs * 1000);
    const used = cpu() - c0;
    const wall = (performance.now() - t0) / 1000;
    console.log(
      `F6 idle CPU over ${secs} s (chatrixcd --demo at 160x48, clock ticking, no key pressed): ${f((100 * used) / wall)} % of a core; ${bytes - b0} ` +
        `bytes written to the terminal (goal ≤ 1 %)`,
    );
    console.log(`F6 RSS: ${f(status("VmRSS"))} MiB now, ${f(status("VmHWM"))} MiB peak`);
    emit({
      id: "F6",
      name: `idle CPU over ${secs} s, and RSS (console on the demo, 160×48)`,
      ours: `${f((100 * used) / wall)} % of a core; RSS ${f(status("VmRSS"))} MiB (peak ${f(status("VmHWM"))})`,
      baseline: "n/a (goal only)",
      goal: "≤ 1 % of a core",
      met: (100 * used) / wall <= 1,
    });
    void last;
  } finally {
    p.kill("SIGTERM");
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

await renderBench();
// The pty part measures the demo at rest, without the History view: --history measures the frames only.
if (!charts) await ptyBench();
process.exit(0);
