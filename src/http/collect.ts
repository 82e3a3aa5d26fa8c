// Everything /metrics exports, gathered at scrape time from the store, the operations' counters, the tracker and
// the Matrix client. Names follow Prometheus conventions: chatrixcd_ prefix, _total counters, base units.
import type { App } from "../app.js";
import type { MatrixConnection, SemaphoreConnection } from "../core/store.js";
import { taskLabels, type LabeledCounter, type LabeledHistogram } from "../core/metrics.js";
import { matrixRetries } from "../matrix/send-scheduler.js";
import { VERSION } from "../version.js";
import { healthReport } from "./health.js";
import type { Family, Sample } from "./prometheus.js";

// Records, so a state added to the store's unions fails to compile until it is listed here.
const MATRIX_STATES: Record<MatrixConnection, true> = {
  not_configured: true,
  starting: true,
  syncing: true,
  catching_up: true,
  reconnecting: true,
  error: true,
  stopped: true,
};
const SEMAPHORE_STATES: Record<SemaphoreConnection, true> = { not_configured: true, connecting: true, websocket: true, polling: true, down: true };

const processStart = Date.now() - process.uptime() * 1000;

/** Events queued in the Matrix client's send scheduler (in flight or waiting for a retry): the outbox. */
export function outboxDepth(scheduler: unknown): number | undefined {
  const queues = (scheduler as { queues?: unknown } | undefined)?.queues;
  if (!queues || typeof queues !== "object") return undefined;
  let n = 0;
  for (const q of Object.values(queues as Record<string, unknown>)) if (Array.isArray(q)) n += q.length;
  return n;
}

const counter = (name: string, help: string, samples: Sample[]): Family => ({ name, help, type: "counter", samples });
const gauge = (name: string, help: string, samples: Sample[]): Family => ({ name, help, type: "gauge", samples });
const one = (value: number): Sample[] => [{ value }];
const stateSet = (states: string[], current: string, label = "state"): Sample[] =>
  states.map((s) => ({ labels: { [label]: s }, value: s === current ? 1 : 0 }));
type Relabel = (labels: Record<string, string>) => Record<string, string>;
const asIs: Relabel = (labels) => labels;
const fromCounter = (c: LabeledCounter, relabel = asIs): Sample[] => c.entries().map((e) => ({ labels: relabel(e.labels), value: e.value }));
const fromHistogram = (h: LabeledHistogram, relabel = asIs) =>
  h.entries().map((e) => ({ labels: relabel(e.labels), bounds: h.bounds, counts: e.counts, sum: e.sum, count: e.count }));

export function collectMetrics(app: Pick<App, "store" | "ops" | "matrix">, now = Date.now()): Family[] {
  const { store, ops } = app;
  const m = ops.metrics;
  const c = store.connection;
  const tracker = ops.tracker;
  // Project and template names say what the team deploys: only to scrapers the config trusts with them.
  const named: Relabel = ops.config.values.bot.metrics_names ? (l) => m.withNames(l as Parameters<typeof m.withNames>[0]) : asIs;

  const tasks = new Map<string, Sample>();
  for (const t of store.tasks.values()) {
    const labels = named({ ...taskLabels(t), status: String(t.status) });
    const key = JSON.stringify(labels);
    const s = tasks.get(key);
    if (s) s.value++;
    else tasks.set(key, { labels, value: 1 });
  }

  const cpu = process.cpuUsage();
  const health = healthReport(app, now);
  const outbox = outboxDepth(app.matrix?.client?.scheduler);

  return [
    gauge("chatrixcd_build_info", "Version of ChatrixCD and of Node.js; always 1.", [{ labels: { version: VERSION, nodejs: process.version }, value: 1 }]),
    gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", one(Math.round(processStart / 1000))),
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", one(process.memoryUsage.rss())),
    counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", one((cpu.user + cpu.system) / 1e6)),
    gauge(
      "chatrixcd_healthy",
      "1 when /healthz answers 200 (Matrix synced recently or not configured, Semaphore reachable), else 0.",
      one(health.status === "ok" ? 1 : 0),
    ),

    gauge(
      "chatrixcd_tasks",
      "Semaphore tasks the bot currently knows about (active, tracked and recent), by project and template id (names too with [bot] metrics_names) and status.",
      [...tasks.values()],
    ),
    counter(
      "chatrixcd_tasks_finished_total",
      "Task runs seen reaching a final status while the bot was watching, by project and template id (names too with [bot] metrics_names) and final status.",
      fromCounter(m.tasksFinished, named),
    ),
    {
      name: "chatrixcd_task_duration_seconds",
      help: "Start-to-end duration of the task runs counted in chatrixcd_tasks_finished_total.",
      type: "histogram",
      histograms: fromHistogram(m.taskDuration, named),
    },
    gauge("chatrixcd_approvals_pending", "Approval requests waiting for approvers.", one(ops.approvals.pending().length)),
    gauge("chatrixcd_confirmations_pending", "Run, stop and exit requests waiting for the requester's yes or no.", one(store.pending.length)),
    counter(
      "chatrixcd_commands_total",
      "Commands handled, by command name (unknown for names that are not commands), " +
        "outcome (ok, refused, invalid, failed, unknown) and front end (chat, console).",
      fromCounter(m.commands),
    ),

    gauge("chatrixcd_matrix_connection_state", "Matrix sync state: 1 for the current state, 0 for the others.", stateSet(Object.keys(MATRIX_STATES), c.matrix)),
    gauge(
      "chatrixcd_matrix_last_sync_timestamp_seconds",
      "When the last Matrix sync completed, since the Unix epoch, in seconds (absent before the first).",
      c.matrixLastSync !== undefined ? one(c.matrixLastSync / 1000) : [],
    ),
    gauge("chatrixcd_matrix_rooms", "Rooms the bot has joined.", one(store.rooms.size)),
    counter(
      "chatrixcd_matrix_messages_sent_total",
      "Messages (replies, notices, status cards and their edits) the homeserver accepted.",
      one(ops.counters.messagesSent),
    ),
    counter(
      "chatrixcd_matrix_send_retries_total",
      "Matrix requests retried, by reason: rate_limited (429 M_LIMIT_EXCEEDED) or transient (network errors, 5xx). Process-wide.",
      [
        { labels: { reason: "rate_limited" }, value: matrixRetries.rate_limited },
        { labels: { reason: "transient" }, value: matrixRetries.transient },
      ],
    ),
    gauge(
      "chatrixcd_matrix_outbox_events",
      "Matrix events queued for sending (in flight or waiting for a retry).",
      outbox !== undefined ? one(outbox) : app.matrix ? [] : one(0),
    ),

    gauge(
      "chatrixcd_semaphore_connection_state",
      "How tasks are followed: websocket, polling (websocket refused or failing), down (unreachable), connecting; 1 for the current state.",
      stateSet(Object.keys(SEMAPHORE_STATES), c.semaphore),
    ),
    gauge(
      "chatrixcd_semaphore_up",
      "1 when Semaphore is reachable (websocket or polling), else 0.",
      one(c.semaphore === "websocket" || c.semaphore === "polling" ? 1 : 0),
    ),
    counter(
      "chatrixcd_semaphore_websocket_connects_total",
      "Successful websocket connections to Semaphore (the first one included).",
      one(tracker?.stats.wsConnects ?? 0),
    ),
    counter(
      "chatrixcd_semaphore_websocket_reconnects_total",
      "Successful websocket connections to Semaphore after the first one.",
      one(Math.max(0, (tracker?.stats.wsConnects ?? 0) - 1)),
    ),
    counter("chatrixcd_semaphore_websocket_frames_total", "Websocket frames received from Semaphore.", one(tracker?.stats.wsFrames ?? 0)),
    counter(
      "chatrixcd_semaphore_polls_total",
      "Polling rounds (one task list request per project) while the websocket was unavailable.",
      one(tracker?.stats.polls ?? 0),
    ),
    counter(
      "chatrixcd_semaphore_reconciles_total",
      "Full REST reconciles (after every websocket connect, and every 5 minutes).",
      one(tracker?.stats.reconciles ?? 0),
    ),
    counter(
      "chatrixcd_semaphore_requests_total",
      "Semaphore API request attempts, by method and outcome (the HTTP status, or the error kind when no answer came: unreachable, timeout).",
      fromCounter(m.semaphoreRequests),
    ),
    {
      name: "chatrixcd_semaphore_request_duration_seconds",
      help: "Duration of Semaphore API request attempts (queue wait excluded).",
      type: "histogram",
      histograms: fromHistogram(m.semaphoreRequestSeconds),
    },
  ];
}
