// The History view (issue 14 item 11): statistics per template from Semaphore's task list (one request per project,
// cached, read again after a task finishes), the per-day stacks, the activity sparklines, keys and mouse, Esc back.
import test from "ava";
import "../src/polyfill.js";
import { harness, KEY, click } from "./console-helpers.js";
import { historyApp, run, deployWeb, today, addRun } from "./helpers-history.js";
import { summarize, percentile } from "../src/core/history.js";
import { Activity } from "../src/core/activity.js";
import { sparkline, stackedColumns, verticalBars } from "../screens/widgets/sparkline.js";
import { mulberry32 } from "../src/util/random.js";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startPty } from "./helpers-console-e2ee/pty.js";

/** Per day, oldest first, over the last 14 days: [success, failed, stopped], worked out by hand from deployWeb(). */
const EXPECTED_DAYS: Array<[number, number, number]> = [
  [0, 0, 0],
  [0, 0, 0],
  [0, 0, 0],
  [0, 0, 0], // 13..10 days ago
  [2, 0, 0], // 9: runs 2, 3
  [1, 1, 0], // 8: runs 4, 5 (failed)
  [2, 0, 0], // 7
  [1, 0, 1], // 6: runs 8, 9 (stopped)
  [2, 0, 0],
  [2, 0, 0],
  [2, 0, 0],
  [2, 0, 0],
  [2, 0, 0],
  [2, 0, 0], // 5..0
];

test("statistics: last 20 runs, success rate, nearest-rank p50/p95, outcomes per day", (t) => {
  const s = summarize(deployWeb(), { runs: 20, days: 14, now: today.getTime() });
  t.is(s.runs.length, 20);
  t.deepEqual(
    s.runs.map((r) => r.taskId),
    Array.from({ length: 20 }, (_, i) => 1002 + i),
    "the last 20, oldest first",
  );
  t.is(s.succeeded, 18);
  t.is(s.successRate, 0.9);
  t.is(s.p50, 100);
  t.is(s.p95, 190);
  t.deepEqual(
    s.perDay.map((d) => [d.success, d.failed, d.stopped]),
    EXPECTED_DAYS,
  );
  t.is(percentile([1, 2, 3, 4], 50), 2);
  t.is(percentile([5], 95), 5);
  t.is(percentile([], 50), undefined);
});

test("the History view shows the statistics, per-day stacks and marks; arrows pick, Esc returns", async (t) => {
  const app = await historyApp();
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
  } finally {
    h.destroy();
  }
});

test("a finished task makes the view read its project's list again, once", async (t) => {
  const app = await historyApp();
  const h = await harness({ app });
  try {
    await h.keys("h");
    await h.until(/success rate 90%/);
    t.deepEqual(app.semaphore.callsOf("tasks"), [[1], [2]]);
    // Deploy web runs once more and fails: the new list has it.
    const taskId = addRun(app.emulator, run(0, 0, "Deploy web", "error", new Date(), 5), app.templates.deployWeb);
    app.store.upsertTask({ projectId: 1, taskId, templateId: app.templates.deployWeb, status: "running" });
    app.store.upsertTask({ projectId: 1, taskId, templateId: app.templates.deployWeb, status: "error" });
    await h.until(/success rate 85% \(17 of 20\)/);
    t.deepEqual(app.semaphore.callsOf("tasks"), [[1], [2], [1]], "only project 1 is read again");
  } finally {
    h.destroy();
  }
});

test("concurrent asks share one request per project; a task finishing mid-request is never served stale (seeded)", async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = mulberry32(seed);
    const app = await historyApp();
    const sem = app.semaphore;
    // A task list asked while `hold` is set is answered only when it is released (interleaves requests with changes).
    let hold: Promise<void> | undefined;
    const list = sem.tasks;
    sem.tasks = async (projectId) => {
      const held = hold;
      const tasks = await list(projectId);
      if (held) await held;
      return tasks;
    };
    const added = new Set<number>();
    const asks: Array<Promise<unknown>> = [];
    const releases: Array<() => void> = [];
    const releaseAll = () => {
      for (const r of releases.splice(0)) r();
      hold = undefined;
    };
    for (let step = 0; step < 30; step++) {
      const r = rnd();
      if (r < 0.5) asks.push(app.ops.history.runs({ kind: "console" }));
      else if (r < 0.7) {
        // A task of project 1 finishes: the list changes, so every later ask must see it.
        const taskId = addRun(app.emulator, run(0, 0, "Deploy web", "success", new Date(), 1), app.templates.deployWeb);
        added.add(taskId);
        app.store.upsertTask({ projectId: 1, taskId, templateId: app.templates.deployWeb, status: "running" });
        app.store.upsertTask({ projectId: 1, taskId, templateId: app.templates.deployWeb, status: "success" });
      } else if (r < 0.85) {
        hold = new Promise<void>((res) => {
          releases.push(res);
        });
      } else releaseAll();
      await Promise.resolve();
    }
    releaseAll();
    await Promise.all(asks);
    const version = added.size;
    const before = sem.callsOf("tasks").length;
    const last = await app.ops.history.runs({ kind: "console" });
    const deploy = last.templates.find((x) => x.templateId === app.templates.deployWeb)!;
    t.is(deploy.runs.filter((r) => added.has(r.taskId)).length, Math.min(20, version), `seed ${seed}: the newest runs are there`);
    // Never more than one request per project in flight, and no request for unchanged data.
    const calls = sem.callsOf("tasks").map((c) => c[0]);
    t.true(calls.filter((p) => p === 2).length === 1, `seed ${seed}: project 2 read once`);
    t.true(calls.filter((p) => p === 1).length <= version + 1, `seed ${seed}: project 1 read at most once per change`);
    const again = await app.ops.history.runs({ kind: "console" });
    t.is(sem.callsOf("tasks").length, Math.max(before, sem.callsOf("tasks").length), `seed ${seed}`);
    t.deepEqual(
      again.templates.map((x) => x.runs.length),
      last.templates.map((x) => x.runs.length),
    );
  }
});

test("history is a read operation: a stranger in chat is refused, and the refusal is said plainly", async (t) => {
  const app = await historyApp();
  const e = await t.throwsAsync(app.ops.history.runs({ kind: "chat", userId: "@mallory:example.org", roomId: "!r:example.org" }));
  t.regex(e!.message, /Not allowed to see the run history/);
  t.deepEqual(app.semaphore.callsOf("tasks"), [], "nothing was read from Semaphore");
});

test("activity: counts per minute from the metrics counters; old minutes drop off", (t) => {
  const totals = { started: 0, finished: 0, commands: 0, requests: 0 };
  const a = new Activity(() => ({ ...totals }), 5);
  const m = 60_000;
  a.sample(10 * m);
  totals.requests += 3;
  totals.started += 1;
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
  const app = await historyApp();
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
  } finally {
    h.destroy();
  }
});

test("charts: sparkline levels, bars with eighths, stacks that add up", (t) => {
  t.is(sparkline([0, 1, 2, 4, 8]), "·▁▂▄█");
  t.is(sparkline([0, 0]), "··");
  const bars = verticalBars(
    [
      { value: 1, style: "" },
      { value: 2, style: "" },
    ],
    2,
    1,
  );
  t.deepEqual(bars, ["  █ ", "█ █ "]);
  const stacks = stackedColumns(
    [
      [
        { count: 2, style: "", glyph: "#" },
        { count: 1, style: "", glyph: "=" },
      ],
      [
        { count: 0, style: "", glyph: "#" },
        { count: 1, style: "", glyph: "=" },
      ],
    ],
    3,
    1,
  );
  t.deepEqual(stacks, ["=   ", "#   ", "# = "]);
});

test("mono theme: the charts carry their meaning without colour", async (t) => {
  const app = await historyApp();
  app.config.values.console.theme = "mono";
  const h = await harness({ app });
  try {
    await h.keys("h");
    await h.until(/success rate 90%/);
    t.regex(h.text(), /✔ success\s+✖ failed\s+■ stopped/);
    t.regex(h.text(), /█ success\s+▒ failed\s+░ stopped/);
  } finally {
    h.destroy();
  }
});

// ---- the real program in a pty: the capture for screens/README-capture.txt ----

const CAPTURE_FILE = fileURLToPath(new URL("../../screens/README-capture.txt", import.meta.url));
const CAPTURE_HEADING = "History view (h or :history)";

test("pty: the History view of the demo, captured for screens/README-capture.txt", async (t) => {
  const s = startPty(["--demo"], { cols: 120, rows: 36 });
  try {
    await s.until(/#2147483640 /); // the 7th seeded task: ids count down, as on a live Semaphore
    s.send("h");
    await s.until(/success rate \d+%/);
    await s.until(/Activity per minute/);
    const screen = s
      .text()
      .split("\n")
      .map((l) => l.trimEnd())
      .join("\n");
    t.regex(screen, /History runs per template/);
    t.regex(screen, /Outcomes per day, last 14 days/);
    t.regex(screen, /p50 \S+  ·  p95 \S+/);
    const section =
      `${CAPTURE_HEADING}, 120x36, \`npm start\` with no config file: the demo's task history per template\n` +
      "(durations of the last runs with their outcome marks, outcomes per day), and activity per minute. Esc returns.\n\n" +
      `${screen}\n`;
    const file = readFileSync(CAPTURE_FILE, "utf8");
    const at = file.indexOf(CAPTURE_HEADING);
    if (process.env.UPDATE_CAPTURE) writeFileSync(CAPTURE_FILE, `${at >= 0 ? file.slice(0, at) : `${file.trimEnd()}\n\n`}${section}`);
    else {
      // The committed capture is this view: same frame title and the same templates (times and dates move).
      t.true(at >= 0, "screens/README-capture.txt has the History view section (UPDATE_CAPTURE=1 writes it)");
      const kept = file.slice(at);
      const names = (x: string) => [...x.matchAll(/^│ (\S[^│]*?)\s+(?:\d+%|-) │/gm)].map((m) => m[1]);
      t.deepEqual(names(kept), names(screen));
      t.regex(kept, /History runs per template/);
    }
    s.send("\x1b");
    await s.until(() => !/History runs per template/.test(s.text()));
  } finally {
    s.cleanup();
  }
});

test("80x24: the History view fits, statistics and all four activity series included", async (t) => {
  const h = await harness({ app: await historyApp(), cols: 80, rows: 24 });
  try {
    await h.keys("h");
    await h.until(/success rate 90%/);
    const text = h.text();
    if (process.env.SHOW_SCREEN) console.log(text);
    t.regex(text, /p95 3m10s/);
    for (const s of ["tasks started", "tasks finished", "Matrix commands", "Semaphore requests"]) t.true(text.includes(s), s);
    t.true(h.rows().every((r) => r.length <= 80));
    await h.keys("2");
    await h.until(() => !h.con.historyView.isOpen && /Tasks/.test(h.text()));
  } finally {
    h.destroy();
  }
});
