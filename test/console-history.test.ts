// The History view (issue 14 item 11): statistics per template from Semaphore's task list (one request per project,
// cached, read again after a task finishes), the per-day stacks, the activity sparklines, keys and mouse, Esc back.
import test from "ava";
import "../src/polyfill.js";
import { harness, fakeApp, FakeSemaphore, KEY, click, type FakeApp } from "./console-helpers.js";
import type { TaskWithTpl } from "../src/semaphore/types.js";
import { summarize, percentile } from "../src/core/history.js";
import { Activity } from "../src/core/activity.js";
import { sparkline, stackedColumns, verticalBars } from "../screens/widgets/sparkline.js";
import { mulberry32 } from "../src/util/random.js";

/** A fake Semaphore that also answers the task list, from a known history. */
class HistorySemaphore extends FakeSemaphore {
  readonly lists = new Map<number, TaskWithTpl[]>();
  /** Held task-list requests wait for this (to interleave requests with task transitions). */
  hold?: Promise<void>;
  async taskList(projectId: number): Promise<TaskWithTpl[]> {
    this.calls.push({ method: "tasks", args: [projectId] });
    const list = [...(this.lists.get(projectId) ?? [])];
    if (this.hold) await this.hold;
    return list;
  }
}

/** The client's `tasks(projectId)` is the fake's taskList (its `tasks` is the map of started tasks). */
const asClient = (sem: HistorySemaphore) => new Proxy(sem, {
  get(target, prop) {
    if (prop === "tasks") return (p: number) => target.taskList(p);
    const v = Reflect.get(target, prop) as unknown;
    return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  },
});

const today = new Date();
/** Noon `daysAgo` local days back, plus `minute` minutes: the same local day in every time zone. */
const at = (daysAgo: number, minute: number) => new Date(today.getFullYear(), today.getMonth(), today.getDate() - daysAgo, 12, minute);

function run(id: number, templateId: number, name: string, status: string, end: Date, seconds: number): TaskWithTpl {
  return {
    id, template_id: templateId, project_id: 1, status, tpl_alias: name, created: end.toISOString(),
    start: new Date(end.getTime() - seconds * 1000).toISOString(), end: end.toISOString(),
  } as unknown as TaskWithTpl;
}

/**
 * Deploy web: 22 finished runs. The two oldest (20 days ago, failed, 1000 s) fall outside the last 20. Runs 2..21
 * last (i-1)*10 s, two a day from 9 days ago to today; run 5 failed, run 9 was stopped, the rest succeeded.
 */
function deployWeb(): TaskWithTpl[] {
  const out: TaskWithTpl[] = [run(1000, 1, "Deploy web", "error", at(20, 0), 1000), run(1001, 1, "Deploy web", "error", at(20, 1), 1000)];
  for (let i = 2; i <= 21; i++) out.push(run(1000 + i, 1, "Deploy web", i === 5 ? "error" : i === 9 ? "stopped" : "success", at((21 - i) >> 1, i), (i - 1) * 10));
  return out.reverse(); // Semaphore lists newest first
}

function historyApp(): FakeApp & { semaphore: HistorySemaphore } {
  const app = fakeApp();
  const sem = new HistorySemaphore();
  sem.lists.set(1, [
    ...deployWeb(),
    run(2000, 3, "Full backup", "success", at(1, 0), 120),
    { ...run(2001, 3, "Full backup", "running", at(0, 0), 0), end: null } as TaskWithTpl,
  ]);
  sem.lists.set(2, [{ ...run(3000, 7, "Rebuild search index", "running", at(0, 0), 0), project_id: 2, end: null } as TaskWithTpl]);
  app.semaphore = sem;
  app.ops.semaphore = asClient(sem) as never;
  return app as FakeApp & { semaphore: HistorySemaphore };
}

/** Per day, oldest first, over the last 14 days: [success, failed, stopped], worked out by hand from deployWeb(). */
const EXPECTED_DAYS: Array<[number, number, number]> = [
  [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], // 13..10 days ago
  [2, 0, 0], // 9: runs 2, 3
  [1, 1, 0], // 8: runs 4, 5 (failed)
  [2, 0, 0], // 7
  [1, 0, 1], // 6: runs 8, 9 (stopped)
  [2, 0, 0], [2, 0, 0], [2, 0, 0], [2, 0, 0], [2, 0, 0], [2, 0, 0], // 5..0
];

test("statistics: last 20 runs, success rate, nearest-rank p50/p95, outcomes per day", (t) => {
  const s = summarize(deployWeb(), { runs: 20, days: 14, now: today.getTime() });
  t.is(s.runs.length, 20);
  t.deepEqual(s.runs.map((r) => r.taskId), Array.from({ length: 20 }, (_, i) => 1002 + i), "the last 20, oldest first");
  t.is(s.succeeded, 18);
  t.is(s.successRate, 0.9);
  t.is(s.p50, 100);
  t.is(s.p95, 190);
  t.deepEqual(s.perDay.map((d) => [d.success, d.failed, d.stopped]), EXPECTED_DAYS);
  t.is(percentile([1, 2, 3, 4], 50), 2);
  t.is(percentile([5], 95), 5);
  t.is(percentile([], 50), undefined);
});

test("the History view shows the statistics, per-day stacks and marks; arrows pick, Esc returns", async (t) => {
  const app = historyApp();
  const h = await harness({ app });
  try {
    await h.keys("h");
    await h.until(/History/);
    await h.until(/success rate 90% \(18 of 20\)/);
    const screen = h.text();
    if (process.env.SHOW_SCREEN) console.log(screen);
    t.regex(screen, /Infrastructure › Deploy web/);
    t.regex(screen, /p50 1m40s/);
    t.regex(screen, /p95 3m10s/);
    t.regex(screen, /tallest 3m20s/);
    // Per day: the totals row reads 2 for each of the last ten days, nothing before.
    const right = (r: string) => r.split("│")[2] ?? "";
    const totals = h.rows().find((r) => /^(?:\s+2){10}\s*$/.test(right(r)));
    t.truthy(totals, "a totals row with ten 2s");
    t.is(right(totals!).trim().split(/\s+/).length, 10);
    // Stacks: one failed and one stopped run, each half of its day's column (plus the one in the legend).
    const count = (ch: string) => [...screen].filter((c) => c === ch).length;
    const cell = count("▒") - 1;
    t.true(cell > 0, "the failed segment is drawn");
    t.is(count("░") - 1, cell, "the stopped segment is as tall as the failed one (one run each)");
    // Duration marks: one ✖ under the failed run and one ■ under the stopped one (plus the legend's).
    t.is(count("✖"), 2);
    t.is(count("■"), 2);

    // The next template; a template with no finished run says so.
    await h.keys(KEY.down);
    await h.until(/Infrastructure › Full backup/);
    t.regex(h.text(), /success rate 100% \(1 of 1\)/);
    await h.keys(KEY.tab);
    await h.until(/Internal tools › Rebuild search index/);
    t.regex(h.text(), /No finished runs/);
    await h.keys("g");
    await h.until(/Infrastructure › Deploy web/);

    // Mouse: a click on a template row selects it.
    const y = h.rows().findIndex((r) => /^│ Full backup/.test(r));
    t.true(y > 0, "the Full backup row is on screen");
    await h.keys(click(3, y));
    await h.until(/Infrastructure › Full backup/);

    await h.keys(KEY.esc);
    await h.until(() => !/History/.test(h.text()) && /2 Tasks/.test(h.text()));
    t.is(h.con.historyView.isOpen, false);
    await h.keys(":history\r");
    await h.until(/success rate 100%/);
    t.is(app.semaphore.callsOf("tasks").length, 2, "reopening uses the cached lists: one request per project");
  } finally { h.destroy(); }
});

test("a finished task makes the view read its project's list again, once", async (t) => {
  const app = historyApp();
  const h = await harness({ app });
  try {
    await h.keys("h");
    await h.until(/success rate 90%/);
    t.deepEqual(app.semaphore.callsOf("tasks"), [[1], [2]]);
    // Deploy web runs once more and fails: the new list has it.
    app.store.upsertTask({ projectId: 1, taskId: 1022, templateId: 1, status: "running" });
    app.semaphore.lists.get(1)!.unshift(run(1022, 1, "Deploy web", "error", new Date(), 5));
    app.store.upsertTask({ projectId: 1, taskId: 1022, templateId: 1, status: "error" });
    await h.until(/success rate 85% \(17 of 20\)/);
    t.deepEqual(app.semaphore.callsOf("tasks"), [[1], [2], [1]], "only project 1 is read again");
  } finally { h.destroy(); }
});

test("concurrent asks share one request per project; a task finishing mid-request is never served stale (seeded)", async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = mulberry32(seed);
    const app = historyApp();
    const sem = app.semaphore;
    let version = 0;
    const asks: Array<Promise<unknown>> = [];
    const releases: Array<() => void> = [];
    const releaseAll = () => { for (const r of releases.splice(0)) r(); sem.hold = undefined; };
    for (let step = 0; step < 30; step++) {
      const r = rnd();
      if (r < 0.5) asks.push(app.ops.history.runs({ kind: "console" }));
      else if (r < 0.7) {
        // A task of project 1 finishes: the list changes, so every later ask must see it.
        version++;
        sem.lists.get(1)!.unshift(run(5000 + version, 1, "Deploy web", "success", new Date(), 1));
        app.store.upsertTask({ projectId: 1, taskId: 5000 + version, templateId: 1, status: "running" });
        app.store.upsertTask({ projectId: 1, taskId: 5000 + version, templateId: 1, status: "success" });
      } else if (r < 0.85) {
        sem.hold = new Promise<void>((res) => { releases.push(res); });
      } else releaseAll();
      await Promise.resolve();
    }
    releaseAll();
    await Promise.all(asks);
    const before = sem.callsOf("tasks").length;
    const last = await app.ops.history.runs({ kind: "console" });
    const deploy = last.templates.find((x) => x.templateId === 1)!;
    t.is(deploy.runs.filter((r) => r.taskId > 5000).length, Math.min(20, version), `seed ${seed}: the newest runs are there`);
    // Never more than one request per project in flight, and no request for unchanged data.
    const calls = sem.callsOf("tasks").map((c) => c[0]);
    t.true(calls.filter((p) => p === 2).length === 1, `seed ${seed}: project 2 read once`);
    t.true(calls.filter((p) => p === 1).length <= version + 1, `seed ${seed}: project 1 read at most once per change`);
    const again = await app.ops.history.runs({ kind: "console" });
    t.is(sem.callsOf("tasks").length, Math.max(before, sem.callsOf("tasks").length), `seed ${seed}`);
    t.deepEqual(again.templates.map((x) => x.runs.length), last.templates.map((x) => x.runs.length));
  }
});

test("history is a read operation: a stranger in chat is refused, and the refusal is said plainly", async (t) => {
  const app = historyApp();
  const e = await t.throwsAsync(app.ops.history.runs({ kind: "chat", userId: "@mallory:example.org", roomId: "!r:example.org" }));
  t.regex(e!.message, /Not allowed to see the run history/);
  t.deepEqual(app.semaphore.callsOf("tasks"), [], "nothing was read from Semaphore");
});

test("activity: counts per minute from the metrics counters; old minutes drop off", (t) => {
  const totals = { started: 0, finished: 0, commands: 0, requests: 0 };
  const a = new Activity(() => ({ ...totals }), 5);
  const m = 60_000;
  a.sample(10 * m);
  totals.requests += 3; totals.started += 1;
  a.sample(10 * m + 5000);
  totals.requests += 2;
  a.sample(11 * m);
  totals.commands += 4;
  a.sample(13 * m + 1);
  // Minutes 9..13: the requests fell in minutes 10 and 11, the commands in 13 (now).
  t.deepEqual(a.series().requests, [0, 3, 2, 0, 0]);
  t.deepEqual(a.series().started, [0, 1, 0, 0, 0]);
  t.deepEqual(a.series().commands, [0, 0, 0, 0, 4]);
  a.sample(30 * m);
  t.deepEqual(a.series().requests, [0, 0, 0, 0, 0]);
});

test("activity comes from the counters behind /metrics and shows in the History view", async (t) => {
  const app = historyApp();
  const h = await harness({ app });
  try {
    for (let i = 0; i < 7; i++) app.ops.metrics.onSemaphoreRequest({ method: "GET", path: "/api/ping", status: 200, ms: 3, attempt: 1 } as never);
    app.ops.metrics.commands.inc({ command: "run", outcome: "ok", via: "chat" });
    app.ops.metrics.commands.inc({ command: "run", outcome: "ok", via: "console" });
    await h.keys("h");
    await h.until(/Activity per minute/);
    for (let i = 0; i < 4; i++) app.ops.metrics.onSemaphoreRequest({ method: "GET", path: "/api/ping", status: 200, ms: 3, attempt: 1 } as never);
    app.ops.metrics.commands.inc({ command: "run", outcome: "ok", via: "chat" });
    h.con.historyView.tick();
    // Counted since the console started: 7 + 4 requests, and the two chat commands (the console's is not one).
    await h.until(/Semaphore requests\s+\S+ 11\/min/);
    t.regex(h.text(), /Matrix commands\s+\S+ 2\/min/);
  } finally { h.destroy(); }
});

test("charts: sparkline levels, bars with eighths, stacks that add up", (t) => {
  t.is(sparkline([0, 1, 2, 4, 8]), "·▁▂▄█");
  t.is(sparkline([0, 0]), "··");
  const bars = verticalBars([{ value: 1, style: "" }, { value: 2, style: "" }], 2, 1);
  t.deepEqual(bars, ["  █ ", "█ █ "]);
  const stacks = stackedColumns([[{ count: 2, style: "", glyph: "#" }, { count: 1, style: "", glyph: "=" }], [{ count: 0, style: "", glyph: "#" }, { count: 1, style: "", glyph: "=" }]], 3, 1);
  t.deepEqual(stacks, ["=   ", "#   ", "# = "]);
});

test("mono theme: the charts carry their meaning without colour", async (t) => {
  const app = historyApp();
  app.config.values.console.theme = "mono";
  const h = await harness({ app });
  try {
    await h.keys("h");
    await h.until(/success rate 90%/);
    t.regex(h.text(), /✔ success\s+✖ failed\s+■ stopped/);
    t.regex(h.text(), /█ success\s+▒ failed\s+░ stopped/);
  } finally { h.destroy(); }
});
