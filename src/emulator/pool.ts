// The task pool and status machine of §6: tasks are created `waiting`, the pool wakes every tickMs and dequeues at
// most one task per tick (never two tasks of the same template at once in a project; global and per-project
// parallelism caps), status changes are guarded like Semaphore's SetStatus, stop/confirm/reject follow the tables.

import { now } from "./clock.js";
import { Proc, goJsonError, runTask, type RunHost } from "./runner.js";
import type { Store } from "./store.js";
import { isTerminalStatus } from "../semaphore/types.js";
import { type ApiFlavor, type TaskOutputRow, type TaskParams, type TaskRow, type TaskStatus } from "./types.js";

export interface PoolListener {
  log(task: TaskRow, row: TaskOutputRow): void;
  update(task: TaskRow): void;
}

export interface PoolOptions {
  tickMs: number;
  lineDelayMs: number;
  maxParallelTasks: number;
  flavor: ApiFlavor;
  /** See SemaphoreServerOptions.forceStopKillsAtOnce. */
  forceStopKillsAtOnce?: boolean;
}

/** What a caller asks for when starting a task (decoded start body, or a helper / the scheduler). */
export interface TaskInput {
  project_id: number;
  template_id: number;
  user_id: number | null;
  integration_id?: number | null;
  schedule_id?: number | null;
  debug?: boolean;
  dry_run?: boolean;
  diff?: boolean;
  playbook?: string;
  environment?: string;
  limit?: string;
  secret?: string;
  arguments?: string | null;
  git_branch?: string | null;
  message?: string;
  inventory_id?: number | null;
  build_task_id?: number | null;
  version?: string | null;
  params?: TaskParams | null;
}

export type CreateResult =
  { ok: true; task: TaskRow } | { ok: false; reason: "template_not_found" } | { ok: false; reason: "invalid_input"; task: TaskRow; error: string };

/** Semaphore's SetStatus guards (§6): from stopped (and rejected, final in the versions that have it) nothing; running never back to waiting; stopping never to
 * waiting/running; confirmed never back to waiting_confirmation. success and error are not guarded. */
export function transitionAllowed(from: TaskStatus, to: TaskStatus): boolean {
  if (from === "stopped" || from === "rejected") return false;
  if (from === "running" && to === "waiting") return false;
  if (from === "stopping" && (to === "waiting" || to === "running")) return false;
  if (from === "confirmed" && to === "waiting_confirmation") return false;
  return true;
}

interface Running {
  task: TaskRow;
  proc: Proc;
  orphan: boolean;
  confirmWaiter: ((a: "confirmed" | "rejected") => void) | null;
}

export class TaskPool {
  private queue: TaskRow[] = [];
  private running = new Map<number, Running>();
  private interval: NodeJS.Timeout | null = null;
  private disposed = false;

  constructor(
    private readonly store: Store,
    private readonly opts: PoolOptions,
    private readonly listener: PoolListener,
  ) {}

  start(): void {
    if (this.interval || this.disposed || this.opts.tickMs <= 0) return; // 0: no timer, only explicit ticks
    this.interval = setInterval(() => this.tick(), this.opts.tickMs);
  }

  dispose(): void {
    this.disposed = true;
    if (this.interval) clearInterval(this.interval);
    this.interval = null;
    for (const r of this.running.values()) r.proc.kill();
    this.running.clear();
    this.queue = [];
  }

  // ---- creation --------------------------------------------------------------------------------------------------

  create(input: TaskInput): CreateResult {
    const tpl = this.store.inProject(this.store.templates, input.project_id, input.template_id);
    if (!tpl) return { ok: false, reason: "template_not_found" };
    const modern = this.opts.flavor === "modern";
    const { id, seq } = this.store.allocTaskId();
    const params: TaskParams = modern && input.params ? { ...input.params } : {};
    if (modern && params.limit === undefined && input.limit) {
      params.limit = input.limit
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    }
    const task: TaskRow = {
      id,
      template_id: tpl.id,
      project_id: input.project_id,
      status: "waiting",
      debug: modern ? false : (input.debug ?? false),
      dry_run: modern ? false : (input.dry_run ?? false),
      diff: modern ? false : (input.diff ?? false),
      playbook: input.playbook ?? "",
      environment: input.environment ?? "",
      limit: input.limit ?? "",
      secret: "", // never stored
      arguments: input.arguments ?? null,
      git_branch: input.git_branch ?? null,
      user_id: input.user_id,
      integration_id: input.integration_id ?? null,
      schedule_id: input.schedule_id ?? null,
      created: now(),
      start: null,
      end: null,
      message: input.message ?? "",
      commit_hash: null,
      commit_message: "",
      build_task_id: input.build_task_id ?? null,
      version: input.version ?? null,
      inventory_id: input.inventory_id ?? null,
      params,
      _seq: seq,
      _secretVars: {},
    };
    this.store.tasks.set(task.id, task);

    // populateDetails: the environment (and secret) strings must be JSON objects
    const envErr = task.environment !== "" ? goJsonError(task.environment, "object") : null;
    const secretErr = input.secret ? goJsonError(input.secret, "object") : null;
    const err = envErr ?? secretErr;
    if (err) {
      this.log(task, `Error: ${err}`);
      this.setStatus(task, "error");
      return { ok: false, reason: "invalid_input", task, error: err };
    }
    if (input.secret) {
      const v: unknown = JSON.parse(input.secret);
      if (v && typeof v === "object") task._secretVars = v as Record<string, unknown>;
    }
    this.queue.push(task);
    this.log(task, `Task ${task.id} added to queue`);
    this.listener.update(task);
    this.store.addEvent({
      user_id: task.user_id,
      project_id: task.project_id,
      object_id: task.id,
      object_type: "task",
      description: `Task ID ${task.id} queued for running`,
      integration_id: task.integration_id,
    });
    return { ok: true, task };
  }

  // ---- status machine --------------------------------------------------------------------------------------------

  /** Semaphore's guarded SetStatus. Returns false when the transition is refused. */
  setStatus(task: TaskRow, status: TaskStatus): boolean {
    if (task.status === status) return true;
    if (!transitionAllowed(task.status, status)) return false;
    task.status = status;
    if (status === "running" && task.start === null) task.start = now();
    this.listener.update(task);
    const r = this.running.get(task.id);
    if (r && r.confirmWaiter && (status === "confirmed" || status === "rejected")) {
      const w = r.confirmWaiter;
      r.confirmWaiter = null;
      w(status);
    }
    return true;
  }

  log(task: TaskRow, line: string): void {
    const row = this.store.appendOutput(task.id, line, now());
    this.listener.log(task, row);
  }

  private finish(task: TaskRow): void {
    task.end = now();
    this.listener.update(task);
    this.running.delete(task.id);
    this.addFinishedEvent(task);
  }

  private addFinishedEvent(task: TaskRow): void {
    const tpl = this.store.templates.get(task.template_id);
    this.store.addEvent({
      user_id: task.user_id,
      project_id: task.project_id,
      object_id: task.id,
      object_type: "task",
      description: `Task ID ${task.id} (${tpl?.name ?? ""}) finished - ${task.status.toUpperCase()}`,
      integration_id: task.integration_id,
    });
  }

  // ---- queue -----------------------------------------------------------------------------------------------------

  /** One pool wake-up: settle stopped queued tasks, then dequeue at most one task. */
  tick(): void {
    if (this.disposed) return;
    for (const t of [...this.queue]) {
      if (t.status === "stopping") {
        this.removeQueued(t.id);
        this.setStatus(t, "stopped");
        this.finish(t);
      } else if (isTerminalStatus(t.status) || !this.store.tasks.has(t.id)) {
        this.removeQueued(t.id);
      }
    }
    const next = this.queue.find((t) => !this.blocked(t));
    if (next) {
      this.removeQueued(next.id);
      this.startRun(next);
    }
  }

  removeQueued(id: number): void {
    const i = this.queue.findIndex((t) => t.id === id);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private blocked(t: TaskRow): boolean {
    const active = [...this.running.values()].filter((r) => !r.orphan).map((r) => r.task);
    if (this.opts.maxParallelTasks > 0 && active.length >= this.opts.maxParallelTasks) return true;
    const inProject = active.filter((a) => a.project_id === t.project_id);
    const project = this.store.projects.get(t.project_id);
    if (project && project.max_parallel_tasks > 0 && inProject.length >= project.max_parallel_tasks) return true;
    return inProject.some((a) => a.template_id === t.template_id);
  }

  private startRun(task: TaskRow): void {
    const entry: Running = { task, proc: new Proc(this.opts.lineDelayMs), orphan: false, confirmWaiter: null };
    this.running.set(task.id, entry);
    const tpl = this.store.templates.get(task.template_id);
    this.store.addEvent({
      user_id: task.user_id,
      project_id: task.project_id,
      object_id: task.id,
      object_type: "task",
      description: `Task ID ${task.id} (${tpl?.name ?? ""}) is running`,
      integration_id: task.integration_id,
    });
    const host: RunHost = {
      sleep: (u) => entry.proc.sleep(u),
      log: (t, line) => this.log(t, line),
      setStatus: (t, s) => this.setStatus(t, s),
      waitConfirmation: (t) => this.waitConfirmation(entry, t),
      finish: (t) => this.finish(t),
      disposed: () => this.disposed || entry.orphan,
    };
    void runTask(this.store, task, host, this.opts.flavor);
  }

  private waitConfirmation(entry: Running, task: TaskRow): Promise<"confirmed" | "rejected"> {
    this.setStatus(task, "waiting_confirmation");
    if (task.status === "confirmed" || task.status === "rejected") return Promise.resolve(task.status);
    return entry.proc.wait<"confirmed" | "rejected">((resolve) => {
      entry.confirmWaiter = resolve;
    });
  }

  // ---- operations from the API -----------------------------------------------------------------------------------

  isActive(taskId: number): boolean {
    return this.running.has(taskId) || this.queue.some((t) => t.id === taskId);
  }

  /** Stop per the §6 table. */
  stop(task: TaskRow, force: boolean): void {
    const queued = this.queue.some((t) => t.id === task.id);
    const run = this.running.get(task.id);
    if (!queued && !run) {
      // not active: the status is overwritten to stopped (a quirk worth reproducing), with a "finished" event
      this.setStatus(task, "stopped");
      this.addFinishedEvent(task);
      return;
    }
    if (queued) {
      if (force) {
        this.removeQueued(task.id);
        this.setStatus(task, "stopped");
        this.finish(task);
      } else {
        this.setStatus(task, "stopping");
      }
      return;
    }
    // Live only kills a process that is exactly `running`: a forced stop in another active state (starting,
    // confirmed…) shows `stopped` with `end: null` while the playbook runs on; `end` is set when it finishes.
    const runsOn = force && task.status !== "running" && task.status !== "waiting_confirmation" && !this.opts.forceStopKillsAtOnce;
    this.setStatus(task, force ? "stopped" : "stopping");
    if (!runsOn) run!.proc.kill();
  }

  /** Confirm: sets `confirmed` on any active task; false (→ 400) if the task is not active. */
  confirm(task: TaskRow): boolean {
    if (!this.isActive(task.id)) return false;
    this.setStatus(task, "confirmed");
    return true;
  }

  /** Reject (modern flavor): sets `rejected` on an active task. */
  reject(task: TaskRow): boolean {
    if (!this.isActive(task.id)) return false;
    this.setStatus(task, "rejected");
    return true;
  }

  /** Drop everything of a deleted project without further output. */
  purgeProject(projectId: number): void {
    this.queue = this.queue.filter((t) => t.project_id !== projectId);
    for (const [id, r] of this.running) {
      if (r.task.project_id === projectId) {
        r.orphan = true;
        r.proc.kill();
        this.running.delete(id);
      }
    }
  }

  /** Active tasks for GET /api/tasks. */
  active(): { task: TaskRow; location: "queue" | "running" }[] {
    return [
      ...this.queue.map((task) => ({ task, location: "queue" as const })),
      ...[...this.running.values()].filter((r) => !r.orphan).map((r) => ({ task: r.task, location: "running" as const })),
    ];
  }
}
