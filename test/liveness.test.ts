// A hung Semaphore (frozen: the socket stays open, nothing answers) is noticed by our own websocket pings, reported
// down (health, console header via the store), recovered from with a reconcile; `ping` answers from a short probe.
import test from "ava";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSemaphoreServer } from "../src/emulator/index.js";
import { SemaphoreClient } from "../src/semaphore/client.js";
import { TaskTracker } from "../src/semaphore/tracker.js";
import { Store, taskKey } from "../src/core/store.js";
import { Logger } from "../src/log/logger.js";
import { healthReport } from "../src/http/health.js";
import { startFreezeProxy } from "./helpers-prove/freeze-proxy.js";
import { startEngine, waitUntil } from "./helpers-chat/ops.js";

test("a frozen Semaphore: pings go unanswered, the tracker reports down (health 503 naming Semaphore), then recovers and reconciles", async (t) => {
  const server = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 5, seed: "demo", schedules: false });
  const proxy = await startFreezeProxy(server.url);
  const client = new SemaphoreClient({ url: proxy.url, token: server.adminToken, timeoutMs: 2000, retries: 0 });
  const store = new Store();
  const logger = new Logger({ level: "debug", echo: process.env.CHATRIXCD_TEST_DEBUG ? process.stderr : undefined });
  const stateFile = join(mkdtempSync(join(tmpdir(), "chatrixcd-liveness-")), "tracked.json");
  const tracker = new TaskTracker({
    client,
    store,
    log: logger.child("tracker"),
    stateFile,
    pollIntervalMs: 200,
    wsRetryMs: 300,
    wsPingMs: 200,
    wsPongTimeoutMs: 200,
  });
  const modes: string[] = [];
  store.on("connection", () => {
    if (modes.at(-1) !== store.connection.semaphore) modes.push(store.connection.semaphore);
  });
  await tracker.start();
  try {
    await waitUntil(() => tracker.mode === "websocket", 10_000, "websocket");
    const tpl = server.addTemplate(1, { name: "Outlasting", scenario: { lines: Array.from({ length: 20 }, (_, i) => `line ${i}`), delayUnits: 4 } });
    const task = await client.startTask(1, { templateId: tpl.id });
    tracker.track(1, task.id);
    const key = taskKey(1, task.id);
    await waitUntil(() => store.tasks.get(key)?.status === "running", 10_000, "running");
    await waitUntil(() => tracker.stats.wsPongs >= 3, 10_000, "Semaphore (our emulator) to answer our pings");
    t.deepEqual(modes, ["websocket"], "answered pings keep the websocket up");

    proxy.freeze();
    await waitUntil(() => tracker.mode === "down", 8_000, "the tracker to report Semaphore down");
    const health = healthReport({ store, ops: { startedAt: Date.now() } } as never);
    t.is(health.status, "fail");
    t.false(health.checks.semaphore.ok);
    t.regex(health.checks.semaphore.detail!, /Semaphore is unreachable: no answer to a websocket ping within 0\.2 s/);
    // The task ends while Semaphore looks frozen to us.
    await waitUntil(() => server.getTask(task.id)?.status === "success", 20_000, "the task to finish in Semaphore");
    t.is(store.tasks.get(key)?.status, "running", "its end was not seen while frozen");
    proxy.thaw();
    await waitUntil(() => store.tasks.get(key)?.status === "success", 20_000, "the final state after the thaw (reconcile)");
    await waitUntil(() => tracker.mode === "websocket", 20_000, "websocket again");
    t.true(modes.includes("down"), modes.join(" → "));
    t.is(modes.at(-1), "websocket");
  } finally {
    proxy.thaw();
    await tracker.stop();
    client.close();
    await proxy.close();
    await server.stop();
  }
});

test("ping on a hung Semaphore answers from a 1 s probe and what the tracker knows, not after the 15 s request timeout", async (t) => {
  const e = await startEngine({ tracker: false });
  const proxy = await startFreezeProxy(e.server.url);
  const client = new SemaphoreClient({ url: proxy.url, token: e.server.tokens["runner"]!, timeoutMs: 15_000, retries: 0 });
  const tracker = new TaskTracker({
    client,
    store: e.store,
    log: e.logger.child("tracker"),
    pollIntervalMs: 200,
    wsRetryMs: 300,
    wsPingMs: 200,
    wsPongTimeoutMs: 200,
  });
  e.ops.semaphore = client;
  e.ops.tracker = tracker;
  await tracker.start();
  try {
    await waitUntil(() => tracker.mode === "websocket", 10_000, "websocket");
    const up = await e.ops.ping(e.actor());
    t.true(up.semaphore.ok, up.semaphore.error);
    proxy.freeze();
    await waitUntil(() => tracker.mode === "down", 8_000, "down");
    const r = await e.ops.ping(e.actor());
    t.false(r.semaphore.ok);
    t.log(r.semaphore.error);
    t.regex(r.semaphore.error!, /no answer to GET \/api\/ping within 1 s/);
    t.regex(r.semaphore.error!, /websocket down since \d\d:\d\d:\d\d UTC \(no answer to a websocket ping within 0\.2 s\)/);
  } finally {
    proxy.thaw();
    await tracker.stop();
    client.close();
    await proxy.close();
    await e.close();
  }
});
