// Semaphore emulator, task life: the status machine and stop/confirm tables of §6, the pool's queue rules, the
// output lines of §5 TaskOutput, the websocket frames of §7 and their project-membership filtering, and the
// start-body semantics of §4.5 (environment merge, survey answers, limit, arguments, secret).
import test from "ava";
import WebSocket from "ws";
import { startSemaphoreServer, type SemaphoreServer } from "../src/emulator/index.js";

// ---- helpers -----------------------------------------------------------------------------------------------------

async function api(
  s: SemaphoreServer,
  method: string,
  path: string,
  o: { token?: string | null; body?: unknown } = {},
): Promise<{ status: number; text: string; json: any }> {
  const headers: Record<string, string> = {};
  const token = o.token === undefined ? s.adminToken : o.token;
  if (token !== null) headers["Authorization"] = `Bearer ${token}`;
  if (o.body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(s.url + path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, text, json };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Task = Record<string, any>;
const getTask = async (s: SemaphoreServer, p: number, id: number): Promise<Task> => (await api(s, "GET", `/api/project/${p}/tasks/${id}`)).json;
const waitStatus = (s: SemaphoreServer, p: number, id: number, status: string): Promise<Task> =>
  waitFor(`task ${id} ${status}`, async () => {
    const t = await getTask(s, p, id);
    return t.status === status ? t : undefined;
  });
const waitEnd = (s: SemaphoreServer, p: number, id: number): Promise<Task> =>
  waitFor(`task ${id} end`, async () => {
    const t = await getTask(s, p, id);
    return t.end ? t : undefined;
  });
const outputOf = async (s: SemaphoreServer, p: number, id: number): Promise<string[]> =>
  ((await api(s, "GET", `/api/project/${p}/tasks/${id}/output`)).json as { output: string }[]).map((o) => o.output);
const start = async (s: SemaphoreServer, p: number, body: Record<string, unknown>, token?: string): Promise<Task> => {
  const r = await api(s, "POST", `/api/project/${p}/tasks`, { body, token });
  if (r.status !== 201) throw new Error(`start failed: ${r.status}`);
  return r.json;
};

interface Client {
  ws: WebSocket;
  frames: Record<string, any>[];
  close(): void;
}

function connect(s: SemaphoreServer, token: string | null): Promise<Client> {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const ws = new WebSocket(`${s.url.replace(/^http/, "ws")}/api/ws`, { headers });
  const frames: Record<string, any>[] = [];
  ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, frames, close: () => ws.terminate() }));
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
    ws.once("error", reject);
  });
}

const updates = (c: Client, taskId: number): string[] =>
  c.frames.filter((f) => f["type"] === "update" && f["task_id"] === taskId).map((f) => f["status"] + (f["end"] ? "+end" : ""));

// ---- normal path, output lines, frames ---------------------------------------------------------------------------------

test("normal path over the websocket: exact frame sequence and keys, REST output identical to log frames", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 25, lineDelayMs: 2 });
  const c = await connect(s, s.tokens.runner!);
  try {
    const tpl = s.addTemplate(1, { name: "Hello", app: "bash", scenario: { lines: ["hello", "\x1b[32mworld\x1b[0m"] } });
    const task = await start(s, 1, { template_id: tpl.id, message: "from chat" }, s.tokens.runner);
    t.is(task.status, "waiting");
    t.is(task.start, null);
    t.is(task.user_id, s.users["runner"]!.id);
    const done = await waitEnd(s, 1, task.id);
    t.is(done.status, "success");
    await waitFor("final frame", () => updates(c, task.id).includes("success+end"));
    const mine = c.frames.filter((f) => f["task_id"] === task.id);
    const id = task.id as number;
    t.deepEqual(
      mine.map((f) => (f["type"] === "log" ? `log:${f["output"]}` : `update:${f["status"]}${f["end"] ? "+end" : ""}`)),
      [
        `log:Task ${id} added to queue`,
        "update:waiting",
        "update:starting",
        `log:Started: ${id}`,
        "log:Run TaskRunner with template: Hello\n",
        "update:running",
        `log:Preparing: ${id}`,
        "log:installing static inventory",
        "log:hello",
        "log:\x1b[32mworld\x1b[0m",
        "update:success",
        "update:success+end",
      ],
    );
    for (const f of mine) {
      if (f["type"] === "log") {
        t.deepEqual(Object.keys(f), ["output", "project_id", "task_id", "time", "type"]);
        t.regex(f["time"], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
        t.is(f["project_id"], 1);
      } else {
        t.deepEqual(Object.keys(f), ["end", "project_id", "start", "status", "task_id", "template_id", "type", "version"]);
        t.is(f["template_id"], tpl.id);
        t.is(f["version"], null);
      }
    }
    const running = mine.find((f) => f["status"] === "running")!;
    t.truthy(running["start"], "start is set when entering running");
    t.is(mine.find((f) => f["status"] === "starting")!["start"], null);
    t.is(mine.filter((f) => f["status"] === "success")[0]!["end"], null, "terminal status first with end null");
    t.is(mine.at(-1)!["end"], done.end);
    t.deepEqual(
      await outputOf(s, 1, id),
      mine.filter((f) => f["type"] === "log").map((f) => f["output"]),
    );
    t.is(done.message, "from chat");
  } finally {
    c.close();
    await s.stop();
  }
});

test("failure: non-zero exit → error with `Running app failed: exit status N`; the demo migration fails like Ansible", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  try {
    const tpl = s.addTemplate(1, { name: "Broken", scenario: { lines: ["doing things", "boom"], exitCode: 3 } });
    const a = await start(s, 1, { template_id: tpl.id });
    const m = await start(s, 1, { template_id: 2 });
    const doneA = await waitEnd(s, 1, a.id);
    t.is(doneA.status, "error");
    const outA = await outputOf(s, 1, a.id);
    t.deepEqual(outA.slice(-3), ["doing things", "boom", "Running app failed: exit status 3"]);
    const doneM = await waitEnd(s, 1, m.id);
    t.is(doneM.status, "error");
    const outM = (await outputOf(s, 1, m.id)).join("\n");
    t.regex(outM, /\x1b\[0;31mfatal: \[db1\]: FAILED! => \{"changed":true,.*"rc":1/);
    t.regex(outM, /db1.*unreachable=0 .*failed=1/);
    t.regex(outM, /Running app failed: exit status 2$/);
  } finally {
    await s.stop();
  }
});

// ---- stop (§6 table) -------------------------------------------------------------------------------------------------

test("stop graceful on a waiting task: stopping at once, stopped at the next tick, start stays null", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  const c = await connect(s, s.adminToken);
  try {
    const task = await start(s, 1, { template_id: 1 });
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { body: {} })).status, 204);
    t.is((await getTask(s, 1, task.id)).status, "stopping");
    s.tick();
    const done = await getTask(s, 1, task.id);
    t.is(done.status, "stopped");
    t.is(done.start, null);
    t.truthy(done.end);
    await waitFor("frames", () => updates(c, task.id).length >= 4);
    t.deepEqual(updates(c, task.id), ["waiting", "stopping", "stopped", "stopped+end"]);
    s.tick();
    t.is((await getTask(s, 1, task.id)).status, "stopped", "never runs");
    t.false((await outputOf(s, 1, task.id)).some((l) => l.startsWith("Started:")));
  } finally {
    c.close();
    await s.stop();
  }
});

test("stop force on a waiting task: stopped immediately, never dequeued", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  try {
    const task = await start(s, 1, { template_id: 1 });
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { body: { force: true } })).status, 204);
    const after = await getTask(s, 1, task.id);
    t.is(after.status, "stopped");
    t.is(after.start, null);
    s.tick();
    s.tick();
    t.is((await getTask(s, 1, task.id)).status, "stopped");
    t.deepEqual(await outputOf(s, 1, task.id), [`Task ${task.id} added to queue`]);
  } finally {
    await s.stop();
  }
});

test("stop graceful on a running task: stopping, process killed, ends in error with `signal: killed`", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 10 });
  const c = await connect(s, s.tokens.runner!);
  try {
    const task = await start(s, 1, { template_id: 3 }, s.tokens.runner); // Full backup: long
    await waitFor("some ansible output", async () => (await outputOf(s, 1, task.id)).some((l) => l.includes("PLAY [")));
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { body: { force: false }, token: s.tokens.runner })).status, 204);
    const done = await waitEnd(s, 1, task.id);
    t.is(done.status, "error");
    t.truthy(done.start);
    t.is((await outputOf(s, 1, task.id)).at(-1), "Running app failed: signal: killed");
    await waitFor("final frame", () => updates(c, task.id).includes("error+end"));
    t.deepEqual(updates(c, task.id).slice(-4), ["running", "stopping", "error", "error+end"]);
  } finally {
    c.close();
    await s.stop();
  }
});

test("stop force on a running task: stopped, process killed; stop on a finished task rewrites it to stopped", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 10 });
  const c = await connect(s, s.adminToken);
  try {
    const task = await start(s, 1, { template_id: 3 });
    await waitStatus(s, 1, task.id, "running");
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { body: { force: true } })).status, 204);
    t.is((await getTask(s, 1, task.id)).status, "stopped");
    const done = await waitEnd(s, 1, task.id);
    t.is(done.status, "stopped");
    t.is((await outputOf(s, 1, task.id)).at(-1), "Running app failed: signal: killed");
    await waitFor("final frame", () => updates(c, task.id).includes("stopped+end"));
    t.deepEqual(updates(c, task.id).slice(-3), ["running", "stopped", "stopped+end"]);

    // already finished (success) → 204 and the status is overwritten to stopped; end unchanged
    const ok = s.addTemplate(1, { name: "Quick", scenario: { lines: ["ok"], delayUnits: 0 } });
    const q = await start(s, 1, { template_id: ok.id });
    const qDone = await waitEnd(s, 1, q.id);
    t.is(qDone.status, "success");
    t.is((await api(s, "POST", `/api/project/1/tasks/${q.id}/stop`, { body: {} })).status, 204);
    const rewritten = await getTask(s, 1, q.id);
    t.is(rewritten.status, "stopped");
    t.is(rewritten.end, qDone.end);
    // a seeded failed task too
    t.is((await api(s, "POST", "/api/project/1/tasks/2147483645/stop", { body: { force: true } })).status, 204);
    t.is((await getTask(s, 1, 2147483645)).status, "stopped");
  } finally {
    c.close();
    await s.stop();
  }
});

// ---- confirm (Terraform) -------------------------------------------------------------------------------------------

test("terraform: plan → waiting_confirmation → confirm → confirmed → running → success; no /reject in v2.10", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  const c = await connect(s, s.tokens.guest!);
  try {
    const task = await start(s, 1, { template_id: 4 }, s.tokens.runner);
    await waitStatus(s, 1, task.id, "waiting_confirmation");
    const plan = (await outputOf(s, 1, task.id)).join("\n");
    t.regex(plan, /Terraform has been successfully initialized!/);
    t.regex(plan, /Plan:.* 1 to add, 1 to change, 0 to destroy\./);
    t.notRegex(plan, /Apply complete/);
    await new Promise((r) => setTimeout(r, 50));
    t.is((await getTask(s, 1, task.id)).status, "waiting_confirmation", "waits for a human");
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/confirm`, { token: s.tokens.guest })).status, 403);
    const reject = await api(s, "POST", `/api/project/1/tasks/${task.id}/reject`, { token: s.tokens.runner });
    t.is(reject.status, 404);
    t.is(reject.text, "Not Found");
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/confirm`, { token: s.tokens.runner })).status, 204);
    const done = await waitEnd(s, 1, task.id);
    t.is(done.status, "success");
    t.regex((await outputOf(s, 1, task.id)).join("\n"), /Apply complete! Resources: 1 added, 1 changed, 0 destroyed\./);
    await waitFor("final frame", () => updates(c, task.id).includes("success+end"));
    t.deepEqual(updates(c, task.id), ["waiting", "starting", "running", "waiting_confirmation", "confirmed", "running", "success", "success+end"]);
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/confirm`, { token: s.tokens.runner })).status, 400, "not active any more");
  } finally {
    c.close();
    await s.stop();
  }
});

test("terraform: a graceful stop while waiting for confirmation ends the task in error", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  try {
    const task = await start(s, 1, { template_id: 4 });
    await waitStatus(s, 1, task.id, "waiting_confirmation");
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { body: {} })).status, 204);
    const done = await waitEnd(s, 1, task.id);
    t.is(done.status, "error");
    t.is((await outputOf(s, 1, task.id)).at(-1), "Running app failed: signal: killed");
  } finally {
    await s.stop();
  }
});

// ---- queue rules ---------------------------------------------------------------------------------------------------

test("queue: at most one dequeue per tick; the same template never runs twice at once", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 2, seed: "empty" });
  try {
    const p = s.createProject("Q");
    const long = { lines: Array.from({ length: 40 }, (_, i) => `line ${i}`) };
    const [a, b, c] = ["A", "B", "C"].map((n) => s.addTemplate(p.id, { name: n, scenario: long }));
    const tasks = [a!, b!, c!].map((tpl) => s.startTaskAs(p.id, tpl.id, { userId: s.users["runner"]!.id }));
    const statuses = (): string[] => tasks.map((x) => s.getTask(x.id)!.status);
    t.deepEqual(statuses(), ["waiting", "waiting", "waiting"]);
    s.tick();
    t.deepEqual(statuses(), ["starting", "waiting", "waiting"], "one dequeue per tick, FIFO");
    s.tick();
    t.deepEqual(statuses().slice(1), ["starting", "waiting"]);
    s.tick();
    t.not(statuses()[2], "waiting");

    // same template: the second waits while the first is active, whatever the number of ticks
    const first = s.startTaskAs(p.id, a!.id);
    const second = s.startTaskAs(p.id, a!.id);
    await waitFor("A's first run to end", () => s.getTask(tasks[0]!.id)!.end);
    s.tick();
    t.is(s.getTask(first.id)!.status, "starting");
    for (let i = 0; i < 5; i++) s.tick();
    t.is(s.getTask(second.id)!.status, "waiting", "same template never concurrent");
    await waitFor("first to end", () => s.getTask(first.id)!.end);
    s.tick();
    t.is(s.getTask(second.id)!.status, "starting");
  } finally {
    await s.stop();
  }
});

test("queue: per-project max_parallel_tasks and the global cap keep tasks waiting", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 2, seed: "empty", maxParallelTasks: 2 });
  try {
    const long = { lines: Array.from({ length: 60 }, (_, i) => `line ${i}`) };
    const p = s.createProject("One at a time", { maxParallelTasks: 1 });
    const [x, y] = ["X", "Y"].map((n) => s.addTemplate(p.id, { name: n, scenario: long }));
    const tx = s.startTaskAs(p.id, x!.id);
    const ty = s.startTaskAs(p.id, y!.id);
    s.tick();
    s.tick();
    s.tick();
    t.not(s.getTask(tx.id)!.status, "waiting");
    t.is(s.getTask(ty.id)!.status, "waiting", "project cap 1");

    const q = s.createProject("Unlimited");
    const [u, v] = ["U", "V"].map((n) => s.addTemplate(q.id, { name: n, scenario: long }));
    const tu = s.startTaskAs(q.id, u!.id);
    const tv = s.startTaskAs(q.id, v!.id);
    s.tick();
    s.tick();
    s.tick();
    t.not(s.getTask(tu.id)!.status, "waiting");
    t.is(s.getTask(tv.id)!.status, "waiting", "global cap 2 (tx and tu running)");
    await waitFor("tx to end", () => s.getTask(tx.id)!.end, 10_000);
    s.tick();
    t.not(s.getTask(ty.id)!.status, "waiting", "FIFO: ty was queued first");
    t.is(s.getTask(tv.id)!.status, "waiting");
  } finally {
    await s.stop();
  }
});

test("queue: each pool tick dequeues at most one queued task", async (t) => {
  // The timer is an hour: every tick below is ours, so a loaded machine cannot bunch or stretch them.
  const s = await startSemaphoreServer({ tickMs: 3_600_000, lineDelayMs: 1, seed: "empty" });
  try {
    const p = s.createProject("Timed");
    const tpls = ["1", "2", "3"].map((n) => s.addTemplate(p.id, { name: n, scenario: { lines: ["x"] } }));
    const tasks = tpls.map((tpl) => s.startTaskAs(p.id, tpl.id));
    const waiting = () => tasks.filter((x) => s.getTask(x.id)!["status"] === "waiting").length;
    t.is(waiting(), 3, "nothing starts before the pool wakes");
    for (const left of [2, 1, 0]) {
      s.tick();
      t.is(waiting(), left, `one task dequeued per tick (${left} left)`);
    }
    const done = await Promise.all(tasks.map((x) => waitFor(`end ${x.id}`, () => (s.getTask(x.id)!.end ? s.getTask(x.id)! : undefined))));
    t.true(done.every((x) => x["status"] === "success"));
  } finally {
    await s.stop();
  }
});

// ---- websocket -------------------------------------------------------------------------------------------------------

test("websocket: 401 before upgrade on bad auth; frames only for projects the user belongs to (admins: all)", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  const clients: Client[] = [];
  try {
    for (const token of [null, "bogus", s.tokens.expired!]) {
      const err = await t.throwsAsync(connect(s, token));
      t.is((err as Error & { statusCode?: number }).statusCode, 401);
    }
    const [admin, owner, runner, guest, outsider, runner2] = await Promise.all(
      [s.adminToken, s.tokens.owner!, s.tokens.runner!, s.tokens.guest!, s.tokens.outsider!, s.tokens.runner!].map((tk) => connect(s, tk)),
    );
    clients.push(admin!, owner!, runner!, guest!, outsider!, runner2!);
    const t1 = await start(s, 1, { template_id: 1 });
    const t2 = await start(s, 2, { template_id: 7 });
    await waitEnd(s, 1, t1.id);
    await waitEnd(s, 2, t2.id);
    await waitFor("admin frames", () => updates(admin!, t1.id).includes("success+end") && updates(admin!, t2.id).includes("success+end"));
    await waitFor("runner frames", () => updates(runner!, t1.id).includes("success+end") && updates(runner2!, t1.id).includes("success+end"));
    const ids = (c: Client): number[] => [...new Set(c.frames.map((f) => f["task_id"] as number))].sort();
    t.deepEqual(ids(admin!), [t1.id, t2.id].sort());
    t.deepEqual(ids(owner!), [t1.id, t2.id].sort());
    t.deepEqual(ids(runner!), [t1.id], "runner is not in project 2");
    t.deepEqual(ids(guest!), [t1.id]);
    t.deepEqual(ids(outsider!), []);
    t.is(runner2!.frames.length, runner!.frames.length, "each connection of a user gets every frame");
    t.true(s.stats().wsFramesOut > 0);
    // client messages are read and discarded
    runner!.ws.send("hello?");
    await new Promise((r) => setTimeout(r, 30));
    t.is(runner!.ws.readyState, WebSocket.OPEN);
  } finally {
    for (const c of clients) c.close();
    await s.stop();
  }
});

test("websocket: the server pings; cookie sessions work for the websocket too", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1, wsPingMs: 150 });
  try {
    const login = await fetch(`${s.url}/api/auth/login`, { method: "POST", body: JSON.stringify({ auth: "gina", password: s.users["guest"]!.password }) });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
    const ws = new WebSocket(`${s.url.replace(/^http/, "ws")}/api/ws`, { headers: { Cookie: cookie } });
    let pings = 0;
    ws.on("ping", () => pings++);
    await new Promise((r, j) => {
      ws.once("open", r);
      ws.once("error", j);
    });
    await waitFor("two pings", () => pings >= 2, 3000);
    t.true(pings >= 2);
    t.is(ws.readyState, WebSocket.OPEN, "pongs keep the connection");
    ws.terminate();
  } finally {
    await s.stop();
  }
});

// ---- start body semantics (§4.5) ------------------------------------------------------------------------------------

test("§4.5: template environment wins on clash, --limit narrows hosts, bash gets key=value args + arguments, secret never stored", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  try {
    const d = await start(s, 1, { template_id: 1, environment: JSON.stringify({ app_version: "9.9.9", extra: "x" }), limit: "web1" });
    t.is(d.environment, '{"app_version":"9.9.9","extra":"x"}');
    t.is(d.limit, "web1");
    await waitEnd(s, 1, d.id);
    const out = (await outputOf(s, 1, d.id)).join("\n");
    t.regex(out, /TASK \[app : Deploy release 2\.4\.1\]/, "template environment wins");
    t.regex(out, /ok: \[web1\]/);
    t.notRegex(out, /web2/, "--limit=web1");

    const b = await start(s, 2, {
      template_id: 6,
      environment: JSON.stringify({ who: "world" }),
      arguments: JSON.stringify(["--extra"]),
      secret: JSON.stringify({ token: "s3cr3t" }),
    });
    t.is(b.secret, "{}", "the create response echoes {}");
    t.is(b.arguments, '["--extra"]');
    const bDone = await waitEnd(s, 2, b.id);
    t.is(bDone.secret, "", "later reads give an empty secret");
    t.is(bDone.status, "success");
    const bOut = await outputOf(s, 2, b.id);
    t.true(bOut.includes("Arguments: index=products who=world token=s3cr3t --extra"), bOut.join("\n"));

    const nothing = await start(s, 1, { template_id: 1, limit: "nosuchhost" });
    const nDone = await waitEnd(s, 1, nothing.id);
    t.is(nDone.status, "error");
    t.regex((await outputOf(s, 1, nothing.id)).join("\n"), /Could not match supplied host pattern, ignoring: nosuchhost/);
  } finally {
    await s.stop();
  }
});

test("survey variables: the answers arrive in `environment`; a missing required one fails the playbook", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  try {
    const ok = await start(s, 1, { template_id: 5, environment: JSON.stringify({ cert_domain: "shop.example.com", validity_days: 30, ca: "internal" }) });
    const missing = await start(s, 1, { template_id: 5, environment: JSON.stringify({ ca: "letsencrypt" }) });
    const okDone = await waitEnd(s, 1, ok.id);
    t.is(okDone.status, "success");
    const okOut = (await outputOf(s, 1, ok.id)).join("\n");
    t.regex(okOut, /Request certificate for shop\.example\.com from internal CA/);
    t.regex(okOut, /Install certificate \(30 days\)/);
    const mDone = await waitEnd(s, 1, missing.id);
    t.is(mDone.status, "error");
    t.regex((await outputOf(s, 1, missing.id)).join("\n"), /'cert_domain' is undefined/);
  } finally {
    await s.stop();
  }
});

test("runs started elsewhere: startTaskAs with user_id null shows up in history and over the websocket", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  const c = await connect(s, s.tokens.runner!);
  try {
    const task = s.startTaskAs(1, 1, { message: "nightly" });
    t.is(task.user_id, null);
    t.is(task.status, "waiting");
    await waitEnd(s, 1, task.id);
    const last = (await api(s, "GET", "/api/project/1/tasks/last?limit=1", { token: s.tokens.runner })).json[0];
    t.is(last.id, task.id);
    t.is(last.user_id, null);
    t.is(last.user_name, null);
    t.is(last.message, "nightly");
    await waitFor("frames", () => updates(c, task.id).includes("success+end"));
    t.is(updates(c, task.id)[0], "waiting");
    t.throws(() => s.startTaskAs(1, 999), { message: /no template 999/ });
  } finally {
    c.close();
    await s.stop();
  }
});
