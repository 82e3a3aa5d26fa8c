// Tests of the Semaphore REST client against a tiny local HTTP stub (no mock library): error kinds, retries,
// concurrency, token hygiene, normalisation, start-body shapes by server version, stop/reject quirks, path prefix.
import type { ExecutionContext } from "ava";
import test from "ava";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import {
  SemaphoreClient,
  apiShapeForVersion,
  buildStartTaskBody,
  parseSemaphoreVersion,
  type RequestInfo,
  type SemaphoreClientOptions,
} from "../src/semaphore/client.js";
import { SemaphoreError } from "../src/semaphore/errors.js";
import { isTerminalStatus, normalizeTask, normalizeTemplate, normalizeWsFrame, parseWsFrame } from "../src/semaphore/types.js";

const TOKEN = "kwofd61g93-yuqvex8efmhjkgnbxlo8mp1tin6spyhu=";

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = { status: number; body?: unknown; raw?: string; type?: string; headers?: Record<string, string>; delayMs?: number } | "stall";

interface Stub {
  url: string;
  seen: Seen[];
  maxInFlight: number;
  close(): Promise<void>;
}

async function stub(route: (r: Seen) => Reply | Promise<Reply>): Promise<Stub> {
  const seen: Seen[] = [];
  let inFlight = 0;
  const s: Stub = { url: "", seen, maxInFlight: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, inFlight);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        inFlight--;
      }
    };
    res.on("finish", finish);
    res.on("close", finish);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on(
      "end",
      () =>
        void (async () => {
          const r: Seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
          seen.push(r);
          const reply = await route(r);
          if (reply === "stall") return; // never answer
          if (reply.delayMs) await new Promise((ok) => setTimeout(ok, reply.delayMs));
          const text = reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body));
          res.writeHead(reply.status, { "Content-Type": reply.type ?? "application/json", ...reply.headers });
          res.end(text);
        })(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  s.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return s;
}

function client(url: string, extra: Partial<SemaphoreClientOptions> = {}): SemaphoreClient {
  return new SemaphoreClient({ url, token: TOKEN, retryDelayMs: 1, timeoutMs: 2000, ...extra });
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

function assertNoToken(t: ExecutionContext, e: SemaphoreError): void {
  for (const text of [e.message, e.userMessage(), String(e), e.serverMessage ?? "", e.detail ?? "", inspect(e, { depth: 6 })]) {
    t.false(text.toLowerCase().includes(TOKEN.toLowerCase()), `token leaked in: ${text.slice(0, 200)}`);
  }
}

const fullTask = {
  id: 2147483646,
  template_id: 1,
  project_id: 1,
  status: "waiting",
  debug: false,
  dry_run: false,
  diff: false,
  playbook: "",
  environment: '{"who":"world"}',
  limit: "",
  secret: "{}",
  arguments: '["--extra"]',
  git_branch: null,
  user_id: 1,
  integration_id: null,
  schedule_id: null,
  created: "2026-11-26T16:45:54.144576203Z",
  start: null,
  end: null,
  message: "run from chat",
  commit_hash: null,
  commit_message: "",
  build_task_id: null,
  version: null,
  inventory_id: null,
};

// ---------------------------------------------------------------------------------------------------------------
// Error kinds

test("refused port → unreachable, retried for GET, clear message", async (t) => {
  const probe = net.createServer();
  await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((ok) => probe.close(() => ok()));
  const attempts: RequestInfo[] = [];
  const c = client(`http://127.0.0.1:${port}`, { retries: 2, onRequest: (i) => attempts.push(i) });
  const e = await failure(c.projects());
  t.is(e.kind, "unreachable");
  t.is(e.detail, "ECONNREFUSED");
  t.is(e.status, undefined);
  t.regex(e.userMessage(), /Can't reach Semaphore at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Check \[semaphore\] url/);
  t.is(attempts.length, 3);
  t.deepEqual(
    attempts.map((a) => a.error),
    ["unreachable", "unreachable", "unreachable"],
  );
  assertNoToken(t, e);
});

test("stalled server → timeout (POST message warns the action may have happened)", async (t) => {
  const s = await stub(() => "stall");
  t.teardown(() => s.close());
  const c = client(s.url, { timeoutMs: 150, retries: 0 });
  const e = await failure(c.user());
  t.is(e.kind, "timeout");
  t.regex(e.userMessage(), /did not answer GET \/api\/user within 150 ms/);
  const e2 = await failure(c.stopTask(1, 5));
  t.is(e2.kind, "timeout");
  t.regex(e2.userMessage(), /may still have happened/);
});

test("401 → unauthorized with the config hint", async (t) => {
  const s = await stub(() => ({ status: 401 }));
  t.teardown(() => s.close());
  const e = await failure(client(s.url).projects());
  t.is(e.kind, "unauthorized");
  t.is(e.status, 401);
  t.is(e.method, "GET");
  t.is(e.path, "/api/projects");
  t.is(e.userMessage(), "Semaphore rejected the API token (401). Check [semaphore] api_token (it may be expired or deleted).");
  t.is(s.seen.length, 1, "401 is not retried");
});

test("403 → forbidden", async (t) => {
  const s = await stub(() => ({ status: 403 }));
  t.teardown(() => s.close());
  const e = await failure(client(s.url).stopTask(3, 9, true));
  t.is(e.kind, "forbidden");
  t.is(e.status, 403);
  t.regex(e.userMessage(), /refused POST \/api\/project\/3\/tasks\/9\/stop \(403\).*permission/);
});

test("404 → not_found (existence hidden)", async (t) => {
  const s = await stub(() => ({ status: 404 }));
  t.teardown(() => s.close());
  const e = await failure(client(s.url).project(7));
  t.is(e.kind, "not_found");
  t.is(e.status, 404);
  t.regex(e.userMessage(), /404 for GET \/api\/project\/7: it doesn't exist, or the token's user is not a member/);
  t.is(s.seen.length, 1, "404 is not retried");
});

test("400 with {error} shows the server's message; empty 400 says there was no reason", async (t) => {
  const s = await stub((r) => (r.url.includes("/project/1/") ? { status: 400, body: { error: "Invalid project ID" } } : { status: 400 }));
  t.teardown(() => s.close());
  const c = client(s.url);
  const e = await failure(c.templates(1));
  t.is(e.kind, "bad_request");
  t.is(e.serverMessage, "Invalid project ID");
  t.is(e.userMessage(), `Semaphore rejected GET /api/project/1/templates (400): "Invalid project ID".`);
  const e2 = await failure(c.task(2, 44));
  t.is(e2.kind, "bad_request");
  t.is(e2.serverMessage, undefined);
  t.regex(e2.userMessage(), /\(400\) without a reason — usually the task doesn't exist/);
});

test("500 → server, GET retried `retries` times, POST never", async (t) => {
  const s = await stub((r) => (r.url === "/api/info" ? { status: 200, body: { version: "v2.10.32" } } : { status: 500 }));
  t.teardown(() => s.close());
  const c = client(s.url, { retries: 3 });
  const e = await failure(c.templates(1));
  t.is(e.kind, "server");
  t.is(e.status, 500);
  t.is(s.seen.filter((r) => r.method === "GET" && r.url === "/api/project/1/templates").length, 4);
  const e2 = await failure(c.startTask(1, { templateId: 99 }));
  t.is(e2.kind, "server");
  t.is(s.seen.filter((r) => r.method === "POST").length, 1, "POST is not retried");
  t.regex(e2.userMessage(), /failed with HTTP 500 starting the task/);
  const e3 = await failure(c.stopTask(1, 2));
  t.is(e3.kind, "server");
  t.is(s.seen.filter((r) => r.method === "POST").length, 2, "stop is not retried either");
});

test("GET retry recovers after transient 502", async (t) => {
  let n = 0;
  const s = await stub(() => (++n < 3 ? { status: 502, body: undefined } : { status: 200, body: [] }));
  t.teardown(() => s.close());
  const attempts: RequestInfo[] = [];
  const res = await client(s.url, { onRequest: (i) => attempts.push(i) }).projects();
  t.deepEqual(res, []);
  t.is(s.seen.length, 3);
  t.deepEqual(
    attempts.map((a) => [a.attempt, a.status, a.error]),
    [
      [0, 502, "server"],
      [1, 502, "server"],
      [2, 200, undefined],
    ],
  );
});

test("proxy HTML 502 page → not_json naming the page title", async (t) => {
  const html =
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
  const s = await stub(() => ({ status: 502, raw: html, type: "text/html" }));
  t.teardown(() => s.close());
  const e = await failure(client(s.url, { retries: 1 }).projects());
  t.is(e.kind, "not_json");
  t.is(e.status, 502);
  t.is(e.serverMessage, "502 Bad Gateway");
  t.regex(e.userMessage(), /HTML page instead of Semaphore's JSON .*HTTP 502, "502 Bad Gateway".*proxy/);
  t.is(s.seen.length, 2, "not_json is retried for GET");
});

test("HTML on 200 (wrong URL, a web page) → not_json", async (t) => {
  const s = await stub(() => ({ status: 200, raw: "<!DOCTYPE html><html><head><title>Welcome</title></head></html>", type: "text/html; charset=utf-8" }));
  t.teardown(() => s.close());
  const e = await failure(client(s.url, { retries: 0 }).projects());
  t.is(e.kind, "not_json");
  t.is(e.serverMessage, "Welcome");
});

test("invalid JSON → not_json", async (t) => {
  const s = await stub(() => ({ status: 200, raw: '[{"id":1,', type: "application/json" }));
  t.teardown(() => s.close());
  const e = await failure(client(s.url, { retries: 0 }).projects());
  t.is(e.kind, "not_json");
  t.is(e.detail, "invalid JSON");
  t.regex(e.userMessage(), /was not valid JSON/);
});

test("wrong shape → bad_reply (with the request and what was wrong)", async (t) => {
  const s = await stub((r) => {
    if (r.url === "/api/projects") return { status: 200, body: { projects: [] } };
    if (r.url === "/api/project/1/tasks/5") return { status: 200, body: { id: 5 } };
    if (r.url === "/api/project/1/tasks/6") return { status: 200, body: { id: "6", status: "waiting" } };
    if (r.url === "/api/project/1/templates") return { status: 200, body: [{ id: 1, name: "ok" }, { id: 2 }] };
    return { status: 200 }; // empty body with JSON type where JSON is required
  });
  t.teardown(() => s.close());
  const c = client(s.url);
  const e1 = await failure(c.projects());
  t.is(e1.kind, "bad_reply");
  t.is(e1.path, "/api/projects");
  t.regex(e1.userMessage(), /reply to GET \/api\/projects didn't have the expected shape \(expected a list of projects/);
  const e2 = await failure(c.task(1, 5));
  t.is(e2.kind, "bad_reply");
  t.regex(e2.detail ?? "", /task\.status is missing/);
  const e3 = await failure(c.task(1, 6));
  t.is(e3.kind, "bad_reply");
  t.regex(e3.detail ?? "", /task\.id is "6", not an integer/);
  const e4 = await failure(c.templates(1));
  t.is(e4.kind, "bad_reply");
  t.regex(e4.detail ?? "", /template\[1\]\.name is missing/);
  const e5 = await failure(c.user());
  t.is(e5.kind, "bad_reply");
  t.regex(e5.detail ?? "", /empty reply/);
  t.is(s.seen.filter((r) => r.url === "/api/projects").length, 1, "bad_reply is not retried");
});

test("redirects are reported, not followed", async (t) => {
  const s = await stub(() => ({ status: 301, headers: { Location: "https://semaphore.example.org/api/projects" } }));
  t.teardown(() => s.close());
  const e = await failure(client(s.url).projects());
  t.is(e.kind, "not_json");
  t.is(e.status, 301);
  t.is(s.seen.length, 1, "a redirect is not retried");
  t.regex(e.userMessage(), /redirects \(HTTP 301 to https:\/\/semaphore\.example\.org\/api\/projects\)\. Set \[semaphore\] url/);
});

test("invalid ids are refused before any request", async (t) => {
  const s = await stub(() => ({ status: 200, body: [] }));
  t.teardown(() => s.close());
  const c = client(s.url);
  const e = await failure(c.templates(Number.NaN));
  t.is(e.kind, "bad_request");
  t.regex(e.userMessage(), /Invalid project id/);
  await failure(c.task(1, -3));
  t.is(s.seen.length, 0);
});

// ---------------------------------------------------------------------------------------------------------------
// Concurrency and token hygiene

test("at most maxConcurrent requests are in flight", async (t) => {
  const s = await stub(() => ({ status: 200, body: [], delayMs: 40 }));
  t.teardown(() => s.close());
  const c = client(s.url, { maxConcurrent: 2 });
  const results = await Promise.all(Array.from({ length: 9 }, (_, i) => c.templates(i + 1)));
  t.is(results.length, 9);
  t.is(s.seen.length, 9);
  t.is(s.maxInFlight, 2, "bound reached but never exceeded");
  const c1 = client(s.url, { maxConcurrent: 1 });
  const s1max = s.maxInFlight;
  s.maxInFlight = 0;
  await Promise.all([c1.projects(), c1.projects(), c1.projects()]);
  t.is(s.maxInFlight, 1);
  t.true(s1max >= 1);
});

test("the token is sent as a bearer header and never appears in errors or onRequest", async (t) => {
  const s = await stub((r) => {
    if (r.url === "/api/projects") return { status: 400, body: { error: `token ${TOKEN.toUpperCase()} is not valid for ${TOKEN}` } };
    if (r.url === "/api/user") return { status: 502, raw: `<html><title>Denied ${TOKEN}</title></html>`, type: "text/html" };
    return { status: 200, raw: `not json ${TOKEN}`, type: "text/plain" };
  });
  t.teardown(() => s.close());
  const infos: RequestInfo[] = [];
  const c = client(s.url, { retries: 0, onRequest: (i) => infos.push(i) });
  const e1 = await failure(c.projects());
  t.is(e1.serverMessage, "token ‹redacted› is not valid for ‹redacted›");
  assertNoToken(t, e1);
  const e2 = await failure(c.user());
  t.is(e2.serverMessage, "Denied ‹redacted›");
  assertNoToken(t, e2);
  const e3 = await failure(c.info());
  t.is(e3.kind, "not_json");
  assertNoToken(t, e3);
  t.is(s.seen[0]!.headers.authorization, `Bearer ${TOKEN}`);
  t.is(infos.length, 3);
  t.false(JSON.stringify(infos).includes(TOKEN));
  t.deepEqual(c.authHeaders(), { Authorization: `Bearer ${TOKEN}` });
});

// ---------------------------------------------------------------------------------------------------------------
// Normalisation

test("absent and null fields are normalised alike (v2.10 nulls vs later omitempty)", async (t) => {
  const v210 = { ...fullTask, id: 10, environment: "", message: "", secret: "", arguments: null, user_id: null };
  const later: Record<string, unknown> = {
    id: 11,
    template_id: 1,
    project_id: 1,
    status: "waiting",
    playbook: "",
    created: fullTask.created,
    limit: "",
    params: null,
  };
  const s = await stub((r) => ({ status: 200, body: r.url.endsWith("/10") ? v210 : later }));
  t.teardown(() => s.close());
  const c = client(s.url);
  const a = await c.task(1, 10);
  const b = await c.task(1, 11);
  t.deepEqual({ ...a, id: 0 }, { ...b, id: 0 });
  t.is(b.start, null);
  t.is(b.user_id, null);
  t.is(b.arguments, null);
  t.is(b.message, "");
  t.false(b.debug);

  const tplNulls = { id: 1, project_id: 1, name: "Deploy", survey_vars: null, vaults: null, description: null, last_task: null, view_id: null, app: "" };
  const tplAbsent = { id: 1, project_id: 1, name: "Deploy" };
  t.deepEqual(normalizeTemplate(tplNulls), normalizeTemplate(tplAbsent));
  t.deepEqual(normalizeTemplate(tplAbsent).survey_vars, []);
  t.is(normalizeTemplate(tplAbsent).app, "ansible");
  t.false(normalizeTemplate(tplAbsent).allow_override_args_in_task);
});

test("later servers' params object feeds debug/dry_run/diff/limit", (t) => {
  const task = normalizeTask({ id: 3, status: "running", params: { debug: true, dry_run: true, diff: false, limit: ["web1", "db"] } });
  t.true(task.debug);
  t.true(task.dry_run);
  t.false(task.diff);
  t.is(task.limit, "web1,db");
  t.deepEqual(task.params, { debug: true, dry_run: true, diff: false, limit: ["web1", "db"] });
});

test("huge descending BoltDB ids stay exact and in server order", async (t) => {
  const list = [2147483646, 2147483645, 2147483644].map((id) => ({
    ...fullTask,
    id,
    tpl_alias: "Hello",
    tpl_playbook: "hello.sh",
    user_name: null,
    build_task: null,
  }));
  const s = await stub((r) => (r.url.startsWith("/api/project/1/tasks/2147483646") ? { status: 200, body: fullTask } : { status: 200, body: list }));
  t.teardown(() => s.close());
  const c = client(s.url);
  const tasks = await c.lastTasks(1, 3);
  t.deepEqual(
    tasks.map((x) => x.id),
    [2147483646, 2147483645, 2147483644],
  );
  t.is(tasks[0]!.tpl_alias, "Hello");
  t.is(s.seen[0]!.url, "/api/project/1/tasks/last?limit=3");
  const one = await c.task(1, 2147483646);
  t.is(one.id, 2147483646);
  t.is(s.seen[1]!.url, "/api/project/1/tasks/2147483646");
});

test("list/limit routes: lastTasks clamps to 200", async (t) => {
  const s = await stub(() => ({ status: 200, body: [] }));
  t.teardown(() => s.close());
  const c = client(s.url);
  await c.lastTasks(2);
  await c.lastTasks(2, 5000);
  await c.lastTasks(2, 0);
  t.deepEqual(
    s.seen.map((r) => r.url),
    ["/api/project/2/tasks/last", "/api/project/2/tasks/last?limit=200", "/api/project/2/tasks/last?limit=1"],
  );
});

test("websocket frames: log/update normalised, unknown types skipped, garbage rejected", (t) => {
  t.deepEqual(parseWsFrame(Buffer.from(JSON.stringify({ type: "log", task_id: 7, project_id: 1, time: "t", output: "hello" }))), {
    type: "log",
    task_id: 7,
    project_id: 1,
    time: "t",
    output: "hello",
  });
  t.deepEqual(normalizeWsFrame({ type: "update", task_id: 7, project_id: 1, template_id: 2, status: "success" }), {
    type: "update",
    task_id: 7,
    project_id: 1,
    template_id: 2,
    status: "success",
    start: null,
    end: null,
    version: null,
  });
  t.is(normalizeWsFrame({ type: "presence", task_id: 1 }), null);
  t.is(t.throws(() => parseWsFrame("{oops"), { instanceOf: SemaphoreError })?.kind, "not_json");
  t.is(t.throws(() => normalizeWsFrame({ type: "update", task_id: 7 }), { instanceOf: SemaphoreError })?.kind, "bad_reply");
});

test("terminal statuses", (t) => {
  t.deepEqual(["waiting", "starting", "waiting_confirmation", "confirmed", "running", "stopping", "something_new"].filter(isTerminalStatus), []);
  t.deepEqual(["stopped", "success", "error", "rejected"].filter(isTerminalStatus), ["stopped", "success", "error", "rejected"]);
});

// ---------------------------------------------------------------------------------------------------------------
// Start-task body shapes

test("version parsing", (t) => {
  t.like(parseSemaphoreVersion("v2.10.32-31-gd4a2713"), { major: 2, minor: 10, patch: 32, suffix: "31-gd4a2713" });
  t.like(parseSemaphoreVersion("2.16.14"), { major: 2, minor: 16, patch: 14, suffix: "" });
  t.like(parseSemaphoreVersion("v2.17.0-beta"), { major: 2, minor: 17, patch: 0, suffix: "beta" });
  t.is(parseSemaphoreVersion("develop"), null);
  t.is(parseSemaphoreVersion(""), null);
  t.is(apiShapeForVersion("v2.10.32-31-gd4a2713"), "flat");
  t.is(apiShapeForVersion("v2.9.112"), "flat");
  t.is(apiShapeForVersion("2.13.0-75ffe9c-1742166024"), "params");
  t.is(apiShapeForVersion("2.16.14"), "params");
  t.is(apiShapeForVersion("v2.17.0-beta"), "params");
  t.is(apiShapeForVersion("v3.0.0"), "params");
  t.is(apiShapeForVersion("nightly"), null);
});

function startServer(version: string, opts: { allowArgs?: boolean } = {}) {
  return stub((r) => {
    if (r.url === "/api/info") return { status: 200, body: { version, ansible: "", web_host: "", use_remote_runner: false } };
    if (r.method === "GET" && /\/templates\/\d+$/.test(r.url)) {
      return { status: 200, body: { id: 4, project_id: 1, name: "Deploy", allow_override_args_in_task: opts.allowArgs ?? false } };
    }
    if (r.method === "POST" && r.url === "/api/project/1/tasks") return { status: 201, body: { ...fullTask, id: 77 } };
    return { status: 404 };
  });
}

const fullReq = {
  templateId: 4,
  debug: true,
  dryRun: true,
  diff: true,
  limit: ["web1", "db"],
  tags: ["a", "b"],
  skipTags: ["slow"],
  extraArgs: ["--forks=2"],
  environment: { who: "world", n: 3 },
  gitBranch: "main",
  message: "from chat",
  inventoryId: 9,
  playbook: "site.yml",
};

test("v2.10 server → flat body (strings for environment/arguments, tags as CLI args)", async (t) => {
  const s = await startServer("v2.10.32-31-gd4a2713", { allowArgs: true });
  t.teardown(() => s.close());
  const c = client(s.url);
  t.is(await c.apiShape(), "flat");
  const task = await c.startTask(1, fullReq);
  t.is(task.id, 77);
  const post = s.seen.find((r) => r.method === "POST")!;
  t.is(post.headers["content-type"], "application/json");
  t.deepEqual(JSON.parse(post.body), {
    template_id: 4,
    debug: true,
    dry_run: true,
    diff: true,
    limit: "web1,db",
    environment: '{"who":"world","n":3}',
    arguments: '["--tags=a,b","--skip-tags=slow","--forks=2"]',
    git_branch: "main",
    message: "from chat",
    inventory_id: 9,
    playbook: "site.yml",
  });
  await c.startTask(1, { templateId: 4 });
  t.is(s.seen.filter((r) => r.url === "/api/info").length, 1, "version cached");
  t.deepEqual(JSON.parse(s.seen.filter((r) => r.method === "POST")[1]!.body), { template_id: 4, debug: false, dry_run: false, diff: false });
});

for (const version of ["2.16.14", "v2.17.0-beta", "2.13.0-75ffe9c-1742166024"]) {
  test(`${version} server → params body`, async (t) => {
    const s = await startServer(version, { allowArgs: true });
    t.teardown(() => s.close());
    const c = client(s.url);
    await c.startTask(1, fullReq);
    const post = s.seen.find((r) => r.method === "POST")!;
    t.deepEqual(JSON.parse(post.body), {
      template_id: 4,
      params: { debug: true, dry_run: true, diff: true, limit: ["web1", "db"], tags: ["a", "b"], skip_tags: ["slow"] },
      limit: "web1,db",
      environment: '{"who":"world","n":3}',
      arguments: '["--forks=2"]',
      git_branch: "main",
      message: "from chat",
      inventory_id: 9,
      playbook: "site.yml",
    });
    t.is(await c.apiShape(), "params");
  });
}

test("params shape: tags alone need no template check", async (t) => {
  const s = await startServer("2.16.14");
  t.teardown(() => s.close());
  await client(s.url).startTask(1, { templateId: 4, tags: ["x"] });
  t.false(s.seen.some((r) => r.url.includes("/templates/")));
  t.deepEqual(JSON.parse(s.seen.find((r) => r.method === "POST")!.body).params, { debug: false, dry_run: false, diff: false, tags: ["x"] });
});

test("unknown version → flat with one warning; re-probe after a failed start", async (t) => {
  let version = "nightly";
  let fail = false;
  const s = await stub((r) => {
    if (r.url === "/api/info") return { status: 200, body: { version } };
    if (r.method === "POST") return fail ? { status: 400 } : { status: 201, body: { ...fullTask, id: 5 } };
    return { status: 404 };
  });
  t.teardown(() => s.close());
  const warnings: string[] = [];
  const c = client(s.url, { onWarning: (m) => warnings.push(m) });
  t.is(await c.apiShape(), "flat");
  t.is(await c.apiShape(), "flat");
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /"nightly".*v2\.10 form/);
  t.is(s.seen.filter((r) => r.url === "/api/info").length, 1);
  fail = true;
  version = "v2.15.3";
  await failure(c.startTask(1, { templateId: 1 }));
  fail = false;
  await c.startTask(1, { templateId: 1, dryRun: true });
  t.is(s.seen.filter((r) => r.url === "/api/info").length, 2, "asked again after the error");
  t.deepEqual(JSON.parse(s.seen.filter((r) => r.method === "POST").at(-1)!.body), { template_id: 1, params: { debug: false, dry_run: true, diff: false } });
  t.is(warnings.length, 1);
});

test("args/tags on v2.10 with a template that ignores CLI args → unsupported, nothing started", async (t) => {
  const s = await startServer("v2.10.32", { allowArgs: false });
  t.teardown(() => s.close());
  const e = await failure(client(s.url).startTask(1, { templateId: 4, tags: ["web"] }));
  t.is(e.kind, "unsupported");
  t.regex(e.userMessage(), /Template "Deploy" doesn't accept tags\/skip-tags.*allow_override_args_in_task/);
  t.false(s.seen.some((r) => r.method === "POST"));
});

test("buildStartTaskBody omits what wasn't asked for", (t) => {
  t.deepEqual(buildStartTaskBody({ templateId: 1, limit: [" ", ""], environment: {} }, "params"), {
    template_id: 1,
    params: { debug: false, dry_run: false, diff: false },
  });
  t.deepEqual(buildStartTaskBody({ templateId: 1, skipTags: ["s"] }, "flat").arguments, '["--skip-tags=s"]');
});

// ---------------------------------------------------------------------------------------------------------------
// stop / confirm / reject

test("stop always sends a JSON body ({} or {force:true}); 204 with JSON type and empty body is fine", async (t) => {
  const s = await stub(() => ({ status: 204 }));
  t.teardown(() => s.close());
  const c = client(s.url);
  await c.stopTask(1, 2147483646);
  await c.stopTask(1, 2147483646, true);
  await c.confirmTask(1, 5);
  t.deepEqual(
    s.seen.map((r) => [r.method, r.url, r.headers["content-type"], r.body]),
    [
      ["POST", "/api/project/1/tasks/2147483646/stop", "application/json", "{}"],
      ["POST", "/api/project/1/tasks/2147483646/stop", "application/json", '{"force":true}'],
      ["POST", "/api/project/1/tasks/5/confirm", "application/json", "{}"],
    ],
  );
});

test("rejectTask on a v2.10 server (no route) → unsupported", async (t) => {
  const s = await stub((r) => {
    if (r.url === "/api/info") return { status: 200, body: { version: "v2.10.32-31-gd4a2713" } };
    if (r.url.endsWith("/reject")) return { status: 404, raw: "404 page not found\n", type: "text/plain; charset=utf-8" };
    return { status: 404 };
  });
  t.teardown(() => s.close());
  const e = await failure(client(s.url).rejectTask(1, 5));
  t.is(e.kind, "unsupported");
  t.is(e.status, 404);
  t.regex(e.userMessage(), /can't reject tasks — that arrived after v2\.10\. Stop the task instead/);
});

test("rejectTask: JSON 404 from a known-old server → unsupported; on a modern server 204 ok, 400 stays bad_request", async (t) => {
  let version = "v2.10.28";
  let reply: { status: number } = { status: 404 };
  const s = await stub((r) => (r.url === "/api/info" ? { status: 200, body: { version } } : reply));
  t.teardown(() => s.close());
  const old = client(s.url);
  const e = await failure(old.rejectTask(1, 5));
  t.is(e.kind, "unsupported");
  t.regex(e.userMessage(), /\(v2\.10\.28\)/);

  version = "2.16.14";
  const modern = client(s.url);
  reply = { status: 204 };
  await modern.rejectTask(1, 5);
  reply = { status: 400 };
  const e2 = await failure(modern.rejectTask(1, 5));
  t.is(e2.kind, "bad_request");
  reply = { status: 404 };
  const e3 = await failure(modern.rejectTask(1, 5));
  t.is(e3.kind, "not_found");
  t.deepEqual(
    s.seen.filter((r) => r.url.endsWith("/reject")).map((r) => r.body),
    ["{}", "{}", "{}", "{}"],
  );
});

// ---------------------------------------------------------------------------------------------------------------
// URLs

test("base URL with a path prefix and trailing slash", async (t) => {
  const s = await stub((r) => {
    if (r.url === "/semaphore/api/ping") return { status: 200, raw: "pong", type: "text/plain; charset=utf-8" };
    if (r.url === "/semaphore/api/projects")
      return { status: 200, body: [{ id: 1, name: "Ops", created: "2026-01-01T00:00:00Z", alert: false, alert_chat: null, max_parallel_tasks: 0, type: "" }] };
    return { status: 404, raw: "Not Found", type: "text/plain" };
  });
  t.teardown(() => s.close());
  const c = client(`${s.url}/semaphore/`);
  t.true((await c.ping()) >= 0);
  t.is(s.seen[0]!.headers.authorization, undefined, "ping needs no token");
  const projects = await c.projects();
  t.deepEqual(projects, [{ id: 1, name: "Ops", created: "2026-01-01T00:00:00Z", alert: false, alert_chat: null, max_parallel_tasks: 0, type: "" }]);
  t.deepEqual(
    s.seen.map((r) => r.url),
    ["/semaphore/api/ping", "/semaphore/api/projects"],
  );
  t.is(c.baseUrl, `${s.url}/semaphore`);
  t.is(c.websocketUrl(), `${s.url.replace("http:", "ws:")}/semaphore/api/ws`);
  t.is(new SemaphoreClient({ url: "https://sem.example.org", token: "x" }).websocketUrl(), "wss://sem.example.org/api/ws");
  const e = await failure(c.template(1, 2));
  t.is(e.kind, "not_found");
  t.regex(e.userMessage(), /no API route GET \/api\/project\/1\/templates\/2/);
});

test("constructor rejects unusable URLs and options", (t) => {
  t.throws(() => new SemaphoreClient({ url: "semaphore.example.org", token: "x" }), { message: /not a valid URL/ });
  t.throws(() => new SemaphoreClient({ url: "ftp://semaphore.example.org", token: "x" }), { message: /http:\/\/ or https:\/\// });
  t.throws(() => new SemaphoreClient({ url: "https://u:p@semaphore.example.org", token: "x" }), { message: /must not contain user:password/ });
  t.throws(() => new SemaphoreClient({ url: "https://sem.example.org", token: "x", caFile: "/nonexistent/ca.pem" }), {
    message: /Cannot read \[semaphore\] ca_file/,
  });
  t.throws(() => new SemaphoreClient({ url: "https://sem.example.org", token: "x", maxConcurrent: 0 }), { message: /maxConcurrent/ });
});

// ---------------------------------------------------------------------------------------------------------------
// TLS: a self-signed certificate made with the openssl CLI at test time

function makeCert(): { dir: string; cert: string; key: string } | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sem-tls-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    return { dir, cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem") };
  } catch {
    return null;
  }
}

const tlsFiles = makeCert();
(tlsFiles ? test : test.skip)("TLS: self-signed → unreachable with a ca_file hint (not retried); ca_file or tls_verify=false work", async (t) => {
  const files = tlsFiles!;
  let hits = 0;
  const server = https.createServer({ cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) }, (_req, res) => {
    hits++;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end("[]");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
    fs.rmSync(files.dir, { recursive: true, force: true });
  });
  const url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const attempts: RequestInfo[] = [];
  const strict = client(url, { retries: 3, onRequest: (i) => attempts.push(i) });
  const e = await failure(strict.projects());
  t.is(e.kind, "unreachable");
  t.regex(e.detail ?? "", /SELF_SIGNED|UNABLE_TO_VERIFY/);
  t.regex(e.userMessage(), /TLS handshake with Semaphore at https:\/\/127\.0\.0\.1:\d+ failed .*ca_file/);
  t.is(attempts.length, 1, "a certificate problem is not retried");
  t.is(hits, 0);
  const withCa = client(url, { caFile: files.cert });
  t.deepEqual(await withCa.projects(), []);
  t.true(Array.isArray(withCa.tlsOptions().ca));
  const insecure = client(url, { tlsVerify: false });
  t.deepEqual(await insecure.projects(), []);
  t.deepEqual(insecure.tlsOptions(), { rejectUnauthorized: false });
  t.is(hits, 2);
  for (const c of [strict, withCa, insecure]) c.close();
});
