// The Semaphore client against the project's Semaphore-compatible emulator (src/emulator), in both API
// flavors: every client method, the task life cycle (start → output → history, stop, confirm, reject), the start
// body shapes, the websocket helpers, and error kinds produced by a real HTTP server (auth, permissions, faults,
// outage).
import type { ExecutionContext } from "ava";
import test from "ava";
import WebSocket from "ws";
import { SemaphoreClient, type SemaphoreClientOptions } from "../src/semaphore/client.js";
import { SemaphoreError } from "../src/semaphore/errors.js";
import { DEFAULT_VERSION, startSemaphoreServer, type SemaphoreServer, type SemaphoreServerOptions } from "../src/emulator/index.js";
import { isTerminalStatus, parseWsFrame, type Task, type WsFrame } from "../src/semaphore/types.js";

async function server(t: ExecutionContext, opts: SemaphoreServerOptions = {}): Promise<SemaphoreServer> {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 2, schedules: false, ...opts });
  t.teardown(() => s.stop());
  return s;
}

function client(s: SemaphoreServer, token: string, extra: Partial<SemaphoreClientOptions> = {}): SemaphoreClient {
  const c = new SemaphoreClient({ url: s.url, token, timeoutMs: 3000, retryDelayMs: 5, ...extra });
  return c;
}

async function failure(p: Promise<unknown>): Promise<SemaphoreError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SemaphoreError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

async function waitFor(c: SemaphoreClient, projectId: number, taskId: number, done: (t: Task) => boolean, ms = 10_000): Promise<Task> {
  const until = Date.now() + ms;
  for (;;) {
    const task = await c.task(projectId, taskId);
    if (done(task)) return task;
    if (Date.now() > until) throw new Error(`task ${taskId} still ${task.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const finished = (t: Task) => isTerminalStatus(t.status) && t.end !== null;

test("v2.10 flavor: every read method, shapes normalised", async (t) => {
  const s = await server(t, {});
  const c = client(s, s.tokens.runner!);
  t.true((await c.ping()) >= 0);
  const info = await c.info();
  t.is(info.version, DEFAULT_VERSION);
  t.false(info.version.startsWith("v"), "live form: no v");
  t.is(await c.apiShape(), "flat");
  const me = await c.user();
  t.is(me.id, s.users.runner!.id);
  t.is(me.username, s.users.runner!.username);
  t.false(me.admin);

  const projects = await c.projects();
  t.true(projects.length >= 1);
  const p = projects[0]!;
  t.deepEqual(await c.project(p.id), p);

  const templates = await c.templates(p.id);
  t.true(templates.length > 0);
  for (const tpl of templates) {
    t.true(Array.isArray(tpl.survey_vars));
    t.true(Array.isArray(tpl.vaults));
    t.not(tpl.app, "");
  }
  const first = templates[0]!;
  const one = await c.template(p.id, first.id);
  t.is(one.id, first.id);
  t.is(one.name, first.name);

  const history = await c.lastTasks(p.id);
  t.true(history.length > 0);
});

test("v2.10 flavor: start (flat body) → run → output and history; descending ids", async (t) => {
  const s = await server(t, {});
  const tpl = s.addTemplate(1, { name: "Hello", app: "bash", allowOverrideArgsInTask: true, scenario: { lines: ["hello", "world"] } });
  const c = client(s, s.tokens.runner!);
  const started = await c.startTask(1, {
    templateId: tpl.id,
    message: "from chat",
    environment: { who: "world" },
    extraArgs: ["--extra"],
    tags: ["web"],
    limit: ["web1"],
    debug: true,
  });
  t.is(started.status, "waiting");
  t.true(started.id > 2_000_000_000, "BoltDB-style ids count down from 2147483646");
  t.is(started.message, "from chat");
  t.is(started.environment, '{"who":"world"}');
  t.is(started.arguments, '["--tags=web","--extra"]');
  t.is(started.limit, "web1");
  t.true(started.debug);

  const second = await c.startTask(1, { templateId: tpl.id });
  t.true(second.id < started.id, "ids descend; the client must not sort by id");

  const done = await waitFor(c, 1, started.id, finished);
  t.is(done.status, "success");
  const lines = (await c.taskOutput(1, started.id)).map((o) => o.output);
  t.true(lines.includes("hello"));
  t.true(lines.includes("world"));
  await waitFor(c, 1, second.id, finished);

  const last = await c.lastTasks(1, 2);
  t.deepEqual(
    last.map((x) => x.id),
    [second.id, started.id],
    "newest first, whatever the ids",
  );
  t.is(last[0]!.tpl_alias, "Hello");
  const tplNow = await c.template(1, tpl.id);
  t.is(tplNow.last_task?.id, second.id);
});

test("v2.10 flavor: stop (graceful and forced), confirm, reject → unsupported", async (t) => {
  const s = await server(t);
  const slow = s.addTemplate(1, { name: "Slow", app: "bash", scenario: { lines: Array.from({ length: 200 }, (_, i) => `line ${i}`), delayUnits: 20 } });
  const slow2 = s.addTemplate(1, { name: "Slow 2", app: "bash", scenario: { lines: Array.from({ length: 200 }, (_, i) => `line ${i}`), delayUnits: 20 } });
  const plan = s.addTemplate(1, { name: "Plan", app: "bash", scenario: { lines: ["plan: 1 to add", "applied"], confirmAfter: 1 } });
  const c = client(s, s.tokens.runner!);

  const a = await c.startTask(1, { templateId: slow.id });
  await waitFor(c, 1, a.id, (x) => x.status === "running");
  await c.stopTask(1, a.id);
  t.is((await waitFor(c, 1, a.id, finished)).status, "error", "a graceful stop of a running task ends as error");

  const b = await c.startTask(1, { templateId: slow2.id });
  await waitFor(c, 1, b.id, (x) => x.status === "running");
  await c.stopTask(1, b.id, true);
  t.is((await waitFor(c, 1, b.id, finished)).status, "stopped");

  const p = await c.startTask(1, { templateId: plan.id });
  await waitFor(c, 1, p.id, (x) => x.status === "waiting_confirmation");
  const e = await failure(c.rejectTask(1, p.id));
  t.is(e.kind, "unsupported");
  t.regex(e.userMessage(), /can't reject tasks/);
  await c.confirmTask(1, p.id);
  t.is((await waitFor(c, 1, p.id, finished)).status, "success");
  const e2 = await failure(c.confirmTask(1, p.id));
  t.is(e2.kind, "bad_request", "confirming a finished task is a 400");
});

test("modern flavor: params body honoured, omitted fields normalised, reject works", async (t) => {
  const s = await server(t, { apiFlavor: "modern", version: "2.16.14" });
  const tpl = s.addTemplate(1, { name: "Site", app: "ansible", scenario: { lines: ["PLAY [all]", "ok"] } });
  const plan = s.addTemplate(1, { name: "Plan", app: "bash", scenario: { lines: ["plan: 1 to add", "applied"], confirmAfter: 1 } });
  const c = client(s, s.tokens.runner!);
  t.is(await c.apiShape(), "params");
  const started = await c.startTask(1, { templateId: tpl.id, dryRun: true, diff: true, limit: ["web1", "web2"], tags: ["deploy"], skipTags: ["slow"] });
  t.true(started.dry_run);
  t.true(started.diff);
  t.false(started.debug);
  t.is(started.limit, "web1,web2");
  t.deepEqual(started.params?.tags, ["deploy"]);
  t.deepEqual(started.params?.skip_tags, ["slow"]);
  t.is(started.arguments, null, "tags travel in params, not as CLI arguments");
  t.is(started.start, null);
  t.is(started.user_id, s.users.runner!.id);
  const done = await waitFor(c, 1, started.id, finished);
  t.is(done.status, "success");
  t.true((await c.taskOutput(1, started.id)).length > 0);

  const p = await c.startTask(1, { templateId: plan.id });
  await waitFor(c, 1, p.id, (x) => x.status === "waiting_confirmation");
  await c.rejectTask(1, p.id);
  // the task is `rejected`, which is final: the run ends (end set) and the status stays
  const rejected = await waitFor(c, 1, p.id, (x) => isTerminalStatus(x.status));
  t.is(rejected.status, "rejected");
  t.is((await waitFor(c, 1, p.id, finished)).status, "rejected");
  const out = (await c.taskOutput(1, p.id)).map((o) => o.output);
  t.true(out.includes("plan: 1 to add"));
  t.false(out.includes("applied"), "nothing ran after the rejection");
  const e = await failure(c.rejectTask(1, p.id));
  t.is(e.kind, "bad_request", "rejecting a finished task is a 400, not 'unsupported'");
});

test("error kinds from a real server: 401, 404 for non-members, 403 for guests, 400 for unknown tasks", async (t) => {
  const s = await server(t);
  const e1 = await failure(client(s, "no-such-token-0000000000").projects());
  t.is(e1.kind, "unauthorized");
  const e2 = await failure(client(s, s.tokens.expired!).user());
  t.is(e2.kind, "unauthorized");
  const e3 = await failure(client(s, s.tokens.outsider!).project(1));
  t.is(e3.kind, "not_found");
  const guest = client(s, s.tokens.guest!);
  t.true((await guest.templates(1)).length > 0, "guests can read");
  const tplId = (await guest.templates(1))[0]!.id;
  const e4 = await failure(guest.startTask(1, { templateId: tplId }));
  t.is(e4.kind, "forbidden");
  const runner = client(s, s.tokens.runner!);
  const e5 = await failure(runner.task(1, 999_999));
  t.is(e5.kind, "bad_request");
  const e6 = await failure(runner.template(1, 999_999));
  t.is(e6.kind, "not_found");
  const e7 = await failure(runner.startTask(1, { templateId: 999_999 }));
  t.is(e7.kind, "server", "unknown template_id is a 500 on v2.10");
});

test("faults: HTML 502, invalid JSON, latency → timeout, outage → unreachable, then recovery", async (t) => {
  const s = await server(t);
  const c = client(s, s.tokens.runner!, { retries: 1 });
  s.faults.setHtml502(true);
  const e1 = await failure(c.projects());
  t.is(e1.kind, "not_json");
  t.is(e1.status, 502);
  t.is(e1.serverMessage, "502 Bad Gateway");
  s.faults.setHtml502(false);

  s.faults.setInvalidJson(true);
  const e2 = await failure(c.projects());
  t.is(e2.kind, "not_json");
  s.faults.setInvalidJson(false);

  s.faults.setLatency(400);
  const e3 = await failure(client(s, s.tokens.runner!, { timeoutMs: 100, retries: 0 }).projects());
  t.is(e3.kind, "timeout");
  s.faults.setLatency(0);

  await s.outage();
  const e4 = await failure(c.projects());
  t.is(e4.kind, "unreachable");
  await s.restart();
  t.true((await c.projects()).length > 0);
});

test("websocket helpers: websocketUrl + authHeaders receive log and update frames", async (t) => {
  const s = await server(t);
  const tpl = s.addTemplate(1, { name: "Echo", app: "bash", scenario: { lines: ["ws line"] } });
  const c = client(s, s.tokens.runner!);
  t.is(c.websocketUrl(), `${s.url.replace("http:", "ws:")}/api/ws`);
  const ws = new WebSocket(c.websocketUrl(), { headers: c.authHeaders(), ...c.tlsOptions() });
  t.teardown(() => ws.terminate());
  await new Promise<void>((ok, fail) => {
    ws.once("open", () => ok());
    ws.once("error", fail);
  });
  const frames: WsFrame[] = [];
  ws.on("message", (data) => {
    const f = parseWsFrame(data as Buffer);
    if (f) frames.push(f);
  });
  const started = await c.startTask(1, { templateId: tpl.id });
  const isEnd = (f: WsFrame) => f.type === "update" && f.task_id === started.id && f.end !== null && isTerminalStatus(f.status);
  for (const until = Date.now() + 10_000; !frames.some(isEnd);) {
    if (Date.now() > until) throw new Error("no terminal frame");
    await new Promise((r) => setTimeout(r, 10));
  }
  const mine = frames.filter((f) => f.task_id === started.id);
  t.true(mine.some((f) => f.type === "log" && f.output === "ws line"));
  t.deepEqual(
    [...new Set(mine.filter((f) => f.type === "update").map((f) => (f.type === "update" ? f.status : "")))],
    ["waiting", "starting", "running", "success"],
  );

  const bad = new WebSocket(c.websocketUrl(), { headers: { Authorization: "Bearer nope" } });
  bad.on("error", () => {}); // terminating before the handshake completes emits one
  const status = await new Promise<number>((ok) => bad.once("unexpected-response", (_req, res) => ok(res.statusCode ?? 0)));
  bad.terminate();
  t.is(status, 401);
});
