// Semaphore emulator, REST surface: conventions of §1, authentication of §2, the error table of §3, permissions of
// §2.4 and every JSON shape of §5, field by field. State machine, queue and websocket: semaphore-server-tasks.test.ts.
// Faults, outage, flavors: semaphore-server-faults.test.ts.
import test from "ava";
import type { ExecutionContext } from "ava";
import { DEFAULT_VERSION, startSemaphoreServer, type SemaphoreServer } from "../src/emulator/index.js";
import { parseCron, nextFire } from "../src/emulator/cron.js";
import { lastLimit } from "../src/emulator/routes/tasks.js";

// ---- helpers -----------------------------------------------------------------------------------------------------

interface Res {
  status: number;
  ctype: string | null;
  text: string;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function api(
  s: SemaphoreServer,
  method: string,
  path: string,
  o: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...o.headers };
  const token = o.token === undefined ? s.adminToken : o.token;
  if (token !== null) headers["Authorization"] = `Bearer ${token}`;
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(s.url + path, { method, headers, body });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, ctype: r.headers.get("content-type"), text, headers: r.headers, json };
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

type Kind = "int" | "string" | "bool" | "null" | "time" | "array" | "object";
function kindOf(v: unknown): Kind[] {
  if (v === null) return ["null"];
  if (Array.isArray(v)) return ["array"];
  if (typeof v === "number") return Number.isInteger(v) ? ["int"] : [];
  if (typeof v === "boolean") return ["bool"];
  if (typeof v === "string") return TIME.test(v) ? ["string", "time"] : ["string"];
  if (typeof v === "object") return ["object"];
  return [];
}

/** Exact keys in exact order, and each value of one of the allowed kinds ("int|null"). */
function shape(t: ExecutionContext, obj: unknown, spec: Record<string, string>, what: string): void {
  t.truthy(obj && typeof obj === "object", `${what} is an object`);
  const o = obj as Record<string, unknown>;
  t.deepEqual(Object.keys(o), Object.keys(spec), `${what} keys`);
  for (const [k, allowed] of Object.entries(spec)) {
    const kinds = kindOf(o[k]);
    const ok = allowed.split("|").some((a) => kinds.includes(a as Kind));
    t.true(ok, `${what}.${k} should be ${allowed}, got ${JSON.stringify(o[k])}`);
  }
}

const TASK: Record<string, string> = {
  id: "int",
  template_id: "int",
  project_id: "int",
  status: "string",
  debug: "bool",
  dry_run: "bool",
  diff: "bool",
  playbook: "string",
  environment: "string",
  limit: "string",
  secret: "string",
  arguments: "string|null",
  git_branch: "string|null",
  user_id: "int|null",
  integration_id: "int|null",
  schedule_id: "int|null",
  created: "time",
  start: "time|null",
  end: "time|null",
  message: "string",
  commit_hash: "string|null",
  commit_message: "string",
  build_task_id: "int|null",
  version: "string|null",
  inventory_id: "int|null",
};
const TASK_WITH_TPL: Record<string, string> = {
  ...TASK,
  tpl_playbook: "string",
  tpl_alias: "string",
  tpl_type: "string",
  tpl_app: "string",
  user_name: "string|null",
  build_task: "object|null",
};
const TEMPLATE: Record<string, string> = {
  id: "int",
  project_id: "int",
  inventory_id: "int|null",
  repository_id: "int",
  environment_id: "int|null",
  name: "string",
  playbook: "string",
  arguments: "string|null",
  allow_override_args_in_task: "bool",
  description: "string|null",
  vaults: "array|null",
  type: "string",
  start_version: "string|null",
  build_template_id: "int|null",
  view_id: "int|null",
  last_task: "object|null",
  autorun: "bool",
  git_branch: "string|null",
  survey_vars: "array|null",
  suppress_success_alerts: "bool",
  app: "string",
  tasks: "int",
};

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

async function finished(s: SemaphoreServer, projectId: number, taskId: number): Promise<Record<string, unknown>> {
  return waitFor(`task ${taskId} finished`, async () => {
    const r = await api(s, "GET", `/api/project/${projectId}/tasks/${taskId}`);
    return r.json && r.json.end ? r.json : undefined;
  });
}

// one shared demo server for read-mostly tests; tests that change state start their own
let S: SemaphoreServer;
test.before(async () => {
  S = await startSemaphoreServer({ tickMs: 30, lineDelayMs: 1 });
});
test.after.always(async () => {
  await S?.stop();
});

// ---- §1 conventions ----------------------------------------------------------------------------------------------

test("§1: JSON content-type everywhere (even empty bodies), ping is text/plain, unknown path is text/plain Not Found", async (t) => {
  const ping = await api(S, "GET", "/api/ping", { token: null });
  t.is(ping.status, 200);
  t.is(ping.ctype, "text/plain; charset=utf-8");
  t.is(ping.text, "pong");

  const unknown = await api(S, "GET", "/api/definitely/not/here");
  t.is(unknown.status, 404);
  t.regex(unknown.ctype ?? "", /^text\/plain/);
  t.is(unknown.text, "Not Found");

  const noAuth = await api(S, "GET", "/api/projects", { token: null });
  t.is(noAuth.status, 401);
  t.is(noAuth.ctype, "application/json");
  t.is(noAuth.text, "");

  const projects = await api(S, "GET", "/api/projects");
  t.is(projects.ctype, "application/json");
  t.true(projects.text.endsWith("\n"), "Go's json.Encoder ends bodies with a newline");
});

test("§1: trailing slash is stripped and GET routes answer HEAD", async (t) => {
  const a = await api(S, "GET", "/api/projects/");
  const b = await api(S, "GET", "/api/projects");
  t.is(a.status, 200);
  t.deepEqual(a.json, b.json);
  const head = await api(S, "HEAD", "/api/project/1/templates/");
  t.is(head.status, 200);
  t.is(head.ctype, "application/json");
  t.is(head.text, "");
  const headUnauth = await api(S, "HEAD", "/api/projects", { token: null });
  t.is(headUnauth.status, 401);
});

test("§1: 204 replies are empty with a JSON content-type; strings are HTML-escaped like Go", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  try {
    const created = await api(s, "POST", "/api/project/1/keys", { body: { name: "k", type: "none", project_id: 1 } });
    t.is(created.status, 204);
    t.is(created.ctype, "application/json");
    t.is(created.text, "");
    const p = await api(s, "POST", "/api/projects", { body: { name: "<b>&ops</b>" } });
    t.is(p.status, 201);
    t.true(p.text.includes("\\u003cb\\u003e\\u0026ops\\u003c/b\\u003e"), p.text);
    t.is(p.json.name, "<b>&ops</b>");
  } finally {
    await s.stop();
  }
});

test("§1: request bodies are decoded strictly by type (400, empty body); unknown fields are ignored", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  try {
    const cases: [string, string][] = [
      ["string where an int is expected", JSON.stringify({ template_id: "1" })],
      ["object where a string is expected", JSON.stringify({ template_id: 1, environment: { who: "world" } })],
      ["float for an int", JSON.stringify({ template_id: 1.5 })],
      ["string for a bool", JSON.stringify({ template_id: 1, debug: "true" })],
      ["array body", "[]"],
      ["not JSON", "{template_id: 1"],
      ["empty body", ""],
    ];
    for (const [what, raw] of cases) {
      const r = await api(s, "POST", "/api/project/1/tasks", { token: s.tokens.runner, raw });
      t.is(r.status, 400, what);
      t.is(r.text, "", what);
      t.is(r.ctype, "application/json", what);
    }
    const ok = await api(s, "POST", "/api/project/1/tasks", { token: s.tokens.runner, body: { template_id: 1, no_such_field: { x: 1 }, message: null } });
    t.is(ok.status, 201);
    t.is(ok.json.message, "");
  } finally {
    await s.stop();
  }
});

// ---- §2 authentication -------------------------------------------------------------------------------------------

test("§2.1: bearer scheme and token are case-insensitive; unknown and expired tokens are 401", async (t) => {
  const upper = await api(S, "GET", "/api/user", { token: null, headers: { Authorization: `BEARER ${S.tokens.runner!.toUpperCase()}` } });
  t.is(upper.status, 200);
  t.is(upper.json.username, "chatrixcd");
  const lower = await api(S, "GET", "/api/user", { token: null, headers: { authorization: `bearer ${S.tokens.guest}` } });
  t.is(lower.json.username, "gina");
  t.is((await api(S, "GET", "/api/user", { token: "nope" })).status, 401);
  const expired = await api(S, "GET", "/api/user", { token: S.tokens.expired! });
  t.is(expired.status, 401);
  t.is(expired.text, "");
  t.is((await api(S, "GET", "/api/user", { token: null, headers: { Authorization: `Token ${S.tokens.runner}` } })).status, 401);
});

test("§2.1: API tokens: create 201, list includes expired ones, delete expires (then 401), unknown id 404", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  try {
    const created = await api(s, "POST", "/api/user/tokens", { token: s.tokens.runner! });
    t.is(created.status, 201);
    shape(t, created.json, { id: "string", created: "time", expired: "bool", user_id: "int" }, "APIToken");
    t.regex(created.json.id, /^[a-z0-9_-]{43}=$/);
    t.is(created.json.user_id, s.users["runner"]!.id);
    const tok = created.json.id as string;
    t.is((await api(s, "GET", "/api/user", { token: tok })).json.username, "chatrixcd");
    const list = await api(s, "GET", "/api/user/tokens", { token: tok });
    const ids = (list.json as { id: string; expired: boolean }[]).map((x) => x.id);
    t.true(ids.includes(tok));
    t.true(ids.includes(s.tokens.expired!), "expired tokens are listed");
    t.true((list.json as { id: string; expired: boolean }[]).find((x) => x.id === s.tokens.expired)!.expired);
    t.is((await api(s, "DELETE", `/api/user/tokens/${tok}`, { token: s.tokens.runner! })).status, 204);
    t.is((await api(s, "GET", "/api/user", { token: tok })).status, 401);
    t.is((await api(s, "DELETE", "/api/user/tokens/unknown", { token: s.tokens.runner! })).status, 404);
  } finally {
    await s.stop();
  }
});

test("§2.2: cookie login: metadata, bad credentials 401, malformed 400, session cookie works, logout ends it", async (t) => {
  const meta = await api(S, "GET", "/api/auth/login", { token: null });
  t.deepEqual(meta.json, { oidc_providers: [], login_with_password: true });
  t.is((await api(S, "POST", "/api/auth/login", { token: null, body: { auth: "gina", password: "wrong" } })).status, 401);
  t.is((await api(S, "POST", "/api/auth/login", { token: null, raw: '{"auth": 1}' })).status, 400);
  const login = await api(S, "POST", "/api/auth/login", { token: null, body: { auth: "GINA@example.com", password: S.users["guest"]!.password } });
  t.is(login.status, 204);
  const cookie = login.headers.get("set-cookie") ?? "";
  t.regex(cookie, /^semaphore=[^;]+; Path=\//);
  const pair = cookie.split(";")[0]!;
  const me = await api(S, "GET", "/api/user", { token: null, headers: { Cookie: pair } });
  t.is(me.status, 200);
  t.is(me.json.username, "gina");
  t.is((await api(S, "POST", "/api/auth/logout", { token: null, headers: { Cookie: pair } })).status, 204);
  t.is((await api(S, "GET", "/api/user", { token: null, headers: { Cookie: pair } })).status, 401);
});

// ---- §2.3 failure shapes, §2.4 permissions ---------------------------------------------------------------------------

test("§2.3: every failure row", async (t) => {
  // no credentials / unknown token → 401 empty
  for (const token of [null, "unknown-token"]) {
    const r = await api(S, "GET", "/api/project/1", { token });
    t.is(r.status, 401);
    t.is(r.text, "");
  }
  // admin-only routes → 403 empty
  for (const path of ["/api/options", "/api/tasks", "/api/runners", "/api/apps/ansible"]) {
    const r = await api(S, "GET", path, { token: S.tokens.owner! });
    t.is(r.status, 403, path);
    t.is(r.text, "", path);
    t.is((await api(S, "GET", path)).status, 200, `${path} as admin`);
  }
  // member lacking the permission for a non-GET route → 403 empty
  const guestStart = await api(S, "POST", "/api/project/1/tasks", { token: S.tokens.guest!, body: { template_id: 1 } });
  t.is(guestStart.status, 403);
  t.is(guestStart.text, "");
  // not a member → 404 empty (existence hidden)
  const outsider = await api(S, "GET", "/api/project/1", { token: S.tokens.outsider! });
  t.is(outsider.status, 404);
  t.is(outsider.text, "");
  t.is((await api(S, "GET", "/api/project/999", { token: S.tokens.outsider! })).status, 404);
  // project id not an integer → 400 {"error":"Invalid project ID"}
  const bad = await api(S, "GET", "/api/project/abc/templates");
  t.is(bad.status, 400);
  t.deepEqual(bad.json, { error: "Invalid project ID" });
  // non-admin POST /api/projects and POST /api/users → 401 (sic)
  t.is((await api(S, "POST", "/api/projects", { token: S.tokens.owner!, body: { name: "x" } })).status, 401);
  t.is((await api(S, "POST", "/api/users", { token: S.tokens.owner!, body: { username: "x", name: "x", email: "x@x" } })).status, 401);
});

test("§2.4: roles: any member reads, run/manage bits for writes, runner has no access to project 2", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1 });
  try {
    const tk = s.tokens;
    for (const who of ["owner", "manager", "runner", "guest"]) {
      for (const path of [
        "/api/project/1/templates",
        "/api/project/1/tasks",
        "/api/project/1/keys",
        "/api/project/1/inventory",
        "/api/project/1/tasks/2147483646/output",
      ]) {
        t.is((await api(s, "GET", path, { token: tk[who]! })).status, 200, `${who} GET ${path}`);
      }
    }
    const roles: Record<string, [string, number]> = { owner: ["owner", 15], manager: ["manager", 5], runner: ["task_runner", 1], guest: ["guest", 0] };
    for (const [who, [role, permissions]] of Object.entries(roles)) {
      t.deepEqual((await api(s, "GET", "/api/project/1/role", { token: tk[who]! })).json, { role, permissions }, who);
    }
    // run tasks: runner yes, guest no
    t.is((await api(s, "POST", "/api/project/1/tasks", { token: tk.runner!, body: { template_id: 1 } })).status, 201);
    t.is((await api(s, "POST", "/api/project/1/tasks/2147483646/stop", { token: tk.guest!, body: {} })).status, 403);
    t.is((await api(s, "POST", "/api/project/1/tasks/2147483646/confirm", { token: tk.guest! })).status, 403);
    // manage resources: manager yes, runner no
    t.is((await api(s, "POST", "/api/project/1/keys", { token: tk.manager!, body: { name: "m", type: "none" } })).status, 204);
    t.is((await api(s, "POST", "/api/project/1/keys", { token: tk.runner!, body: { name: "r", type: "none" } })).status, 403);
    // update project: owner only
    t.is((await api(s, "PUT", "/api/project/1", { token: tk.manager!, body: { id: 1, name: "Infra" } })).status, 403);
    // manage users: owner only
    t.is((await api(s, "POST", "/api/project/1/users", { token: tk.manager!, body: { user_id: s.users["outsider"]!.id, role: "guest" } })).status, 403);
    // runner: project 2 is invisible
    t.deepEqual(
      ((await api(s, "GET", "/api/projects", { token: tk.runner! })).json as { id: number }[]).map((p) => p.id),
      [1],
    );
    t.is((await api(s, "GET", "/api/project/2", { token: tk.runner! })).status, 404);
    t.is((await api(s, "GET", "/api/project/2/templates", { token: tk.runner! })).status, 404);
    t.is((await api(s, "POST", "/api/project/2/tasks", { token: tk.runner!, body: { template_id: 6 } })).status, 404);
    // outsider sees no project at all
    t.deepEqual((await api(s, "GET", "/api/projects", { token: tk.outsider! })).json, []);
    // admins see everything; a non-member admin gets role ""
    const p = s.createProject("Ownerless", { ownerUserId: null });
    t.deepEqual((await api(s, "GET", `/api/project/${p.id}/role`)).json, { role: "", permissions: 15 });
    t.is((await api(s, "GET", "/api/projects")).json.length, 3);
    // adding the outsider as guest makes project 1 visible to them
    t.is((await api(s, "POST", "/api/project/1/users", { token: tk.owner!, body: { user_id: s.users["outsider"]!.id, role: "guest" } })).status, 204);
    t.is((await api(s, "GET", "/api/project/1", { token: tk.outsider! })).status, 200);
  } finally {
    await s.stop();
  }
});

// ---- §3 error table -------------------------------------------------------------------------------------------------

test("§3: per-endpoint codes (missing task 400, missing template 404, unknown template 500, stop body, confirm, delete)", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 5 });
  try {
    const R = s.tokens.runner!;
    // task that does not exist in the project → 400 empty (not 404), also for a task of another project
    for (const path of ["/api/project/1/tasks/9999", "/api/project/1/tasks/9999/output"]) {
      const r = await api(s, "GET", path, { token: R });
      t.is(r.status, 400, path);
      t.is(r.text, "");
    }
    t.is((await api(s, "POST", "/api/project/1/tasks/9999/stop", { token: R, body: {} })).status, 400);
    const p2task = s.startTaskAs(2, 6, { userId: s.users["owner"]!.id });
    t.is((await api(s, "GET", `/api/project/1/tasks/${p2task.id}`)).status, 400, "task of another project");
    t.is((await api(s, "GET", "/api/project/1/tasks/abc")).status, 400);
    // template / inventory that does not exist → 404 empty
    for (const path of [
      "/api/project/1/templates/999",
      "/api/project/1/inventory/999",
      "/api/project/1/keys/999",
      "/api/project/1/environment/999",
      "/api/project/1/repositories/999",
      "/api/project/1/schedules/999",
      "/api/project/1/views/999",
    ]) {
      const r = await api(s, "GET", path, { token: R });
      t.is(r.status, 404, path);
      t.is(r.text, "", path);
    }
    // start with unknown template → 500 empty
    const unknownTpl = await api(s, "POST", "/api/project/1/tasks", { token: R, body: { template_id: 999 } });
    t.is(unknownTpl.status, 500);
    t.is(unknownTpl.text, "");
    t.is(unknownTpl.ctype, "application/json");
    // environment that is not valid JSON → 500 empty, and an `error` task row is created
    const before = (await api(s, "GET", "/api/project/1/tasks/last?limit=1")).json[0].id as number;
    const badEnv = await api(s, "POST", "/api/project/1/tasks", { token: R, body: { template_id: 1, environment: "not json" } });
    t.is(badEnv.status, 500);
    t.is(badEnv.text, "");
    const last = (await api(s, "GET", "/api/project/1/tasks/last?limit=1")).json[0];
    t.not(last.id, before);
    t.is(last.status, "error");
    t.is(last.environment, "not json");
    const errOut = (await api(s, "GET", `/api/project/1/tasks/${last.id}/output`)).json as { output: string }[];
    t.regex(errOut.map((o) => o.output).join("\n"), /^Error: invalid character 'o' /m);
    // stop needs a JSON body; {} is enough
    const task = (await api(s, "POST", "/api/project/1/tasks", { token: R, body: { template_id: 3 } })).json;
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { token: R })).status, 400);
    // delete of a queued/running task → 400; as a non-admin manager → 401
    t.is((await api(s, "DELETE", `/api/project/1/tasks/${task.id}`)).status, 400);
    t.is((await api(s, "DELETE", `/api/project/1/tasks/${task.id}`, { token: s.tokens.manager! })).status, 401);
    t.is((await api(s, "DELETE", `/api/project/1/tasks/${task.id}`, { token: R })).status, 403, "runner lacks manage");
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/stop`, { token: R, body: {} })).status, 204);
    await finished(s, 1, task.id);
    // confirm of a task that is not in the queue/running → 400
    t.is((await api(s, "POST", `/api/project/1/tasks/${task.id}/confirm`, { token: R })).status, 400);
    // an admin may delete a finished task (and its output)
    t.is((await api(s, "DELETE", `/api/project/1/tasks/${task.id}`)).status, 204);
    t.is((await api(s, "GET", `/api/project/1/tasks/${task.id}`)).status, 400);
    t.is((await api(s, "GET", `/api/project/1/tasks/${task.id}/output`)).status, 400);
  } finally {
    await s.stop();
  }
});

// ---- §5 JSON shapes ---------------------------------------------------------------------------------------------

test("§5: Project, User, info, project users", async (t) => {
  const projects = (await api(S, "GET", "/api/projects")).json as unknown[];
  t.is(projects.length, 2);
  for (const p of projects)
    shape(t, p, { id: "int", name: "string", created: "time", alert: "bool", alert_chat: "string|null", max_parallel_tasks: "int", type: "string" }, "Project");
  const p1 = (await api(S, "GET", "/api/project/1", { token: S.tokens.guest! })).json;
  t.is(p1.name, "Infrastructure");
  t.is(p1.type, "");

  const user = (await api(S, "GET", "/api/user", { token: S.tokens.runner! })).json;
  shape(
    t,
    user,
    {
      id: "int",
      created: "time",
      username: "string",
      name: "string",
      email: "string",
      admin: "bool",
      external: "bool",
      alert: "bool",
      can_create_project: "bool",
    },
    "User",
  );
  t.regex(user.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "users' created is second precision");
  t.false(user.can_create_project);
  t.false("password" in user);

  const info = (await api(S, "GET", "/api/info", { token: S.tokens.guest! })).json;
  shape(t, info, { ansible: "string", use_remote_runner: "bool", version: "string", web_host: "string" }, "info");
  t.is(info.version, DEFAULT_VERSION, "live form: no v");
  t.regex(info.ansible, /^ansible \[core [\d.]+\]\n/);

  const members = (await api(S, "GET", "/api/project/1/users", { token: S.tokens.guest! })).json as unknown[];
  for (const m of members) shape(t, m, { id: "int", username: "string", name: "string", role: "string" }, "ProjectUser");
  t.deepEqual(members.map((m) => (m as { role: string }).role).sort(), ["guest", "manager", "owner", "owner", "task_runner"]);
});

test("§5: Template (list: vaults null, item: vaults []), SurveyVar, last_task as TaskWithTpl", async (t) => {
  const list = (await api(S, "GET", "/api/project/1/templates", { token: S.tokens.runner! })).json as Record<string, any>[];
  t.is(list.length, 5);
  for (const tpl of list) {
    shape(t, tpl, TEMPLATE, `Template ${tpl.name}`);
    t.is(tpl.vaults, null, "vaults is null in list responses");
    if (tpl.last_task) shape(t, tpl.last_task, TASK_WITH_TPL, "last_task");
  }
  t.deepEqual(
    list.map((x) => x.name),
    ["Deploy web", "Run migrations", "Full backup", "Terraform apply", "Rotate certificates"],
    "in id order, like live",
  );
  const deploy = list.find((x) => x.name === "Deploy web")!;
  t.is(deploy.app, "ansible");
  t.is(deploy.type, "");
  t.truthy(deploy.description);
  t.is(typeof deploy.inventory_id, "number");
  t.is(deploy.last_task.status, "success");
  t.is(deploy.last_task.tpl_alias, "Deploy web");
  t.is(deploy.last_task.user_name, null, "live leaves user_name null in the list");
  t.is(list.find((x) => x.name === "Terraform apply")!.app, "terraform");
  t.is(list.find((x) => x.name === "Run migrations")!.last_task.status, "error");

  const rotate = list.find((x) => x.name === "Rotate certificates")!;
  t.is(rotate.last_task, null);
  t.is(rotate.survey_vars.length, 3);
  const sv: Record<string, string> = { name: "string", title: "string", required: "bool", type: "string", description: "string", values: "array|null" };
  for (const v of rotate.survey_vars) shape(t, v, sv, `SurveyVar ${v.name}`);
  t.deepEqual(
    rotate.survey_vars.map((v: { type: string }) => v.type),
    ["", "int", "enum"],
  );
  t.true(rotate.survey_vars[0].required);
  t.deepEqual(rotate.survey_vars[2].values, [
    { name: "Let's Encrypt", value: "letsencrypt" },
    { name: "Internal CA", value: "internal" },
  ]);
  t.is(deploy.survey_vars, null);

  const item = (await api(S, "GET", `/api/project/1/templates/${deploy.id}`, { token: S.tokens.guest! })).json;
  shape(t, item, TEMPLATE, "Template item");
  t.is(item.last_task.user_name, "ChatrixCD Bot", "the single GET fills user_name with the display name");
  t.deepEqual(item.vaults, []);
});

test("§4.3: template list sort and order", async (t) => {
  const names = async (q: string): Promise<string[]> => ((await api(S, "GET", `/api/project/1/templates${q}`)).json as { name: string }[]).map((x) => x.name);
  const byId = ((await api(S, "GET", "/api/project/1/templates")).json as { id: number }[]).map((x) => x.id);
  t.deepEqual(
    byId,
    [...byId].sort((a, b) => a - b),
    "no sort: by id, like live",
  );
  const byName = await names("?sort=name");
  t.deepEqual(byName, [...byName].sort());
  t.deepEqual(await names("?sort=name&order=desc"), [...byName].reverse());
  const byPlaybook = ((await api(S, "GET", "/api/project/1/templates?sort=playbook")).json as { playbook: string }[]).map((x) => x.playbook);
  t.deepEqual(byPlaybook, [...byPlaybook].sort());
  t.is(byPlaybook[0], "environments/production");
});

test("§5: Task (item: plain), TaskWithTpl (lists, newest first), TaskOutput", async (t) => {
  const list = (await api(S, "GET", "/api/project/1/tasks", { token: S.tokens.guest! })).json as Record<string, any>[];
  t.true(list.length >= 6);
  for (const x of list) shape(t, x, TASK_WITH_TPL, `TaskWithTpl ${x.id}`);
  const created = list.map((x) => Date.parse(x.created));
  t.deepEqual(
    created,
    [...created].sort((a, b) => b - a),
    "newest first",
  );
  const scheduled = list.find((x) => x.user_id === null)!;
  t.is(scheduled.user_name, null);
  t.is(scheduled.schedule_id, null, "v2.10 leaves schedule_id null on schedule-fired tasks");
  t.truthy(
    list.find((x) => x.status === "stopped"),
    "history has a stopped run",
  );

  const item = (await api(S, "GET", `/api/project/1/tasks/${list[0]!.id}`, { token: S.tokens.guest! })).json;
  shape(t, item, TASK, "Task item (no tpl_* extras)");
  t.is(item.secret, "");

  const deployRun = list.find((x) => x.tpl_alias === "Deploy web" && x.status === "success")!;
  t.regex(deployRun.commit_hash, /^[0-9a-f]{40}$/);
  t.truthy(deployRun.commit_message);
  t.true(Date.parse(deployRun.start) >= Date.parse(deployRun.created));
  t.true(Date.parse(deployRun.end) > Date.parse(deployRun.start));
  const out = (await api(S, "GET", `/api/project/1/tasks/${deployRun.id}/output`, { token: S.tokens.guest! })).json as Record<string, any>[];
  for (const o of out) shape(t, o, { task_id: "int", task: "string", time: "time", output: "string" }, "TaskOutput");
  t.true(out.every((o) => o.task === "" && o.task_id === deployRun.id));
  const times = out.map((o) => Date.parse(o.time));
  t.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
    "oldest first",
  );
  const lines = out.map((o) => o.output);
  t.deepEqual(lines.slice(0, 5), [
    `Task ${deployRun.id} added to queue`,
    `Started: ${deployRun.id}`,
    "Run TaskRunner with template: Deploy web\n",
    `Preparing: ${deployRun.id}`,
    "installing static inventory",
  ]);
  const text = lines.join("\n");
  t.regex(text, /PLAY \[Deploy web application\] \*+/);
  t.regex(text, /TASK \[Gathering Facts\]/);
  t.regex(text, /\x1b\[0;32mok: \[web1\]\x1b\[0m/);
  t.regex(text, /\x1b\[0;33mchanged: \[web2\]\x1b\[0m/);
  t.regex(text, /PLAY RECAP/);
  t.regex(text, /web1.* : .*ok=5.*changed=2.*unreachable=0 +failed=0 +.*skipped=1.*rescued=0 +ignored=0/);
  t.true(
    lines.filter((l) => l.startsWith("PLAY") || l.startsWith("TASK")).every((l) => l.length === 80),
    "banners are 80 columns",
  );
  t.false(lines.some((l) => l.startsWith("Running app failed")));

  const failed = list.find((x) => x.tpl_alias === "Run migrations")!;
  const failedLines = ((await api(S, "GET", `/api/project/1/tasks/${failed.id}/output`)).json as { output: string }[]).map((o) => o.output);
  t.regex(failedLines.join("\n"), /fatal: \[db1\]: FAILED! => \{/);
  t.regex(failedLines.join("\n"), /db1.*failed=1/);
  t.is(failedLines.at(-1), "Running app failed: exit status 2");
  const stopped = list.find((x) => x.status === "stopped")!;
  const stoppedLines = ((await api(S, "GET", `/api/project/1/tasks/${stopped.id}/output`)).json as { output: string }[]).map((o) => o.output);
  t.is(stoppedLines.at(-1), "Running app failed: signal: killed");
});

test("§5: Inventory, Environment, Repository, AccessKey (secrets blanked), View, Schedule, Event, refs", async (t) => {
  const G = S.tokens.guest!;
  const inv = (await api(S, "GET", "/api/project/1/inventory", { token: G })).json as Record<string, any>[];
  t.true(inv.length >= 3);
  for (const i of inv) {
    shape(
      t,
      i,
      {
        id: "int",
        name: "string",
        project_id: "int",
        inventory: "string",
        ssh_key_id: "int|null",
        become_key_id: "int|null",
        type: "string",
        holder_id: "int|null",
        repository_id: "int|null",
      },
      "Inventory",
    );
    t.true(["static", "static-yaml", "file", "terraform-workspace", "tofu-workspace"].includes(i.type));
  }
  t.regex(inv.find((i) => i.name === "Production")!.inventory, /\[web\]\nweb1/);

  const envs = (await api(S, "GET", "/api/project/1/environment", { token: G })).json as Record<string, any>[];
  for (const e of envs)
    shape(
      t,
      e,
      { id: "int", name: "string", project_id: "int", password: "string|null", json: "string", env: "string|null", secrets: "array|null" },
      "Environment",
    );
  t.is(envs.find((e) => e.name === "Empty")!.json, "{}");
  t.is(envs.find((e) => e.name === "Empty")!.secrets, null);
  const tfEnv = envs.find((e) => e.name === "Terraform production")!;
  t.is(tfEnv.secrets.length, 1);
  shape(t, tfEnv.secrets[0], { id: "int", type: "string", name: "string", secret: "string", operation: "string" }, "EnvironmentSecret");
  t.is(tfEnv.secrets[0].secret, "");

  const repos = (await api(S, "GET", "/api/project/1/repositories", { token: G })).json as unknown[];
  t.is(repos.length, 2);
  for (const r of repos)
    shape(t, r, { id: "int", name: "string", project_id: "int", git_url: "string", git_branch: "string", ssh_key_id: "int" }, "Repository");

  const keysRes = await api(S, "GET", "/api/project/1/keys", { token: G });
  const keys = keysRes.json as Record<string, any>[];
  t.is(keys.length, 4);
  for (const k of keys) {
    shape(
      t,
      k,
      { id: "int", name: "string", type: "string", project_id: "int", string: "string", login_password: "object", ssh: "object", override_secret: "bool" },
      "AccessKey",
    );
    t.deepEqual(k.login_password, { login: "", password: "" });
    t.deepEqual(k.ssh, { login: "", passphrase: "", private_key: "" });
    t.is(k.string, "");
  }
  t.deepEqual(keys.map((k) => k.type).sort(), ["login_password", "none", "ssh", "string"]);
  for (const secret of ["vault-demo-password", "AKIADEMO", "OPENSSH", "demo-secret"]) t.false(keysRes.text.includes(secret), `key list leaks ${secret}`);

  const views = (await api(S, "GET", "/api/project/1/views", { token: G })).json as Record<string, any>[];
  t.deepEqual(
    views.map((v) => v.title),
    ["Deploy", "Maintenance"],
  );
  for (const v of views) shape(t, v, { id: "int", project_id: "int", title: "string", position: "int" }, "View");
  const inView = (await api(S, "GET", `/api/project/1/views/${views[1]!.id}/templates`, { token: G })).json as { name: string }[];
  t.deepEqual(
    inView.map((x) => x.name),
    ["Full backup", "Rotate certificates"],
  );

  const schedules = (await api(S, "GET", "/api/project/1/schedules", { token: G })).json as Record<string, any>[];
  t.is(schedules.length, 1);
  shape(
    t,
    schedules[0],
    { id: "int", project_id: "int", template_id: "int", cron_format: "string", name: "string", active: "bool", repository_id: "int|null", tpl_name: "string" },
    "Schedule (list)",
  );
  t.is(schedules[0]!.tpl_name, "Full backup");
  const sched = (await api(S, "GET", `/api/project/1/schedules/${schedules[0]!.id}`, { token: G })).json;
  shape(
    t,
    sched,
    { id: "int", project_id: "int", template_id: "int", cron_format: "string", name: "string", active: "bool", repository_id: "int|null" },
    "Schedule",
  );

  const events = (await api(S, "GET", "/api/project/1/events/last", { token: G })).json as Record<string, any>[];
  t.true(events.length > 0);
  for (const e of events)
    shape(
      t,
      e,
      {
        user_id: "int|null",
        project_id: "int|null",
        integration_id: "int|null",
        object_id: "int|null",
        object_type: "string",
        description: "string",
        created: "time",
        object_name: "string",
        project_name: "string|null",
        username: "string|null",
      },
      "Event",
    );
  t.truthy(events.find((e) => /^Task ID \d+ \(Run migrations\) finished - ERROR$/.test(e.description)));
  t.truthy(events.find((e) => /^Task ID \d+ queued for running$/.test(e.description)));
  t.is(((await api(S, "GET", "/api/events/last", { token: S.tokens.outsider! })).json as unknown[]).length, 0, "outsider sees no project events");

  const refs = (await api(S, "GET", `/api/project/1/inventory/${inv.find((i) => i.name === "Production")!.id}/refs`, { token: G })).json;
  t.deepEqual(Object.keys(refs), ["templates", "inventories", "repositories", "integrations"]);
  t.is(refs.templates.length, 4);
});

test("§4.7: schedule cron validation with robfig's messages; create/active/delete", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1, schedules: false });
  try {
    const v = (cron: string): Promise<Res> => api(s, "POST", "/api/project/1/schedules/validate", { body: { cron_format: cron } });
    const bad = await v("bad cron");
    t.is(bad.status, 400);
    t.deepEqual(bad.json, { error: "Cron: expected exactly 5 fields, found 2: [bad cron]" });
    const good = await v("*/5 * * * 1-5");
    t.is(good.status, 200);
    t.is(good.text, "");
    t.is(good.ctype, "application/json");
    t.deepEqual((await v("61 * * * *")).json, { error: "Cron: end of range (61) above maximum (59): 61" });
    t.deepEqual((await v("* * * * * *")).json, { error: "Cron: expected exactly 5 fields, found 6: [* * * * * *]" });
    t.is((await v("@daily")).status, 200);
    t.is((await api(s, "POST", "/api/project/1/schedules/validate", { raw: "" })).status, 400);

    const badCreate = await api(s, "POST", "/api/project/1/schedules", { body: { template_id: 1, cron_format: "x", name: "n" } });
    t.is(badCreate.status, 400);
    t.deepEqual(badCreate.json, { error: "Cron: expected exactly 5 fields, found 1: [x]" });
    const created = await api(s, "POST", "/api/project/1/schedules", {
      body: { project_id: 1, template_id: 1, cron_format: "30 3 * * 1", name: "Weekly deploy", active: true },
    });
    t.is(created.status, 201);
    t.is(created.json.name, "Weekly deploy");
    t.is((await api(s, "PUT", `/api/project/1/schedules/${created.json.id}/active`, { body: { active: false } })).status, 204);
    t.false((await api(s, "GET", `/api/project/1/schedules/${created.json.id}`)).json.active);
    t.is(((await api(s, "GET", "/api/project/1/templates/1/schedules")).json as unknown[]).length, 1);
    t.is((await api(s, "DELETE", `/api/project/1/schedules/${created.json.id}`)).status, 204);
    t.is((await api(s, "GET", `/api/project/1/schedules/${created.json.id}`)).status, 404);
  } finally {
    await s.stop();
  }
});

test("§4.2/§4.3: create project (defaults), PUT id check, resources create codes (204/201) and validation", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1, seed: "empty" });
  try {
    t.deepEqual((await api(s, "GET", "/api/projects")).json, []);
    const p = await api(s, "POST", "/api/projects", { body: { name: "Ops", max_parallel_tasks: 2 } });
    t.is(p.status, 201);
    const id = p.json.id as number;
    t.is(p.json.max_parallel_tasks, 2);
    const keys = (await api(s, "GET", `/api/project/${id}/keys`)).json as { name: string; type: string }[];
    t.deepEqual(
      keys.map((k) => [k.name, k.type]),
      [["None", "none"]],
    );
    const envs = (await api(s, "GET", `/api/project/${id}/environment`)).json as { name: string; json: string }[];
    t.deepEqual(
      envs.map((e) => [e.name, e.json]),
      [["Empty", "{}"]],
    );
    t.deepEqual((await api(s, "GET", `/api/project/${id}/role`)).json, { role: "owner", permissions: 15 });
    const mismatch = await api(s, "PUT", `/api/project/${id}`, { body: { id: id + 1, name: "x" } });
    t.is(mismatch.status, 400);
    t.deepEqual(mismatch.json, { error: "Project ID in body and URL must be the same" });
    t.is((await api(s, "PUT", `/api/project/${id}`, { body: { id, name: "Ops 2" } })).status, 204);
    t.is((await api(s, "GET", `/api/project/${id}`)).json.name, "Ops 2");

    t.is((await api(s, "POST", `/api/project/${id}/repositories`, { body: { name: "r", git_url: "/srv/r", git_branch: "", ssh_key_id: 1 } })).text, "");
    const repo = ((await api(s, "GET", `/api/project/${id}/repositories`)).json as { id: number }[])[0]!;
    const inv = await api(s, "POST", `/api/project/${id}/inventory`, { body: { name: "hosts", type: "static", inventory: "[web]\nw1\n" } });
    t.is(inv.status, 201);
    t.is(inv.json.name, "hosts");
    t.is((await api(s, "POST", `/api/project/${id}/inventory`, { body: { name: "x", type: "bogus" } })).status, 400);
    t.is((await api(s, "POST", `/api/project/${id}/environment`, { body: { name: "E", json: "{nope" } })).json.error, "Extra variables must be valid JSON");
    t.is((await api(s, "POST", `/api/project/${id}/environment`, { body: { name: "E", json: "{}" } })).status, 204);
    const view = await api(s, "POST", `/api/project/${id}/views`, { body: { title: "Main", position: 0 } });
    t.is(view.status, 201);

    const base = { name: "Deploy", app: "ansible", playbook: "site.yml", repository_id: repo.id, inventory_id: inv.json.id };
    const noInv = await api(s, "POST", `/api/project/${id}/templates`, { body: { ...base, inventory_id: null } });
    t.deepEqual(noInv.json, { error: "template inventory can not be empty" });
    t.deepEqual((await api(s, "POST", `/api/project/${id}/templates`, { body: { ...base, name: "" } })).json, { error: "template name can not be empty" });
    t.deepEqual((await api(s, "POST", `/api/project/${id}/templates`, { body: { ...base, playbook: "" } })).json, {
      error: "template playbook can not be empty",
    });
    t.deepEqual((await api(s, "POST", `/api/project/${id}/templates`, { body: { ...base, arguments: "[oops" } })).json, {
      error: "template arguments must be valid JSON",
    });
    t.is(
      (await api(s, "POST", `/api/project/${id}/templates`, { body: { name: "TF", app: "terraform", repository_id: repo.id } })).status,
      201,
      "terraform needs no playbook",
    );
    const tpl = await api(s, "POST", `/api/project/${id}/templates`, { body: { ...base, view_id: view.json.id } });
    t.is(tpl.status, 201);
    shape(t, tpl.json, TEMPLATE, "created Template");
    // a template created over the API runs a generic playbook
    const task = await api(s, "POST", `/api/project/${id}/tasks`, { body: { template_id: tpl.json.id } });
    t.is(task.status, 201);
    s.tick();
    const done = await finished(s, id, task.json.id);
    t.is(done.status, "success");
    // referenced resources cannot be deleted
    t.is((await api(s, "DELETE", `/api/project/${id}/inventory/${inv.json.id}`)).status, 409);
    t.is((await api(s, "DELETE", `/api/project/${id}/templates/${tpl.json.id}`)).status, 204);
    t.is((await api(s, "DELETE", `/api/project/${id}`)).status, 204);
    t.is((await api(s, "GET", `/api/project/${id}`)).status, 404);
  } finally {
    await s.stop();
  }
});

test("§4.1: admin GET /api/tasks lists active tasks with location; DELETE /api/tasks/{id} stops one", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 5 });
  try {
    const a = s.startTaskAs(1, 3, { userId: s.users["runner"]!.id }); // Full backup: long
    const b = s.startTaskAs(1, 1, {});
    s.tick(); // a starts running, b stays queued
    const active = (await api(s, "GET", "/api/tasks")).json as Record<string, unknown>[];
    t.deepEqual(
      active.map((x) => [x["task_id"], x["location"]]).sort(),
      [
        [a.id, "running"],
        [b.id, "queue"],
      ].sort(),
    );
    const ra = active.find((x) => x["task_id"] === a.id)!;
    t.is(ra["username"], "chatrixcd");
    t.is(ra["project_name"], "Infrastructure");
    t.false("username" in active.find((x) => x["task_id"] === b.id)!, "optional fields are omitted when empty");
    t.is((await api(s, "DELETE", `/api/tasks/${a.id}`)).status, 204);
    const done = await finished(s, 1, a.id);
    t.is(done.status, "error", "a non-forced stop of a running task ends in error");
    t.is((await api(s, "DELETE", "/api/tasks/123456")).status, 204);
  } finally {
    await s.stop();
  }
});

test("§4.4: list cap 1000, tasks/last limit rule 1..200 (absent/invalid/<1/>200 → 200), template lists", async (t) => {
  const s = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1, seed: "empty" });
  try {
    const p = s.createProject("Busy");
    const tpl = s.addTemplate(p.id, { name: "noop", scenario: { lines: ["hi"] } });
    const other = s.addTemplate(p.id, { name: "other", scenario: { lines: ["hi"] } });
    for (let i = 0; i < 1003; i++) s.startTaskAs(p.id, tpl.id, { message: `run ${i}` });
    for (let i = 0; i < 3; i++) s.startTaskAs(p.id, other.id);
    const all = (await api(s, "GET", `/api/project/${p.id}/tasks`)).json as { message: string; template_id: number }[];
    t.is(all.length, 1000);
    t.is(all[3]!.message, "run 1002", "newest first");
    const n = async (q: string, path = `/api/project/${p.id}/tasks/last`): Promise<number> => ((await api(s, "GET", `${path}${q}`)).json as unknown[]).length;
    t.is(await n(""), 200);
    t.is(await n("?limit=7"), 7);
    t.is(await n("?limit=1"), 1);
    t.is(await n("?limit=200"), 200);
    t.is(await n("?limit=201"), 200);
    t.is(await n("?limit=0"), 200);
    t.is(await n("?limit=-3"), 200);
    t.is(await n("?limit=abc"), 200);
    t.is(await n("", `/api/project/${p.id}/templates/${other.id}/tasks`), 3);
    t.is(await n("?limit=2", `/api/project/${p.id}/templates/${other.id}/tasks/last`), 2);
    t.is(await n("", `/api/project/${p.id}/templates/${tpl.id}/tasks`), 1000);
    t.is(lastLimit(null), 200);
    t.is(lastLimit("50"), 50);
  } finally {
    await s.stop();
  }
});

// ---- internals ---------------------------------------------------------------------------------------------------

test("cron: parse errors and next fire times (UTC)", (t) => {
  t.deepEqual(parseCron(""), { ok: false, error: "empty spec string" });
  t.deepEqual(parseCron("1-2-3 * * * *"), { ok: false, error: "too many hyphens: 1-2-3" });
  t.deepEqual(parseCron("x * * * *"), { ok: false, error: 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax' });
  t.deepEqual(parseCron("5-1 * * * *"), { ok: false, error: "beginning of range (5) beyond end of range (1): 5-1" });
  t.deepEqual(parseCron("*/0 * * * *"), { ok: false, error: "step of range should be a positive number: */0" });
  t.deepEqual(parseCron("@often"), { ok: false, error: "unrecognized descriptor: @often" });
  t.true(parseCron("0 9 * JAN-MAR mon-fri").ok);
  const daily = parseCron("0 2 * * *");
  if (!daily.ok) return t.fail();
  const from = Date.UTC(2026, 10, 26, 16, 45);
  t.is(new Date(nextFire(daily.schedule, from)!).toISOString(), "2026-11-27T02:00:00.000Z");
  const weekdays = parseCron("30 8 * * 1-5");
  if (!weekdays.ok) return t.fail();
  t.is(new Date(nextFire(weekdays.schedule, Date.UTC(2026, 10, 27, 9, 0))!).toISOString(), "2026-11-30T08:30:00.000Z", "Friday → Monday");
  const every = parseCron("@every 90s");
  if (!every.ok) return t.fail();
  t.is(nextFire(every.schedule, 1000, 0), 90_000);
});
