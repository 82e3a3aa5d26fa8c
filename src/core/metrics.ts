// Counters and histograms the engine keeps for /metrics (src/http renders them in Prometheus text format).
// Plain in-memory numbers: cheap enough to keep whether or not [bot] http_listen is set.
import type { Store, TaskState } from "./store.js";
import { isTerminalStatus } from "../semaphore/types.js";
import type { RequestInfo } from "../semaphore/client.js";

type Labels<L extends string> = { [K in L]: string };

/** A counter per label combination. */
export class LabeledCounter<L extends string = string> {
  private readonly series = new Map<string, { labels: Labels<L>; value: number }>();

  inc(labels: Labels<L>, n = 1): void {
    const key = JSON.stringify(
      Object.keys(labels)
        .sort()
        .map((k) => [k, labels[k as L]]),
    );
    const s = this.series.get(key);
    if (s) s.value += n;
    else this.series.set(key, { labels: { ...labels }, value: n });
  }

  get(labels: Labels<L>): number {
    const key = JSON.stringify(
      Object.keys(labels)
        .sort()
        .map((k) => [k, labels[k as L]]),
    );
    return this.series.get(key)?.value ?? 0;
  }

  entries(): Array<{ labels: Labels<L>; value: number }> {
    return [...this.series.values()];
  }
}

export interface HistogramSeries<L extends string> {
  labels: Labels<L>;
  /** Observations per bucket (not cumulative), one more than `bounds` for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/** A histogram per label combination; `bounds` are the upper bucket bounds (le), ascending. */
export class LabeledHistogram<L extends string = string> {
  private readonly series = new Map<string, HistogramSeries<L>>();

  constructor(readonly bounds: readonly number[]) {}

  observe(labels: Labels<L>, value: number): void {
    if (!Number.isFinite(value)) return;
    const key = JSON.stringify(
      Object.keys(labels)
        .sort()
        .map((k) => [k, labels[k as L]]),
    );
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: { ...labels }, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 }));
    let i = this.bounds.findIndex((b) => value <= b);
    if (i < 0) i = this.bounds.length;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  entries(): HistogramSeries<L>[] {
    return [...this.series.values()];
  }
}

/** Task run durations: seconds to hours. */
export const TASK_DURATION_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];
/** Semaphore API round trips. */
export const REQUEST_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type CommandOutcome = "ok" | "refused" | "invalid" | "failed" | "unknown";

export class Metrics {
  /** Commands by name, outcome and front end (chat or console). Unknown command names count as "unknown". */
  readonly commands = new LabeledCounter<"command" | "outcome" | "via">();
  /** Semaphore API attempts by method and outcome (HTTP status, or the error kind when no answer came). */
  readonly semaphoreRequests = new LabeledCounter<"method" | "outcome">();
  readonly semaphoreRequestSeconds = new LabeledHistogram<never>(REQUEST_DURATION_BUCKETS);
  /** Runs seen finishing while the bot was watching, by project and template id and final status. */
  readonly tasksFinished = new LabeledCounter<TaskLabel>();
  /** Start-to-end duration of those runs. */
  readonly taskDuration = new LabeledHistogram<TaskLabel>(TASK_DURATION_BUCKETS);
  /** The names last seen for project and template ids: exported only when [bot] metrics_names asks for them. */
  private readonly projectNames = new Map<string, string>();
  private readonly templateNames = new Map<string, string>();

  /** The labels with the project's and template's names added (as last seen; the id when never seen). */
  withNames<L extends Labels<"project_id" | "template_id">>(labels: L): L & Labels<"project" | "template"> {
    const template = this.templateNames.get(labels.template_id) ?? `template ${labels.template_id}`;
    return { ...labels, project: this.projectNames.get(labels.project_id) ?? labels.project_id, template };
  }

  private learnNames(t: TaskState): void {
    const ids = taskLabels(t);
    if (t.projectName) this.projectNames.set(ids.project_id, t.projectName);
    if (t.templateName && t.templateId !== undefined) this.templateNames.set(ids.template_id, t.templateName);
  }

  /** The SemaphoreClient's onRequest callback: one call per attempt. */
  onSemaphoreRequest(info: RequestInfo): void {
    this.semaphoreRequests.inc({ method: info.method, outcome: info.status !== undefined ? String(info.status) : (info.error ?? "unknown") });
    this.semaphoreRequestSeconds.observe({}, info.ms / 1000);
  }

  /**
   * Counts runs that reach a final status. A task first seen already finished (history, a restart) is not counted:
   * only transitions from a known unfinished status are, so each run is observed once. Semaphore reports the final
   * status before the end time (a second update), so the duration is observed when `end` arrives; if it never does
   * within END_WAIT_MS, the moment the final status was seen stands in for it.
   */
  watch(store: Store): () => void {
    const awaitingEnd = new Map<string, { labels: Labels<TaskLabel>; seenAt: number }>();
    const observe = (labels: Labels<TaskLabel>, startText: string | null | undefined, endMs: number) => {
      const start = startText ? Date.parse(startText) : NaN;
      if (Number.isFinite(start) && Number.isFinite(endMs) && endMs >= start) this.taskDuration.observe(labels, (endMs - start) / 1000);
    };
    const sweep = (now: number) => {
      for (const [key, w] of awaitingEnd) {
        if (now - w.seenAt < END_WAIT_MS && awaitingEnd.size <= MAX_AWAITING_END) break; // insertion order: oldest first
        awaitingEnd.delete(key);
        observe(w.labels, store.tasks.get(key)?.start, w.seenAt);
      }
    };
    const onTransition = (t: TaskState, prev: string | undefined) => {
      if (prev === undefined || isTerminalStatus(prev) || !isTerminalStatus(t.status)) return;
      this.learnNames(t);
      const labels = { ...taskLabels(t), status: String(t.status) };
      this.tasksFinished.inc(labels);
      if (t.end) observe(labels, t.start, Date.parse(t.end));
      else awaitingEnd.set(t.key, { labels, seenAt: Date.now() });
    };
    const onTask = (t: TaskState) => {
      this.learnNames(t);
      if (awaitingEnd.size === 0) return;
      const w = awaitingEnd.get(t.key);
      if (w && t.end) {
        awaitingEnd.delete(t.key);
        observe(w.labels, t.start, Date.parse(t.end));
      }
      sweep(Date.now());
    };
    store.on("transition", onTransition);
    store.on("task", onTask);
    return () => {
      store.off("transition", onTransition);
      store.off("task", onTask);
    };
  }
}

/** How long a finished run's end time may lag its final status. */
const END_WAIT_MS = 60_000;
const MAX_AWAITING_END = 1000;

/** Tasks are labelled by ids: names (which a scraper should not learn by default) are added only on request. */
type TaskLabel = "project_id" | "template_id" | "status";

export const taskLabels = (t: Pick<TaskState, "projectId" | "templateId">): Labels<"project_id" | "template_id"> => ({
  project_id: String(t.projectId),
  template_id: t.templateId !== undefined ? String(t.templateId) : "unknown",
});
