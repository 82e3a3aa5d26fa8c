// The emulator behaves like a live Semaphore v2.10.32 by default (semaphore-api.md §11, the measured differences);
// the deliberate differences are named options (ascendingIds, forceStopKillsAtOnce).
import test from "ava";
import { connect } from "node:net";
import { startSemaphoreServer, type SemaphoreServer, type SemaphoreServerOptions } from "../src/emulator/index.js";

async function server(t: { teardown(fn: () => Promise<void>): void }, o: SemaphoreServerOptions = {}): Promise<SemaphoreServer> {
  const s = await startSemaphoreServer({ tickMs: 10, lineDelayMs: 1, schedules: false, ...o });
  t.teardown(() => s.stop());
  return s;
}

async function api(
  s: SemaphoreServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; ctype: string | null; text: string; json: any }> {
  const headers: Record<string, string> = { Authorization: `Bearer ${s.adminToken}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(s.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, ctype: r.headers.get("content-type"), text, json: text ? JSON.parse(text) : undefined };
}

async function until<T>(what: string, fn: () => T | undefined | false): Promise<T> {
  for (let i = 0; i < 4000; i++) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test("ids count down from 2147483646 (item 1), the version has no v (2), /api/info keys are sorted (17)", async (t) => {
  const s = await server(t);
  const ids = ((await api(s, "GET", "/api/project/1/tasks")).json as { id: number }[]).map((x) => x.id);
  t.is(Math.max(...ids), 2147483646, "the oldest seeded task has the first BoltDB id");
  const created = (await api(s, "POST", "/api/project/1/tasks", { template_id: 1 })).json;
  t.true(created.id < Math.min(...ids), "the newest task has the smallest id");
  const info = (await api(s, "GET", "/api/info")).json;
  t.regex(info.version, /^2\.10\.32-emulated-\w+$/);
  t.deepEqual(Object.keys(info), [...Object.keys(info)].sort());
});

test("lists are in id order (3); template tasks count is 0 and last_task.user_name null in the list (6, 7)", async (t) => {
  const s = await server(t);
  for (const path of ["templates", "keys", "inventory", "environment", "repositories"]) {
    const ids = ((await api(s, "GET", `/api/project/1/${path}`)).json as { id: number }[]).map((x) => x.id);
    t.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      path,
    );
  }
  const list = (await api(s, "GET", "/api/project/1/templates")).json as Array<{ id: number; tasks: number; last_task: { user_name: unknown } | null }>;
  t.true(
    list.every((x) => x.tasks === 0),
    "tasks count",
  );
  const deploy = list.find((x) => x.id === 1)!;
  t.is(deploy.last_task!.user_name, null, "list: user_name null");
  t.truthy((await api(s, "GET", "/api/project/1/templates/1")).json.last_task.user_name, "single GET: user_name filled");
});

test("/events gives only the newest item, /events/last many (4); stopping a finished task writes an event (11)", async (t) => {
  const s = await server(t);
  t.is((await api(s, "GET", "/api/events")).json.length, 1);
  t.is((await api(s, "GET", "/api/project/1/events")).json.length, 1);
  t.true((await api(s, "GET", "/api/project/1/events/last")).json.length > 1);
  const done = ((await api(s, "GET", "/api/project/1/tasks")).json as { id: number; status: string }[]).find((x) => x.status === "success")!;
  t.is((await api(s, "POST", `/api/project/1/tasks/${done.id}/stop`, {})).status, 204);
  t.is((await api(s, "GET", "/api/project/1/events")).json[0].description, `Task ID ${done.id} (Deploy web) finished - STOPPED`);
});

test("a forced stop of an active task that is not running: stopped with end null while it runs on, then end set (5)", async (t) => {
  // The step between `starting` and `running` is 0.2 units: a 5 s unit keeps the task in `starting` for a second, so
  // the stop below lands there even on a loaded machine; a short scenario keeps the run itself short.
  const s = await server(t, { lineDelayMs: 5000 });
  const tpl = s.addTemplate(1, { name: "Short", scenario: { lines: ["one", "two", "three"], delayUnits: 0.1 } });
  const task = s.startTaskAs(1, tpl.id);
  s.tick();
  await until("starting", () => s.getTask(task.id)?.status === "starting");
  t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { force: true })).status, 204);
  const stopped = s.getTask(task.id)!;
  t.is(stopped.status, "stopped");
  t.is(stopped["end"], null, "still running: no end yet");
  const before = (await api(s, "GET", `/api/project/1/tasks/${task.id}/output`)).json.length;
  await until("end", () => s.getTask(task.id)!["end"]);
  t.is(s.getTask(task.id)!.status, "stopped", "status stays stopped");
  const out = ((await api(s, "GET", `/api/project/1/tasks/${task.id}/output`)).json as { output: string }[]).map((o) => o.output);
  t.true(out.length > before, "the playbook printed on after the stop");
  t.false(
    out.some((l) => l.includes("signal: killed")),
    "not killed",
  );
});

test("forceStopKillsAtOnce: the old, deliberate difference, as a named option", async (t) => {
  const s = await server(t, { lineDelayMs: 200, forceStopKillsAtOnce: true });
  const task = s.startTaskAs(1, 1);
  s.tick();
  await until("starting", () => s.getTask(task.id)?.status === "starting");
  await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { force: true });
  await until("end", () => s.getTask(task.id)!["end"]);
  t.is(s.getTask(task.id)!.status, "stopped");
});

test("token created is the zero time (12); /api/apps has live's six apps (13)", async (t) => {
  const s = await server(t);
  const token = (await api(s, "POST", "/api/user/tokens")).json;
  t.is(token.created, "0001-01-01T00:00:00Z");
  const apps = (await api(s, "GET", "/api/apps")).json as Array<Record<string, unknown>>;
  t.deepEqual(apps.map((a) => a.id).sort(), ["ansible", "bash", "powershell", "python", "terraform", "tofu"]);
  t.true(apps.every((a) => a.path === "" && a.args === null && a.title === ""));
});

test("405 has no Content-Type and no body (14); 404 is nosniff (17); GET /api/ws without Upgrade closes (15)", async (t) => {
  const s = await server(t);
  const r = await api(s, "DELETE", "/api/ping");
  t.is(r.status, 405);
  t.is(r.ctype, null);
  t.is(r.text, "");
  const nf = await fetch(`${s.url}/api/definitely/not/here`, { headers: { Authorization: `Bearer ${s.adminToken}` } });
  t.is(nf.headers.get("x-content-type-options"), "nosniff");
  const reply = await new Promise<string>((resolve, reject) => {
    const sock = connect(s.port, "127.0.0.1", () => sock.write(`GET /api/ws HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.adminToken}\r\n\r\n`));
    let got = "";
    sock.on("data", (d) => (got += d.toString()));
    sock.on("close", () => resolve(got));
    sock.on("error", reject);
  });
  t.is(reply, "", "the connection is closed without a reply");
});
