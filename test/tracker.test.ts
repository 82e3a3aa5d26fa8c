// Task tracking against our Semaphore-compatible server: push, reconcile, polling fallback, persistence.
import test from "ava";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSemaphoreServer, type SemaphoreServer, type SemaphoreServerOptions } from "../src/emulator/index.js";
import { SemaphoreClient } from "../src/semaphore/client.js";
import { TaskTracker } from "../src/semaphore/tracker.js";
import { Store, taskKey } from "../src/core/store.js";
import { Logger } from "../src/log/logger.js";
import { isTerminalStatus } from "../src/semaphore/types.js";

interface Rig {
  server: SemaphoreServer;
  client: SemaphoreClient;
  store: Store;
  tracker: TaskTracker;
  logger: Logger;
  /** Ground truth: every status the server set, per task id, consecutive repeats folded. */
  truth: Map<number, string[]>;
  /** What reached the store: transitions per task id. */
  seen: Map<number, string[]>;
  stateFile: string;
  stop(): Promise<void>;
}

const fold = (list: string[], s: string) => {
  if (list.at(-1) !== s) list.push(s);
};

async function rig(
  o: {
    server?: SemaphoreServerOptions;
    stateFile?: string;
    pollIntervalMs?: number;
    reuseServer?: SemaphoreServer;
    watchAll?: boolean;
    truth?: Map<number, string[]>;
  } = {},
): Promise<Rig> {
  const truth = o.truth ?? new Map<number, string[]>();
  const server =
    o.reuseServer ??
    (await startSemaphoreServer({
      tickMs: 20,
      lineDelayMs: 5,
      seed: "demo",
      schedules: false,
      onTaskUpdate: (t) => {
        const l = truth.get(t.id) ?? [];
        fold(l, t.status);
        truth.set(t.id, l);
      },
      ...o.server,
    }));
  const client = new SemaphoreClient({ url: server.url, token: server.adminToken, timeoutMs: 2000, retries: 1, retryDelayMs: 50 });
  const store = new Store();
  const seen = new Map<number, string[]>();
  store.on("transition", (t) => {
    const l = seen.get(t.taskId) ?? [];
    l.push(String(t.status));
    seen.set(t.taskId, l);
  });
  const logger = new Logger({ level: "debug", echo: process.env.CHATRIXCD_TEST_DEBUG ? process.stderr : undefined });
  const stateFile = o.stateFile ?? join(mkdtempSync(join(tmpdir(), "chatrixcd-tracker-")), "tracked.json");
  const tracker = new TaskTracker({
    client,
    store,
    log: logger.child("tracker"),
    stateFile,
    pollIntervalMs: o.pollIntervalMs ?? 100,
    wsRetryMs: 300,
    watchAll: o.watchAll,
  });
  await tracker.start();
  return {
    server,
    client,
    store,
    tracker,
    logger,
    truth,
    seen,
    stateFile,
    async stop() {
      await tracker.stop();
      client.close();
      if (!o.reuseServer) await server.stop();
    },
  };
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const finished = (r: Rig, projectId: number, taskId: number) => () => {
  const t = r.store.tasks.get(taskKey(projectId, taskId));
  return !!t && isTerminalStatus(t.status);
};

test("push: every transition of a run reaches the store exactly once, in order, with its output and recap", async (t) => {
  const r = await rig();
  try {
    await until(() => r.tracker.mode === "websocket", "websocket");
    const task = await r.client.startTask(1, { templateId: 1 });
    r.tracker.track(1, task.id, { origin: { via: "console" }, templateName: "Deploy web" });
    await until(finished(r, 1, task.id), "task to finish");
    await new Promise((res) => setTimeout(res, 100));
    t.deepEqual(r.seen.get(task.id), ["waiting", "starting", "running", "success"]);
    t.deepEqual(r.seen.get(task.id), r.truth.get(task.id));
    const rest = await r.client.taskOutput(1, task.id);
    const stored = r.store.output(taskKey(1, task.id));
    t.deepEqual(
      stored.map((l) => l.text),
      rest.map((l) => l.output),
    );
    const state = r.store.tasks.get(taskKey(1, task.id))!;
    t.truthy(state.recap && Object.keys(state.recap).length > 0, "PLAY RECAP parsed");
    t.is(state.templateName, "Deploy web");
    t.truthy(state.end, "end time from the second terminal update");
  } finally {
    await r.stop();
  }
});

test("push: runs started elsewhere (web UI, schedules) are seen too", async (t) => {
  const r = await rig();
  try {
    await until(() => r.tracker.mode === "websocket", "websocket");
    const task = r.server.startTaskAs(1, 2, { userId: null });
    await until(finished(r, 1, task.id), "scheduled-like task to finish");
    const state = r.store.tasks.get(taskKey(1, task.id))!;
    t.is(state.status, "error");
    t.is(state.origin?.via, "semaphore");
    await until(() => state.templateName !== undefined || r.store.tasks.get(taskKey(1, task.id))!.templateName !== undefined, "template name learnt");
    t.is(r.store.tasks.get(taskKey(1, task.id))!.templateName, "Run migrations");
  } finally {
    await r.stop();
  }
});

test("websocket drop mid-run: reconnect + reconcile, no transition missed or repeated, output complete", async (t) => {
  const r = await rig();
  try {
    await until(() => r.tracker.mode === "websocket", "websocket");
    const tpl = r.server.addTemplate(1, { name: "Slow steps", scenario: { lines: Array.from({ length: 40 }, (_, i) => `step ${i}`), delayUnits: 4 } });
    const task = await r.client.startTask(1, { templateId: tpl.id });
    r.tracker.track(1, task.id);
    await until(() => r.store.tasks.get(taskKey(1, task.id))?.status === "running", "running");
    r.server.faults.dropWebsockets();
    await new Promise((res) => setTimeout(res, 150));
    r.server.faults.dropWebsockets();
    await until(finished(r, 1, task.id), "task to finish", 20_000);
    await until(() => r.store.output(taskKey(1, task.id)).length >= 40, "all output lines");
    t.deepEqual(r.seen.get(task.id), r.truth.get(task.id));
    const rest = await r.client.taskOutput(1, task.id);
    t.deepEqual(
      r.store.output(taskKey(1, task.id)).map((l) => l.text),
      rest.map((l) => l.output),
      "no line lost or duplicated",
    );
    t.true(r.tracker.stats.wsConnects >= 2);
  } finally {
    await r.stop();
  }
});

test("full Semaphore outage and restart: the tracker reports down, then recovers and ends in the right state", async (t) => {
  const r = await rig();
  try {
    await until(() => r.tracker.mode === "websocket", "websocket");
    const tpl = r.server.addTemplate(1, { name: "Outlasting", scenario: { lines: Array.from({ length: 30 }, (_, i) => `line ${i}`), delayUnits: 6 } });
    const task = await r.client.startTask(1, { templateId: tpl.id });
    r.tracker.track(1, task.id);
    await until(() => r.store.tasks.get(taskKey(1, task.id))?.status === "running", "running");
    await r.server.outage();
    await until(() => r.tracker.mode === "down" || r.tracker.mode === "polling", "tracker notices the outage", 10_000);
    await new Promise((res) => setTimeout(res, 1200)); // the task finishes while the server is unreachable
    await r.server.restart();
    await until(finished(r, 1, task.id), "final state after the restart", 20_000);
    await until(() => r.tracker.mode === "websocket", "websocket again", 10_000);
    t.is(r.store.tasks.get(taskKey(1, task.id))!.status, "success");
    const seq = r.seen.get(task.id)!;
    t.is(new Set(seq).size, seq.length, `no status twice: ${seq.join(" → ")}`);
    t.is(seq.at(-1), "success");
    t.deepEqual(
      seq,
      r.truth.get(task.id)!.filter((s) => seq.includes(s)),
      "observed statuses are in the true order",
    );
  } finally {
    await r.stop();
  }
});

test("websocket refused (403 behind a proxy): polling fallback, one list request per project per interval", async (t) => {
  const r = await rig({ server: { tickMs: 20, lineDelayMs: 5, seed: "demo", schedules: false }, pollIntervalMs: 200, watchAll: false });
  try {
    r.server.faults.refuseWebsocket(403);
    r.server.faults.dropWebsockets();
    await until(() => r.tracker.mode === "polling", "polling mode", 10_000);
    const tasks: Array<{ id: number }> = [];
    for (const tpl of [1, 2, 4]) {
      const task = await r.client.startTask(1, { templateId: tpl });
      r.tracker.track(1, task.id);
      tasks.push(task);
    }
    await until(() => r.store.tasks.get(taskKey(1, tasks[2]!.id))?.status === "waiting_confirmation", "terraform to wait for confirmation", 20_000);
    await until(() => tasks.slice(0, 2).every((x) => isTerminalStatus(r.store.tasks.get(taskKey(1, x.id))!.status)), "two tasks finished", 20_000);
    for (const x of tasks.slice(0, 2)) {
      const seq = r.seen.get(x.id)!;
      t.is(new Set(seq).size, seq.length, `no duplicates: ${seq.join(" → ")}`);
      t.deepEqual(
        seq,
        r.truth.get(x.id)!.filter((s) => seq.includes(s)),
      );
    }
    // Steady state: count requests over 6 polls with 1 project in scope and nobody reading output. Counted per poll,
    // not per wall-clock second, so a loaded machine cannot change the figure.
    const polls0 = r.tracker.stats.polls;
    r.server.resetStats();
    await until(() => r.tracker.stats.polls >= polls0 + 6, "six polls", 20_000);
    const byRoute = r.server.stats().requestsByRoute;
    const polls = r.tracker.stats.polls - polls0;
    // Websocket upgrade attempts are paced by wsRetryMs (300 ms here, 60 s by default) and counted apart.
    const rest = Object.entries(byRoute)
      .filter(([k]) => k !== "GET /api/ws")
      .reduce((a, [, n]) => a + n, 0);
    t.log(`requests during ${polls} polls: ${JSON.stringify(byRoute)}`);
    // ±1: the poll under way when counting started or ended may fall on either side.
    t.true(rest >= polls - 1 && rest <= polls + 1, `one list request per poll for the one project, got ${rest} in ${polls} polls`);
    t.is(byRoute["GET /api/project/{project_id}/tasks/last"], rest, "only list requests, none per task");
    t.false(
      Object.keys(byRoute).some((k) => /output/.test(k)),
      "no output downloads for tasks nobody reads",
    );
  } finally {
    await r.stop();
  }
});

test("polling: a followed task gets only its new output lines, never a duplicate", async (t) => {
  const r = await rig({ pollIntervalMs: 100 });
  try {
    r.server.faults.refuseWebsocket(403);
    r.server.faults.dropWebsockets();
    await until(() => r.tracker.mode === "polling", "polling mode", 10_000);
    const tpl = r.server.addTemplate(1, { name: "Chatty", scenario: { lines: Array.from({ length: 25 }, (_, i) => `chat ${i}`), delayUnits: 4 } });
    const task = await r.client.startTask(1, { templateId: tpl.id });
    const unfollow = r.tracker.follow(1, task.id);
    await until(finished(r, 1, task.id), "task to finish", 20_000);
    await until(() => r.store.output(taskKey(1, task.id)).some((l) => l.text === "chat 24"), "last line", 5000);
    unfollow();
    const rest = await r.client.taskOutput(1, task.id);
    t.deepEqual(
      r.store.output(taskKey(1, task.id)).map((l) => l.text),
      rest.map((l) => l.output),
    );
  } finally {
    await r.stop();
  }
});

test("bot restart: tracked tasks are persisted and resume; a task that finished while the bot was down is reported once", async (t) => {
  const truth = new Map<number, string[]>();
  const first = await rig({ truth });
  const server = first.server;
  let second: Rig | undefined;
  try {
    await until(() => first.tracker.mode === "websocket", "websocket");
    const tpl = server.addTemplate(1, { name: "Across restart", scenario: { lines: Array.from({ length: 20 }, (_, i) => `x ${i}`), delayUnits: 5 } });
    const task = await first.client.startTask(1, { templateId: tpl.id });
    first.tracker.track(1, task.id, { origin: { via: "chat", user: "@alice:x", roomId: "!r:x" }, templateName: "Across restart" });
    await until(() => first.store.tasks.get(taskKey(1, task.id))?.status === "running", "running");
    await first.tracker.stop();
    first.client.close();
    const saved = JSON.parse(readFileSync(first.stateFile, "utf8"));
    t.is(saved.tasks[0].taskId, task.id);
    t.is(saved.tasks[0].origin.user, "@alice:x");
    await until(() => isTerminalStatus(server.getTask(task.id)!.status), "task to finish while the bot is down", 20_000);
    second = await rig({ reuseServer: server, stateFile: first.stateFile, truth });
    t.true(second.tracker.isTracked(1, task.id));
    await until(finished(second, 1, task.id), "the restarted tracker to learn the final state", 10_000);
    const after = second.seen.get(task.id)!;
    t.is(after.filter((s) => s === "success").length, 1);
    t.is(second.store.tasks.get(taskKey(1, task.id))!.origin?.user, "@alice:x", "origin survives the restart");
  } finally {
    await second?.stop();
    await server.stop();
  }
});

test("50 concurrent tasks: every transition observed exactly once", async (t) => {
  const r = await rig({ server: { tickMs: 5, lineDelayMs: 2, seed: "demo", schedules: false, maxParallelTasks: 50 } });
  try {
    await until(() => r.tracker.mode === "websocket", "websocket");
    const templates = Array.from({ length: 10 }, (_, i) =>
      r.server.addTemplate(1, { name: `Parallel ${i}`, scenario: { lines: ["a", "b", "c"], exitCode: i % 3 === 0 ? 2 : 0 } }),
    );
    const started: Array<{ id: number }> = [];
    for (let i = 0; i < 50; i++) started.push(await r.client.startTask(1, { templateId: templates[i % 10]!.id }));
    for (const s of started) r.tracker.track(1, s.id);
    await until(() => started.every((s) => isTerminalStatus(r.store.tasks.get(taskKey(1, s.id))?.status ?? "waiting")), "all 50 to finish", 60_000);
    await new Promise((res) => setTimeout(res, 100));
    let transitions = 0;
    for (const s of started) {
      t.deepEqual(r.seen.get(s.id), r.truth.get(s.id), `task ${s.id}`);
      transitions += r.seen.get(s.id)!.length;
    }
    t.log(`${transitions} transitions over 50 tasks, all observed exactly once`);
  } finally {
    await r.stop();
  }
});

test("a malformed websocket frame is ignored, not fatal", async (t) => {
  const r = await rig();
  try {
    await until(() => r.tracker.mode === "websocket", "websocket");
    (r.tracker as unknown as { onFrame(f: unknown): void }).onFrame(null);
    const task = await r.client.startTask(1, { templateId: 1 });
    r.tracker.track(1, task.id);
    await until(finished(r, 1, task.id), "task to finish");
    t.is(r.store.tasks.get(taskKey(1, task.id))!.status, "success");
  } finally {
    await r.stop();
  }
});

test("a tracker stopped while a poll is in flight arms no further poll (its worker could never exit)", async (t) => {
  const r = await rig({ pollIntervalMs: 100 });
  try {
    r.server.faults.refuseWebsocket(403);
    r.server.faults.dropWebsockets();
    await until(() => r.tracker.mode === "polling", "polling mode", 10_000);
    // Hold the next poll's requests until we say so.
    let release!: () => void;
    const gate = new Promise<void>((res) => {
      release = res;
    });
    const client = r.client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const m of ["lastTasks", "projects"] as const) {
      const real = client[m]!.bind(r.client);
      client[m] = async (...a: unknown[]) => {
        held++;
        await gate;
        return real(...a);
      };
    }
    let held = 0;
    await until(() => held > 0, "a poll waiting on its request");
    await r.tracker.stop();
    release();
    for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res));
    t.is((r.tracker as unknown as { pollTimer?: unknown }).pollTimer, undefined, "no poll timer armed after stop");
  } finally {
    await r.stop();
  }
});
