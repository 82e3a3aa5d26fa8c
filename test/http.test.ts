// The health and metrics endpoint ([bot] http_listen): scraped over real HTTP from an App on the embedded demo
// Semaphore, with a strict parser of the Prometheus text format.
import test from "ava";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { httpRequest } from "./harness/http-request.js";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MatrixError, MatrixEvent } from "matrix-js-sdk";
import "../src/polyfill.js";
import { App } from "../src/app.js";
import { Logger } from "../src/log/logger.js";
import { loadConfig, formatIssue } from "../src/config/load.js";
import { Store } from "../src/core/store.js";
import { Metrics } from "../src/core/metrics.js";
import { runCommandLine } from "../src/commands/dispatch.js";
import { isTerminalStatus } from "../src/semaphore/types.js";
import { renderPrometheus, CONTENT_TYPE, type Family } from "../src/http/prometheus.js";
import { healthReport, MATRIX_SYNC_MAX_AGE_S } from "../src/http/health.js";
import { outboxDepth } from "../src/http/collect.js";
import { parseListen, isLoopback } from "../src/http/listen.js";
import { createSendScheduler, retryDelay, matrixRetries } from "../src/matrix/send-scheduler.js";
import { VERSION } from "../src/version.js";

// ---- a strict reader of the exposition format -----------------------------------------------------------------

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/y;

function parseValue(v: string): number {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  if (v === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`bad sample value ${JSON.stringify(v)}`);
  return Number(v);
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex;
    const m = LABEL.exec(text);
    if (!m || m.index !== start) throw new Error(`bad labels {${text}}`);
    if (m[1]! in out) throw new Error(`label ${m[1]} twice in {${text}}`);
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    if (m[3] === "") break;
  }
  return out;
}

/** Parses and validates exposition text: grammar, HELP/TYPE before samples, no duplicate series, histogram shape. */
function parseExposition(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, ParsedFamily>();
  const series = new Set<string>();
  let current: ParsedFamily | undefined;
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      if (families.has(m[1]!)) throw new Error(`HELP for ${m[1]} after its family`);
      current = { name: m[1]!, type: "untyped", help: m[2]!, samples: [] };
      families.set(m[1]!, current);
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      if (!current || current.name !== m[1] || current.type !== "untyped") throw new Error(`TYPE line out of place: ${line}`);
      current.type = m[2]!;
    } else if (line.startsWith("#")) {
      throw new Error(`unexpected comment: ${line}`);
    } else if ((m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`).exec(line))) {
      const [, name, labelText, value] = m;
      if (!current) throw new Error(`sample before any family: ${line}`);
      const suffixes = current.type === "histogram" ? ["_bucket", "_sum", "_count"] : [""];
      if (!suffixes.some((s) => name === current!.name + s)) throw new Error(`sample ${name} does not belong to family ${current.name} (${current.type})`);
      if (current.type === "counter" && !current.name.endsWith("_total")) throw new Error(`counter ${current.name} should end in _total`);
      const labels = labelText ? parseLabels(labelText) : {};
      const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (series.has(id)) throw new Error(`duplicate series ${line}`);
      series.add(id);
      current.samples.push({ name: name!, labels, value: parseValue(value!) });
    } else {
      throw new Error(`cannot parse line ${JSON.stringify(line)}`);
    }
  }
  for (const f of families.values()) {
    if (f.type === "untyped") throw new Error(`family ${f.name} has no TYPE`);
    if (f.type !== "histogram") continue;
    const groups = new Map<string, ParsedSample[]>();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(s);
      if (s.name.endsWith("_bucket") && le === undefined) throw new Error(`${f.name} bucket without le`);
    }
    for (const [key, samples] of groups) {
      const buckets = samples.filter((s) => s.name.endsWith("_bucket")).map((s) => ({ le: parseValue(s.labels.le!), v: s.value }));
      for (let i = 1; i < buckets.length; i++) {
        if (!(buckets[i]!.le > buckets[i - 1]!.le)) throw new Error(`${f.name}${key}: le not ascending`);
        if (buckets[i]!.v < buckets[i - 1]!.v) throw new Error(`${f.name}${key}: buckets not cumulative`);
      }
      const inf = buckets.at(-1);
      const count = samples.find((s) => s.name === `${f.name}_count`)?.value;
      if (!inf || inf.le !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
      if (count === undefined || samples.every((s) => s.name !== `${f.name}_sum`)) throw new Error(`${f.name}${key}: _sum or _count missing`);
      if (inf.v !== count) throw new Error(`${f.name}${key}: +Inf bucket ${inf.v} != _count ${count}`);
    }
  }
  return families;
}

function value(fams: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = fams.get(name.replace(/_(bucket|sum|count)$/, "")) ?? fams.get(name);
  return fam?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

// ---- HTTP helpers --------------------------------------------------------------------------------------------

const http = httpRequest;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await sleep(50);
  }
}

async function scrape(app: App): Promise<Map<string, ParsedFamily>> {
  const r = await http(`${app.http!.url}/metrics`);
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parseExposition(r.body);
}

async function demoApp(t: { teardown: (fn: () => Promise<void> | void) => void }, env: Record<string, string> = {}): Promise<App> {
  const stateDir = mkdtempSync(join(tmpdir(), "chatrixcd-http-"));
  const cfg = loadConfig(undefined, {
    demo: true,
    env: { CHATRIXCD_BOT_STATE_DIR: stateDir, CHATRIXCD_BOT_HTTP_LISTEN: "127.0.0.1:0", CHATRIXCD_SEMAPHORE_POLL_INTERVAL: "1", ...env },
  });
  if (!cfg.ok) throw new Error(cfg.issues.map(formatIssue).join("\n"));
  const logger = new Logger({ level: "debug", echo: process.env.CHATRIXCD_TEST_DEBUG ? process.stderr : undefined });
  const app = new App(cfg, logger, { demo: true, demoServer: { tickMs: 50, lineDelayMs: 2, schedules: false } });
  t.teardown(async () => {
    await app.stop();
    await logger.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  await app.start();
  return app;
}

// ---- the renderer --------------------------------------------------------------------------------------------

test("renderPrometheus: HELP/TYPE per family, escaped label values and help, cumulative histogram buckets", (t) => {
  const families: Family[] = [
    { name: "x_total", help: "a \\ help\nline", type: "counter", samples: [{ labels: { template: 'Deploy "web"\\prod\nnow' }, value: 3 }] },
    { name: "g", help: "gauge", type: "gauge", samples: [{ value: NaN }, { labels: { a: "b" }, value: Infinity }] },
    { name: "h_seconds", help: "hist", type: "histogram", histograms: [{ labels: { t: "x" }, bounds: [1, 5], counts: [2, 1, 4], sum: 60.5, count: 7 }] },
  ];
  const text = renderPrometheus(families);
  t.true(text.includes("# HELP x_total a \\\\ help\\nline\n# TYPE x_total counter\n"));
  t.true(text.includes('x_total{template="Deploy \\"web\\"\\\\prod\\nnow"} 3\n'));
  t.true(text.includes("g NaN\n"));
  t.true(text.includes('g{a="b"} +Inf\n'));
  t.true(
    text.includes(
      'h_seconds_bucket{t="x",le="1"} 2\nh_seconds_bucket{t="x",le="5"} 3\nh_seconds_bucket{t="x",le="+Inf"} 7\nh_seconds_sum{t="x"} ' +
        '60.5\nh_seconds_count{t="x"} 7\n',
    ),
  );
  const parsed = parseExposition(text);
  t.is(parsed.get("x_total")!.samples[0]!.labels.template, 'Deploy "web"\\prod\nnow', "label value round-trips through escaping");
  t.is(parsed.get("x_total")!.help, "a \\\\ help\\nline");
});

test("renderPrometheus refuses invalid metric and label names, and the reader rejects malformed text", (t) => {
  t.throws(() => renderPrometheus([{ name: "bad-name", help: "", type: "gauge", samples: [] }]), { message: /metric name/ });
  t.throws(() => renderPrometheus([{ name: "ok", help: "", type: "gauge", samples: [{ labels: { "bad-label": "x" }, value: 1 }] }]), { message: /label name/ });
  t.throws(
    () =>
      renderPrometheus([
        { name: "ok", help: "", type: "gauge", samples: [] },
        { name: "ok", help: "", type: "gauge", samples: [] },
      ]),
    { message: /twice/ },
  );
  // The reader used below must be able to fail.
  t.throws(() => parseExposition('x{a="b} 1\n'));
  t.throws(() => parseExposition("# HELP x h\n# TYPE x counter\nx 1\n"), { message: /_total/ });
  t.throws(() => parseExposition("# HELP x_total h\n# TYPE x_total counter\ny_total 1\n"), { message: /does not belong/ });
  t.throws(() => parseExposition('# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'), { message: /cumulative/ });
  t.throws(() => parseExposition('# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'), { message: /\+Inf/ });
});

// ---- config ------------------------------------------------------------------------------------------------------

test("[bot] http_listen: host:port validated, off when empty, a warning when reachable from other machines", (t) => {
  const load = (v: string) => loadConfig(undefined, { demo: true, env: { CHATRIXCD_BOT_HTTP_LISTEN: v } });
  for (const ok of ["127.0.0.1:9464", "[::1]:9464", "localhost:9464", "127.0.0.1:0", ""]) {
    const cfg = load(ok);
    t.true(cfg.ok, `${ok}: ${cfg.issues.map(formatIssue).join("; ")}`);
    t.false(
      cfg.issues.some((i) => i.key === "http_listen"),
      `${ok} needs no warning`,
    );
  }
  for (const [bad, why] of [
    ["9464", /host:port/],
    ["127.0.0.1", /host:port/],
    [":9464", /host is missing/],
    ["127.0.0.1:70000", /0 to 65535/],
    ["127.0.0.1:http", /0 to 65535/],
    ["::1:9464", /brackets/],
    ["[nope]:1", /IPv6/],
    ["bad host:1", /not an IP address or host name/],
  ] as const) {
    const cfg = load(bad);
    t.false(cfg.ok, `${bad} must be refused`);
    const issue = cfg.issues.find((i) => i.key === "http_listen" && i.severity === "error");
    t.truthy(issue, bad);
    t.regex(formatIssue(issue!), why);
    t.regex(formatIssue(issue!), /CHATRIXCD_BOT_HTTP_LISTEN/);
  }
  const open = load("0.0.0.0:9464");
  t.true(open.ok);
  t.regex(formatIssue(open.issues.find((i) => i.key === "http_listen")!), /^warning: .*no authentication/);
  t.deepEqual(parseListen("[::1]:9464"), { host: "::1", port: 9464 });
  t.true(isLoopback("127.3.2.1") && isLoopback("::1") && isLoopback("localhost"));
  t.false(isLoopback("0.0.0.0") || isLoopback("::") || isLoopback("192.168.1.2") || isLoopback("example.org"));
});

// ---- health and counters, without HTTP ------------------------------------------------------------------------

test("health: Matrix must have synced within the limit; Semaphore must be on the websocket or polling", (t) => {
  const store = new Store();
  const app = { store, ops: { startedAt: Date.now() } } as never;
  const now = Date.now();
  store.setConnection({ matrix: "not_configured", semaphore: "websocket" });
  t.is(healthReport(app, now).status, "ok");
  store.setConnection({ semaphore: "polling" });
  t.is(healthReport(app, now).status, "ok");
  t.is(healthReport(app, now).checks.semaphore.transport, "polling");
  for (const s of ["down", "connecting", "not_configured"] as const) {
    store.setConnection({ semaphore: s });
    t.is(healthReport(app, now).status, "fail", s);
  }
  store.setConnection({ semaphore: "websocket", matrix: "starting" });
  t.is(healthReport(app, now).status, "fail");
  t.regex(healthReport(app, now).checks.matrix.detail!, /no sync/);
  store.setConnection({ matrix: "syncing", matrixLastSync: now - 5_000 });
  t.is(healthReport(app, now).status, "ok");
  t.is(healthReport(app, now).checks.matrix.lastSyncAgeSeconds, 5);
  store.setConnection({ matrixLastSync: now - (MATRIX_SYNC_MAX_AGE_S + 1) * 1000 });
  t.is(healthReport(app, now).status, "fail", "a stale sync fails");
  store.setConnection({ matrix: "reconnecting", matrixLastSync: now - 1000, matrixDetail: "ECONNREFUSED" });
  t.is(healthReport(app, now).status, "fail");
  t.regex(healthReport(app, now).checks.matrix.detail!, /reconnecting: ECONNREFUSED/);
});

test("task metrics: a run is observed once, when it reaches a final status from an unfinished one", (t) => {
  const store = new Store();
  const m = new Metrics();
  const stop = m.watch(store);
  store.upsertTask({
    projectId: 1,
    taskId: 1,
    status: "success",
    templateName: "Old",
    projectName: "P",
    start: "2024-01-01T00:00:00Z",
    end: "2024-01-01T00:01:00Z",
  });
  t.is(m.tasksFinished.entries().length, 0, "first seen finished: history, not counted");
  store.upsertTask({ projectId: 1, taskId: 2, status: "running", templateId: 2, templateName: "Deploy", projectName: "P", start: "2024-01-01T00:00:00Z" });
  store.upsertTask({ projectId: 1, taskId: 2, status: "success", end: "2024-01-01T00:00:42Z" });
  store.upsertTask({ projectId: 1, taskId: 2, status: "success", end: "2024-01-01T00:00:42Z" });
  t.is(m.tasksFinished.get({ project_id: "1", template_id: "2", status: "success" }), 1);
  t.deepEqual(
    m.withNames({ project_id: "1", template_id: "2" }),
    { project_id: "1", template_id: "2", project: "P", template: "Deploy" },
    "names kept aside for metrics_names",
  );
  const h = m.taskDuration.entries();
  t.is(h.length, 1);
  t.is(h[0]!.sum, 42);
  t.is(h[0]!.count, 1);
  // Semaphore sends the final status first and the end time in a later update.
  store.upsertTask({ projectId: 1, taskId: 4, status: "running", templateId: 2, templateName: "Deploy", projectName: "P", start: "2024-01-01T00:00:00Z" });
  store.upsertTask({ projectId: 1, taskId: 4, status: "success" });
  t.is(m.tasksFinished.get({ project_id: "1", template_id: "2", status: "success" }), 2);
  t.is(m.taskDuration.entries()[0]!.count, 1, "no end yet, no duration yet");
  store.upsertTask({ projectId: 1, taskId: 4, end: "2024-01-01T00:00:08Z" });
  t.is(m.taskDuration.entries()[0]!.count, 2);
  t.is(m.taskDuration.entries()[0]!.sum, 50);
  store.upsertTask({ projectId: 1, taskId: 4, end: "2024-01-01T00:00:09Z" });
  t.is(m.taskDuration.entries()[0]!.count, 2, "observed once");
  stop();
  store.upsertTask({ projectId: 1, taskId: 3, status: "running", templateId: 2, templateName: "Deploy", projectName: "P" });
  store.upsertTask({ projectId: 1, taskId: 3, status: "error" });
  t.is(m.tasksFinished.get({ project_id: "1", template_id: "2", status: "error" }), 0, "unwatched");
});

test("outbox depth reads the Matrix send scheduler's queues; retries are counted by reason", (t) => {
  const scheduler = createSendScheduler();
  t.is(outboxDepth(scheduler), 0);
  scheduler.setProcessFunction(() => new Promise(() => undefined)); // never sent: stays queued
  for (const room of ["!a:x", "!a:x", "!b:x"]) void scheduler.queueEvent(new MatrixEvent({ type: "m.room.message", room_id: room, content: { body: "hi" } }));
  t.is(outboxDepth(scheduler), 3, "the SDK still keeps its queues where outboxDepth looks");
  t.is(outboxDepth(undefined), undefined);

  const before = { ...matrixRetries };
  t.is(retryDelay(new MatrixError({ errcode: "M_LIMIT_EXCEEDED", retry_after_ms: 1234 }, 429), 1), 1234);
  t.true(retryDelay(new MatrixError({ errcode: "M_UNKNOWN" }, 502), 1) > 0);
  t.is(retryDelay(new MatrixError({ errcode: "M_FORBIDDEN" }, 403), 1), -1);
  t.is(matrixRetries.rate_limited - before.rate_limited, 1);
  t.is(matrixRetries.transient - before.transient, 1, "a 403 is not retried, so not counted");
});

// ---- over HTTP, from a running App ---------------------------------------------------------------------------

test("/healthz and /metrics from a demo App: health 200, tasks by status and template, run durations, commands", async (t) => {
  const app = await demoApp(t, { CHATRIXCD_BOT_METRICS_NAMES: "true" });
  t.regex(app.http!.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const health = await until("healthy", async () => {
    const r = await http(`${app.http!.url}/healthz`);
    return r.status === 200 ? r : undefined;
  });
  t.regex(String(health.headers["content-type"]), /^application\/json/);
  const h = JSON.parse(health.body);
  t.is(h.status, "ok");
  t.is(h.version, VERSION);
  t.is(h.checks.semaphore.transport, "websocket");
  t.is(h.checks.matrix.state, "not_configured");

  const actor = { kind: "console" } as const;
  const run = await app.ops.tasks.resolveRun(actor, { project: "Infrastructure", template: "Deploy web" });
  const task = await app.ops.tasks.start(actor, run);
  const final = await until(
    "the run to finish",
    () => {
      const s = app.store.tasks.get(task.key)?.status;
      return s && isTerminalStatus(s) ? s : undefined;
    },
    30_000,
  );

  const say = (line: string, a: Parameters<typeof runCommandLine>[0]["actor"] = actor) => runCommandLine({ actor: a, ops: app.ops, prefix: ":" }, line);
  await say("projects");
  await say("projects");
  await say("frobnicate");
  await say("stop notanumber");
  await say("projects", { kind: "chat", userId: "@mallory:example.org", roomId: "!room:example.org" });

  const res = await http(`${app.http!.url}/metrics`);
  t.is(res.status, 200);
  t.is(res.headers["content-type"], CONTENT_TYPE);
  const m = parseExposition(res.body);

  for (const name of [
    "chatrixcd_build_info",
    "chatrixcd_healthy",
    "chatrixcd_tasks",
    "chatrixcd_tasks_finished_total",
    "chatrixcd_task_duration_seconds",
    "chatrixcd_commands_total",
    "chatrixcd_approvals_pending",
    "chatrixcd_confirmations_pending",
    "chatrixcd_matrix_messages_sent_total",
    "chatrixcd_matrix_send_retries_total",
    "chatrixcd_matrix_outbox_events",
    "chatrixcd_semaphore_websocket_connects_total",
    "chatrixcd_semaphore_websocket_reconnects_total",
    "chatrixcd_semaphore_polls_total",
    "chatrixcd_semaphore_requests_total",
    "chatrixcd_semaphore_request_duration_seconds",
    "process_start_time_seconds",
  ]) {
    t.true(m.has(name), `${name} is exported`);
  }
  t.is(m.get("chatrixcd_task_duration_seconds")!.type, "histogram");
  t.is(m.get("chatrixcd_tasks_finished_total")!.type, "counter");
  t.is(value(m, "chatrixcd_build_info", { version: VERSION }), 1);
  t.is(value(m, "chatrixcd_healthy"), 1);

  const labels = { project_id: String(run.project.id), template_id: String(run.template.id), project: "Infrastructure", template: "Deploy web", status: final };
  t.is(value(m, "chatrixcd_tasks_finished_total", labels), 1, "the run is counted once, by project, template and status");
  t.true((value(m, "chatrixcd_tasks", labels) ?? 0) >= 1, "and is among the known tasks with that status");
  t.is(value(m, "chatrixcd_task_duration_seconds_count", labels), 1);
  t.is(value(m, "chatrixcd_task_duration_seconds_bucket", { ...labels, le: "+Inf" }), 1);
  const sum = value(m, "chatrixcd_task_duration_seconds_sum", labels)!;
  t.true(sum >= 0 && sum < 60, `duration ${sum} s`);
  const historic = m.get("chatrixcd_tasks")!.samples.filter((s) => s.labels.template === "Full backup");
  t.true(historic.length > 0, "seeded history is in chatrixcd_tasks");
  t.is(m.get("chatrixcd_tasks_finished_total")!.samples.length, 1, "but history is not counted as finished runs");

  t.is(value(m, "chatrixcd_commands_total", { command: "projects", outcome: "ok", via: "console" }), 2);
  t.is(value(m, "chatrixcd_commands_total", { command: "unknown", outcome: "unknown", via: "console" }), 1);
  t.is(value(m, "chatrixcd_commands_total", { command: "stop", outcome: "invalid", via: "console" }), 1);
  t.is(value(m, "chatrixcd_commands_total", { command: "projects", outcome: "refused", via: "chat" }), 1);
  t.is(value(m, "chatrixcd_approvals_pending"), 0);
  t.is(value(m, "chatrixcd_matrix_outbox_events"), 0);
  t.is(value(m, "chatrixcd_matrix_connection_state", { state: "not_configured" }), 1);
  t.is(value(m, "chatrixcd_semaphore_connection_state", { state: "websocket" }), 1);
  t.is(value(m, "chatrixcd_semaphore_websocket_connects_total"), 1);
  t.is(value(m, "chatrixcd_semaphore_websocket_reconnects_total"), 0);
  t.true((value(m, "chatrixcd_semaphore_requests_total", { method: "POST", outcome: "201" }) ?? 0) >= 1, "the start request is counted with its status");
  t.true((value(m, "chatrixcd_semaphore_request_duration_seconds_count") ?? 0) >= 3);
});

test("/healthz answers 503 while Semaphore is down, and 200 again when it is back; reconnects are counted", async (t) => {
  const app = await demoApp(t);
  const url = `${app.http!.url}/healthz`;
  await until("healthy", async () => (await http(url)).status === 200 || undefined);
  app.demoServer!.faults.dropWebsockets();
  await until("a websocket reconnect", async () => value(await scrape(app), "chatrixcd_semaphore_websocket_reconnects_total") === 1 || undefined);
  t.is(value(await scrape(app), "chatrixcd_semaphore_websocket_connects_total"), 2);
  await app.demoServer!.outage();
  const down = await until(
    "503 during the outage",
    async () => {
      const r = await http(url);
      return r.status === 503 ? r : undefined;
    },
    30_000,
  );
  const h = JSON.parse(down.body);
  t.is(h.status, "fail");
  t.false(h.checks.semaphore.ok);
  t.is(h.checks.semaphore.state, "down");
  t.regex(h.checks.semaphore.detail, /unreachable/);
  let m = await scrape(app);
  t.is(value(m, "chatrixcd_healthy"), 0);
  t.is(value(m, "chatrixcd_semaphore_connection_state", { state: "down" }), 1);
  t.true((value(m, "chatrixcd_semaphore_requests_total", { method: "GET", outcome: "unreachable" }) ?? 0) >= 1);

  await app.demoServer!.restart();
  const back = await until(
    "200 after the outage",
    async () => {
      const r = await http(url);
      return r.status === 200 ? r : undefined;
    },
    30_000,
  );
  t.is(JSON.parse(back.body).checks.semaphore.transport, "polling", "back by polling until the websocket retry");
  m = await scrape(app);
  t.is(value(m, "chatrixcd_healthy"), 1);
  t.true((value(m, "chatrixcd_semaphore_polls_total") ?? 0) >= 1);
});

test("the endpoint answers only GET/HEAD on its paths, and its port is closed by App.stop", async (t) => {
  const app = await demoApp(t);
  const base = app.http!.url;
  t.is((await http(`${base}/nope`)).status, 404);
  t.is((await http(`${base}/metrics`, "POST")).status, 405);
  t.is((await http(`${base}/metrics`, "POST")).headers.allow, "GET, HEAD");
  const head = await http(`${base}/metrics`, "HEAD");
  t.is(head.status, 200);
  t.is(head.body, "");
  t.is((await http(`${base}/healthz?verbose=1`)).headers["cache-control"], "no-store");
  t.regex((await http(`${base}/`)).body, /\/healthz[\s\S]*\/metrics/);
  await app.stop();
  await t.throwsAsync(http(`${base}/healthz`), { code: "ECONNREFUSED" });
});

test("a port already in use fails App.start with a message naming http_listen", async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  t.teardown(() => {
    blocker.close();
  });
  const port = (blocker.address() as AddressInfo).port;
  const stateDir = mkdtempSync(join(tmpdir(), "chatrixcd-http-"));
  const cfg = loadConfig(undefined, { demo: true, env: { CHATRIXCD_BOT_STATE_DIR: stateDir, CHATRIXCD_BOT_HTTP_LISTEN: `127.0.0.1:${port}` } });
  const logger = new Logger({ level: "error" });
  const app = new App(cfg, logger, { demo: true });
  t.teardown(async () => {
    await app.stop();
    await logger.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  await t.throwsAsync(app.start(), {
    message: new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(\\[bot\\] http_listen\\): the address is already in use`),
  });
  t.is(app.demoServer, undefined, "nothing else was started");
});

test("no http_listen: no endpoint", async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), "chatrixcd-http-"));
  const cfg = loadConfig(undefined, { demo: true, env: { CHATRIXCD_BOT_STATE_DIR: stateDir } });
  const logger = new Logger({ level: "error" });
  const app = new App(cfg, logger, { demo: true, demoServer: { tickMs: 50 } });
  t.teardown(async () => {
    await app.stop();
    await logger.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  await app.start();
  t.is(app.http, undefined);
});
