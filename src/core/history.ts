// Run history per template: the last runs with their durations and outcomes, the success rate, p50/p95 durations
// and outcomes per day. Each project's task list is one request, kept until one of its tasks finishes (a store
// transition), then read again on the next ask. Front ends only render what `runs` returns.
import { EventEmitter } from "node:events";
import type { Operations } from "./operations.js";
import type { Actor } from "./actor.js";
import { userMessage } from "./errors.js";
import type { Project, TaskWithTpl } from "../semaphore/types.js";
import { isTerminalStatus } from "../semaphore/types.js";
import type { TaskState } from "./store.js";
import { Activity, activityTotals, type ActivitySeries } from "./activity.js";

export type Outcome = "success" | "failed" | "stopped";
export const OUTCOMES: Outcome[] = ["success", "failed", "stopped"];

export interface Run {
  taskId: number;
  outcome: Outcome;
  /** Start to end; undefined when Semaphore has no start time. */ seconds?: number;
  end: number;
}
export interface DayOutcomes {
  /** Local midnight, epoch ms. */ day: number;
  success: number;
  failed: number;
  stopped: number;
}

export interface TemplateHistory {
  projectId: number;
  projectName: string;
  templateId: number;
  templateName: string;
  /** The last finished runs, oldest first (at most `runs` of them). */
  runs: Run[];
  /** Of those: how many succeeded, and that share (0..1). Stopped and rejected runs count as not successful. */
  succeeded: number;
  successRate: number;
  /** Nearest-rank percentiles of the durations of those runs, in seconds; undefined without timed runs. */
  p50?: number;
  p95?: number;
  /** Outcomes per local day, oldest first, the last `days` days including today. */
  perDay: DayOutcomes[];
}

export interface HistoryReport {
  templates: TemplateHistory[];
  /** Projects whose task list could not be read, with why (the rest is still shown). */
  problems: string[];
  /** Projects whose list reached Semaphore's cap (1000 tasks), so older days may be missing. */
  capped: string[];
}

export interface HistoryOptions {
  runs?: number;
  days?: number;
  now?: number;
}

/** Semaphore's task list returns at most this many tasks. */
const LIST_CAP = 1000;

export function outcomeOf(status: string): Outcome | undefined {
  if (status === "success") return "success";
  if (status === "error") return "failed";
  return status === "stopped" || status === "rejected" ? "stopped" : undefined;
}

/** Nearest-rank percentile of ascending numbers. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (!sorted.length) return undefined;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

const localMidnight = (ms: number) => {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
};

/** The statistics of one template's tasks (any order). */
export function summarize(
  tasks: TaskWithTpl[],
  opts: { runs: number; days: number; now: number },
): Omit<TemplateHistory, "projectId" | "projectName" | "templateId" | "templateName"> {
  const finished: Run[] = [];
  for (const t of tasks) {
    const outcome = outcomeOf(t.status);
    const end = Date.parse(t.end ?? t.start ?? t.created ?? "");
    if (!outcome || !Number.isFinite(end)) continue;
    const start = Date.parse(t.start ?? "");
    finished.push({ taskId: t.id, outcome, end, seconds: Number.isFinite(start) && end >= start ? (end - start) / 1000 : undefined });
  }
  finished.sort((a, b) => a.end - b.end || a.taskId - b.taskId);
  const runs = finished.slice(-opts.runs);
  const succeeded = runs.filter((r) => r.outcome === "success").length;
  const durations = runs.flatMap((r) => (r.seconds === undefined ? [] : [r.seconds])).sort((a, b) => a - b);
  const today = new Date(localMidnight(opts.now));
  // Stepping by calendar date, not by 24 h, keeps days right across daylight-saving changes.
  const perDay: DayOutcomes[] = Array.from({ length: opts.days }, (_, i) => ({
    day: new Date(today.getFullYear(), today.getMonth(), today.getDate() - (opts.days - 1 - i)).getTime(),
    success: 0,
    failed: 0,
    stopped: 0,
  }));
  const index = new Map(perDay.map((d, i) => [d.day, i]));
  for (const r of finished) {
    const i = index.get(localMidnight(r.end));
    if (i !== undefined) perDay[i]![r.outcome]++;
  }
  return { runs, succeeded, successRate: runs.length ? succeeded / runs.length : 0, p50: percentile(durations, 50), p95: percentile(durations, 95), perDay };
}

interface CachedList {
  tasks?: TaskWithTpl[];
  loading?: Promise<TaskWithTpl[]>;
  /** Bumped when a task of the project finishes. */ generation: number;
  loadedGeneration?: number;
}

/** The history operations; `ops.history`. Emits "changed" when cached data went stale (a task finished). */
export class TaskHistory extends EventEmitter {
  private readonly lists = new Map<number, CachedList>();
  private projectList?: Promise<Project[]>;
  readonly activity: Activity;

  constructor(private readonly ops: Operations) {
    super();
    this.activity = new Activity(activityTotals(ops.store, ops.metrics));
    ops.store.on("transition", (t: TaskState, prev: string | undefined) => {
      if (!isTerminalStatus(t.status) || (prev !== undefined && isTerminalStatus(prev))) return;
      this.entry(t.projectId).generation++;
      this.emit("changed", t.projectId);
    });
  }

  private entry(projectId: number): CachedList {
    let e = this.lists.get(projectId);
    if (!e) this.lists.set(projectId, (e = { generation: 0 }));
    return e;
  }

  /** One project's task list: cached; read again after one of its tasks finished; one request at a time. */
  private list(projectId: number): Promise<TaskWithTpl[]> {
    const e = this.entry(projectId);
    if (e.tasks && e.loadedGeneration === e.generation) return Promise.resolve(e.tasks);
    if (e.loading) return e.loading;
    const client = this.ops.semaphore;
    if (!client) return Promise.reject(new Error("Semaphore is not configured: set [semaphore] url and api_token."));
    const generation = e.generation;
    // Set before the first await, so a second ask joins this request.
    e.loading = client.tasks(projectId).then(
      (tasks) => {
        e.loading = undefined;
        e.tasks = tasks;
        e.loadedGeneration = generation;
        return tasks;
      },
      (err: unknown) => {
        e.loading = undefined;
        throw err;
      },
    );
    return e.loading;
  }

  private projects(): Promise<Project[]> {
    const client = this.ops.semaphore;
    if (!client) return Promise.reject(new Error("Semaphore is not configured: set [semaphore] url and api_token."));
    // A failed read is not kept: the next ask tries again.
    this.projectList ??= client.projects().catch((err: unknown) => {
      this.projectList = undefined;
      throw err;
    });
    return this.projectList;
  }

  /**
   * Per template the actor may see: the last `runs` finished runs (default 20), success rate, p50/p95 and outcomes
   * per day over `days` days (default 14). Chat actors see their room's projects and templates only.
   */
  async runs(actor: Actor, opts: HistoryOptions = {}): Promise<HistoryReport> {
    this.ops.require(actor, "read", "see the run history");
    const o = { runs: opts.runs ?? 20, days: opts.days ?? 14, now: opts.now ?? Date.now() };
    const projects = (await this.projects()).filter((p) => this.ops.mayUseProject(actor, p));
    const report: HistoryReport = { templates: [], problems: [], capped: [] };
    const lists = await Promise.all(
      projects.map((p) =>
        this.list(p.id).then(
          (l) => ({ p, l }),
          (err: unknown) => ({ p, err }),
        ),
      ),
    );
    for (const x of lists) {
      if ("err" in x) {
        report.problems.push(`Could not read the tasks of project ${x.p.name} (${x.p.id}): ${userMessage(x.err)}`);
        continue;
      }
      if (x.l.length >= LIST_CAP) report.capped.push(x.p.name);
      const byTemplate = new Map<number, TaskWithTpl[]>();
      for (const t of x.l) {
        if (!this.ops.mayUseTemplate(actor, { id: t.template_id, name: t.tpl_alias })) continue;
        const group = byTemplate.get(t.template_id);
        if (group) group.push(t);
        else byTemplate.set(t.template_id, [t]);
      }
      for (const [templateId, tasks] of byTemplate) {
        const name = tasks.find((t) => t.tpl_alias)?.tpl_alias || `template ${templateId}`;
        report.templates.push({ projectId: x.p.id, projectName: x.p.name, templateId, templateName: name, ...summarize(tasks, o) });
      }
    }
    report.templates.sort((a, b) => a.projectName.localeCompare(b.projectName) || a.templateName.localeCompare(b.templateName) || a.templateId - b.templateId);
    return report;
  }

  /** Counts per minute of tasks started and finished, Matrix commands and Semaphore requests, sampled now. */
  activitySeries(actor: Actor, now = Date.now()): Record<ActivitySeries, number[]> {
    this.ops.require(actor, "read", "see the activity");
    this.activity.sample(now);
    return this.activity.series();
  }
}
