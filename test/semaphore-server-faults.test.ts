// Semaphore emulator: injected faults (proxy 502 page, invalid JSON, latency, refused/dropped websockets), full
// outage + restart on the same port with state kept, the BoltDB descending-id quirk, the "modern" flavor (§10),
// schedules firing, request statistics, and a clean stop (no handles left).
import test from "ava";
import WebSocket from "ws";
import { startSemaphoreServer, type SemaphoreServer } from "../src/emulator/index.js";

async function api(
  s: SemaphoreServer,
  method: string,
  path: string,
  o: { token?: string | null; body?: unknown; signal?: AbortSignal } = {},
): Promise<{ status: number; ctype: string | null; text: string; json: any }> {
  const headers: Record<string, string> = {};
  const token = o.token === undefined ? s.adminToken : o.token;
  if (token !== null) headers["Authorization"] = `Bearer ${token}`;
  if (o.body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(s.url + path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal: o.signal });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, ctype: r.headers.get("content-type"), text, json };
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

function connect(s: SemaphoreServer, token: string): Promise<{ ws: WebSocket; frames: Record<string, any>[] }> {
  const ws = new WebSocket(`${s.url.replace(/^http/, "ws")}/api/ws`, { headers: { Authorization: `Bearer ${token}` } });
  const frames: Record<string, any>[] = [];
  ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, frames }));
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
    ws.once("error", reject);
  });
}

const taskCount = async (s: SemaphoreServer): Promise<number> => ((await api(s, "GET", "/api/project/1/tasks")).json as unknown[]).length;

// ---- clean stop (serial: runs before the concurrent tests of this file) ------------------------------------------

test.serial("stop() leaves no handles behind: timers, sockets and the listener are gone", async (t) => {
  const kinds = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const k of process.getActiveResourcesInfo()) out[k] = (out[k] ?? 0) + 1;
    return out;
  };
  const before = kinds();
  const s = await startSemaphoreServer({ tickMs: 10, lineDelayMs: 5, wsPingMs: 20 });
  const c = await connect(s, s.adminToken);
  const long = s.startTaskAs(1, 3); // long running
  s.faults.setLatency(5000);
  const pending = api(s, "GET", "/api/projects").catch(() => "aborted");
  await waitFor("the delayed request to reach the server", () => s.stats().requestsByRoute["GET /api/projects"] === 1);
  await waitFor("running", () => s.getTask(long.id)?.status === "running");
  t.true((kinds()["Timeout"] ?? 0) > (before["Timeout"] ?? 0));
  await s.stop();
  await s.stop(); // idempotent
  let guard: NodeJS.Timeout | undefined;
  const settled = await Promise.race([pending, new Promise((r) => (guard = setTimeout(() => r("still pending"), 3000)))]);
  clearTimeout(guard);
  t.is(settled, "aborted", "a delayed reply is cut by stop()");
  c.ws.terminate();
  await new Promise((r) => setTimeout(r, 50));
  const after = kinds();
  for (const k of ["Timeout", "TCPServerWrap", "TCPSocketWrap"]) t.true((after[k] ?? 0) <= (before[k] ?? 0), `${k}: ${after[k] ?? 0} > ${before[k] ?? 0}`);
});

// ---- faults ----------------------------------------------------------------------------------------------------------

test("fault html502: every /api reply (ping and websocket too) is a proxy's HTML page; requests never reach the API", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  try {
    const before = await taskCount(s);
    s.faults.setHtml502(true);
    for (const path of ["/api/projects", "/api/ping", "/api/project/1/tasks/2147483646"]) {
      const r = await api(s, "GET", path);
      t.is(r.status, 502, path);
      t.is(r.ctype, "text/html");
      t.regex(r.text, /<title>502 Bad Gateway<\/title>/);
    }
    t.is((await api(s, "POST", "/api/project/1/tasks", { body: { template_id: 1 } })).status, 502);
    const err = await t.throwsAsync(connect(s, s.adminToken));
    t.is((err as Error & { statusCode?: number }).statusCode, 502);
    s.faults.setHtml502(false);
    t.is(await taskCount(s), before, "the POST did not start a task");
    t.is((await api(s, "GET", "/api/projects")).status, 200);
  } finally {
    await s.stop();
  }
});

test("fault invalid JSON: 200 with application/json and a body that does not parse; ping unaffected", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  try {
    s.faults.setInvalidJson(true);
    const r = await fetch(`${s.url}/api/projects`, { headers: { Authorization: `Bearer ${s.adminToken}` } });
    t.is(r.status, 200);
    t.is(r.headers.get("content-type"), "application/json");
    const text = await r.text();
    t.true(text.length > 0);
    t.throws(() => JSON.parse(text));
    t.is((await api(s, "GET", "/api/ping", { token: null })).text, "pong");
    s.faults.setInvalidJson(false);
    t.is((await api(s, "GET", "/api/projects")).json.length, 2);
  } finally {
    await s.stop();
  }
});

test("fault latency: replies are late but requests are processed at once (a timed-out POST still starts the task)", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  try {
    s.faults.setLatency(400);
    const t0 = Date.now();
    t.is((await api(s, "GET", "/api/ping", { token: null })).text, "pong");
    t.true(Date.now() - t0 >= 390, `took ${Date.now() - t0}ms`);
    const before = s.stats().requestsByRoute["POST /api/project/{project_id}/tasks"] ?? 0;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 150);
    const aborted = await api(s, "POST", "/api/project/1/tasks", { body: { template_id: 1, message: "timed out" }, signal: ac.signal }).then(
      () => "answered",
      (e: Error) => e.name,
    );
    t.is(aborted, "AbortError", "the client gave up before the late reply");
    clearTimeout(timer);
    t.is(s.stats().requestsByRoute["POST /api/project/{project_id}/tasks"], before + 1);
    s.faults.setLatency(0);
    const last = (await api(s, "GET", "/api/project/1/tasks/last?limit=1")).json[0];
    t.is(last.message, "timed out");
    t.is(last.status, "waiting");
  } finally {
    await s.stop();
  }
});

test("fault websocket: refused with 403 (polling fallback) while REST works; dropWebsockets terminates connections", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  try {
    s.faults.refuseWebsocket(403);
    const err = await t.throwsAsync(connect(s, s.adminToken));
    t.is((err as Error & { statusCode?: number }).statusCode, 403);
    t.is((await api(s, "GET", "/api/projects")).status, 200);
    s.faults.refuseWebsocket(null);
    const a = await connect(s, s.adminToken);
    const b = await connect(s, s.tokens.runner!);
    const closes = [a, b].map((c) => new Promise<number>((r) => c.ws.once("close", (code) => r(code))));
    s.faults.dropWebsockets();
    t.deepEqual(await Promise.all(closes), [1006, 1006], "abrupt close, no close frame");
    const again = await connect(s, s.adminToken);
    s.startTaskAs(1, 1);
    await waitFor("frames after reconnect", () => again.frames.length > 0);
    again.ws.terminate();
  } finally {
    await s.stop();
  }
});

test("outage + restart: connections refused and websockets closed, tasks keep running, same port and state after restart", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 3 });
  try {
    const c = await connect(s, s.adminToken);
    const task = (await api(s, "POST", "/api/project/1/tasks", { body: { template_id: 3, message: "survives" } })).json;
    await waitFor("running", async () => (await api(s, "GET", `/api/project/1/tasks/${task.id}`)).json.status === "running");
    const closed = new Promise<number>((r) => c.ws.once("close", (code) => r(code)));
    const linesBefore = ((await api(s, "GET", `/api/project/1/tasks/${task.id}/output`)).json as unknown[]).length;
    await s.outage();
    await closed;
    const err = await t.throwsAsync(fetch(`${s.url}/api/ping`));
    t.regex(String((err as Error & { cause?: { code?: string } }).cause?.code ?? err?.message), /ECONNREFUSED|fetch failed/);
    await new Promise((r) => setTimeout(r, 150));
    await s.restart();
    await s.restart(); // no-op when already listening
    const after = await api(s, "GET", `/api/project/1/tasks/${task.id}`);
    t.is(after.status, 200, "same URL, tokens still valid");
    t.is(after.json.message, "survives");
    const linesAfter = ((await api(s, "GET", `/api/project/1/tasks/${task.id}/output`)).json as unknown[]).length;
    t.true(linesAfter > linesBefore, `the task kept printing during the outage (${linesBefore} → ${linesAfter})`);
    const c2 = await connect(s, s.adminToken);
    await waitFor("live frames after restart", () => c2.frames.some((f) => f["task_id"] === task.id));
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { body: { force: true } })).status, 204);
    c2.ws.terminate();
  } finally {
    await s.stop();
  }
});

// ---- quirks and flavors -------------------------------------------------------------------------------------------

test("task ids count down from 2147483646 by default (live BoltDB); lists stay newest first", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  try {
    const all = (await api(s, "GET", "/api/project/1/tasks")).json as { id: number; created: string }[];
    const ids = all.map((x) => x.id);
    t.true(ids.every((id) => id <= 2147483646 && id > 2147483600));
    const created = await api(s, "POST", "/api/project/1/tasks", { body: { template_id: 1 } });
    t.is(created.status, 201);
    t.true(created.json.id < Math.min(...ids));
    const last = (await api(s, "GET", "/api/project/1/tasks/last?limit=2")).json as { id: number }[];
    t.is(last[0]!.id, created.json.id, "newest first although its id is the smallest");
    t.is((await api(s, "GET", `/api/project/1/tasks/${created.json.id}`)).json.id, created.json.id);
    t.is((await api(s, "GET", "/api/project/2/tasks")).json.at(-1).id, 2147483646 - 4, "ids are global, not per project");
  } finally {
    await s.stop();
  }
  const sql = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1, ascendingIds: true });
  try {
    const created = await api(sql, "POST", "/api/project/1/tasks", { body: { template_id: 1 } });
    t.is(created.json.id, 8, "ascendingIds (SQL backends): after the 7 seeded tasks");
  } finally {
    await sql.stop();
  }
});

test("modern flavor: params object, omit-when-empty fields, TaskOutput id, info extras, reject → rejected (final), raw output", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1, apiFlavor: "modern", version: "v2.15.0-emulated" });
  try {
    const info = (await api(s, "GET", "/api/info")).json;
    t.is(info.version, "v2.15.0-emulated");
    t.truthy(info.auth_methods);
    t.truthy(info.premium_features);
    const tpl = (await api(s, "GET", "/api/project/1/templates/1")).json;
    t.truthy(tpl.task_params);

    const created = await api(s, "POST", "/api/project/1/tasks", { body: { template_id: 1, limit: "web1", debug: true, params: { diff: true } } });
    t.is(created.status, 201);
    const task = created.json;
    t.deepEqual(task.params, { diff: true, limit: ["web1"] }, "flat limit becomes params.limit");
    for (const k of ["debug", "dry_run", "diff"]) t.false(k in task, `${k} left the model`);
    for (const k of [
      "git_branch",
      "arguments",
      "start",
      "end",
      "schedule_id",
      "integration_id",
      "commit_hash",
      "version",
      "inventory_id",
      "environment",
      "message",
    ]) {
      t.false(k in task, `${k} omitted when empty`);
    }
    t.is(task.user_id, s.users["admin"]!.id);
    t.is(task.limit, "web1", "flat limit kept as a deprecated alias");
    t.is((await api(s, "POST", "/api/project/1/tasks", { body: { template_id: 1, params: { limit: "web1" } } })).status, 400, "params are typed");
    await waitFor("end", async () => (await api(s, "GET", `/api/project/1/tasks/${task.id}`)).json.end);
    const done = (await api(s, "GET", `/api/project/1/tasks/${task.id}`)).json;
    t.is(done.status, "success");
    t.false("secret" in done);
    const out = (await api(s, "GET", `/api/project/1/tasks/${task.id}/output`)).json as Record<string, unknown>[];
    t.deepEqual(Object.keys(out[0]!), ["id", "task_id", "time", "output"]);
    t.false(
      out.some((o) => String(o["output"]).includes("web2")),
      "params.limit applied",
    );
    const raw = await api(s, "GET", `/api/project/1/tasks/${task.id}/raw_output`);
    t.regex(raw.ctype ?? "", /^text\/plain/);
    t.true(raw.text.startsWith(`Task ${task.id} added to queue\n`));

    const c = await connect(s, s.adminToken);
    const tf = (await api(s, "POST", "/api/project/1/tasks", { body: { template_id: 4 } })).json;
    await waitFor("waiting_confirmation", async () => (await api(s, "GET", `/api/project/1/tasks/${tf.id}`)).json.status === "waiting_confirmation");
    t.is((await api(s, "POST", `/api/project/1/tasks/${tf.id}/reject`, { token: s.tokens.guest })).status, 403);
    t.is((await api(s, "POST", `/api/project/1/tasks/${tf.id}/reject`)).status, 204);
    await waitFor("end", async () => (await api(s, "GET", `/api/project/1/tasks/${tf.id}`)).json.end);
    t.is((await api(s, "GET", `/api/project/1/tasks/${tf.id}`)).json.status, "rejected", "rejected is final: the run is not rewritten to error");
    await waitFor("frames", () => c.frames.some((f) => f["task_id"] === tf.id && f["end"]));
    const statuses = c.frames.filter((f) => f["type"] === "update" && f["task_id"] === tf.id).map((f) => f["status"]);
    t.deepEqual(statuses.slice(-3), ["waiting_confirmation", "rejected", "rejected"]);
    t.regex(((await api(s, "GET", `/api/project/1/tasks/${tf.id}/output`)).json as { output: string }[]).map((o) => o.output).join("\n"), /Apply cancelled\./);
    t.is((await api(s, "POST", `/api/project/1/tasks/${tf.id}/reject`)).status, 400, "not active");

    const planOnly = (await api(s, "POST", "/api/project/1/tasks", { body: { template_id: 4, params: { plan: true } } })).json;
    await waitFor("end", async () => (await api(s, "GET", `/api/project/1/tasks/${planOnly.id}`)).json.end);
    t.is((await api(s, "GET", `/api/project/1/tasks/${planOnly.id}`)).json.status, "success", "plan only: no confirmation");
    c.ws.terminate();
  } finally {
    await s.stop();
  }
});

test("schedules fire: a task with user_id null (schedule_id null in v2.10) is queued at the cron time", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  try {
    const created = await api(s, "POST", "/api/project/1/schedules", { body: { template_id: 1, cron_format: "@every 1s", name: "often", active: true } });
    t.is(created.status, 201);
    const fired = await waitFor(
      "a scheduled task",
      async () => {
        const last = (await api(s, "GET", "/api/project/1/tasks/last?limit=1")).json[0];
        return last.id < 2147483640 ? last : undefined; // below the 7 seeded ids (they count down)
      },
      4000,
    );
    t.is(fired.user_id, null);
    t.is(fired.schedule_id, null);
    t.is(fired.template_id, 1);
    t.is((await api(s, "PUT", `/api/project/1/schedules/${created.json.id}/active`, { body: { active: false } })).status, 204);
  } finally {
    await s.stop();
  }
});

test("stats: requests by route pattern, response body bytes, websocket frames; resetStats", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 1 });
  try {
    s.resetStats();
    t.deepEqual(s.stats(), { requests: 0, requestsByRoute: {}, bytesOut: 0, wsFramesOut: 0, wsBytesOut: 0 });
    const a = await api(s, "GET", "/api/project/1/templates");
    const b = await api(s, "GET", "/api/project/1/tasks/2147483646");
    const c = await api(s, "GET", "/api/project/1/tasks/2147483645");
    await api(s, "GET", "/api/nope");
    const st = s.stats();
    t.is(st.requests, 4);
    t.is(st.requestsByRoute["GET /api/project/{project_id}/tasks/{task_id}"], 2);
    t.is(st.requestsByRoute["GET /api/project/{project_id}/templates"], 1);
    t.is(st.bytesOut, Buffer.byteLength(a.text) + Buffer.byteLength(b.text) + Buffer.byteLength(c.text) + "Not Found".length);
    const ws = await connect(s, s.adminToken);
    s.startTaskAs(1, 1);
    await waitFor("frames", () => ws.frames.length >= 3);
    t.is(s.stats().requestsByRoute["GET /api/ws"], 1);
    t.true(s.stats().wsFramesOut >= ws.frames.length);
    const frameBytes = ws.frames.reduce((n: number, f: unknown) => n + Buffer.byteLength(JSON.stringify(f)), 0);
    t.true(s.stats().wsBytesOut >= frameBytes * 0.9, `${s.stats().wsBytesOut} bytes counted for ${frameBytes} received`);
    ws.ws.terminate();
  } finally {
    await s.stop();
  }
});
