// Tasks: the live table of Semaphore tasks (and chat requests waiting for approval on top). It is redrawn
// only when a task changes, and at most five times a second however fast updates arrive.
import type blessed from "blessed";
import type { ViewContext } from "../context.js";
import { newestFirst, type TaskState } from "../../src/core/store.js";
import type { ApprovalRequest } from "../../src/core/approvals.js";
import { isTerminalStatus } from "../../src/semaphore/types.js";
import { recapTotals } from "../../src/semaphore/ansible.js";
import { Panel, type MouseEvent, type Nav } from "./panel.js";
import { ListView, navList, listMouse } from "../widgets/list-view.js";
import { duration } from "../text.js";

export type TaskRow = { kind: "task"; key: string; task: TaskState } | { kind: "approval"; key: string; request: ApprovalRequest };

/** Run requests waiting for approval (templates with an approval policy). */
export function pendingApprovals(ctx: ViewContext): ApprovalRequest[] {
  return ctx.app.ops.approvals.pending();
}

const STATUS_LABEL: Record<string, string> = {
  waiting: "◌ waiting",
  starting: "◐ starting",
  waiting_confirmation: "? confirm",
  confirmed: "◐ confirmed",
  rejected: "⊘ rejected",
  running: "● running",
  stopping: "◑ stopping",
  stopped: "■ stopped",
  success: "✔ success",
  error: "✖ failed",
};

export function statusLabel(s: string): string {
  return STATUS_LABEL[s] ?? s;
}

export function startedBy(t: TaskState): string {
  const o = t.origin;
  if (!o) return "-";
  if (o.via === "console") return "console";
  if (o.via === "chat") return o.user ? o.user.replace(/:.*$/, "") : "chat";
  return o.user ?? "semaphore";
}

export function elapsed(t: TaskState, now: number): string {
  const start = t.start ? Date.parse(t.start) : NaN;
  if (!Number.isFinite(start)) return t.status === "waiting" || t.status === "starting" ? "queued" : "-";
  const end = t.end ? Date.parse(t.end) : isTerminalStatus(t.status) ? NaN : now;
  return Number.isFinite(end) ? duration(end - start) : "-";
}

export function progress(t: TaskState): string {
  if (t.recap && isTerminalStatus(t.status)) {
    const r = recapTotals(t.recap);
    return (
      ["ok", "changed", "failed", "unreachable"]
        .filter((k) => r[k])
        .map((k) => `${k}=${r[k]}`)
        .join(" ") || "-"
    );
  }
  return t.currentTask ?? t.currentPlay ?? "";
}

export class TasksPanel extends Panel {
  readonly list: ListView<TaskRow>;
  onOpen?: (task: TaskState) => void;

  constructor(ctx: ViewContext, parent: blessed.Widgets.Node) {
    super(ctx, "tasks", parent);
    this.list = new ListView<TaskRow>({
      key: (r) => r.key,
      filterText: (r) =>
        r.kind === "task"
          ? `#${r.task.taskId} ${r.task.projectName ?? ""} ${r.task.templateName ?? ""} ${r.task.status} ${statusLabel(r.task.status)} ${startedBy(r.task)}`
          : `${r.request.id} ${r.request.run.summary} ${r.request.requester} approval`,
      empty: () => this.emptyText(),
      columns: [
        // a live v2.10 (BoltDB) hands out ids from 2147483646: "#" + 10 digits must fit
        { title: "ID", width: 11, priority: 10, value: (r) => (r.kind === "task" ? `#${r.task.taskId}` : r.request.id) },
        {
          title: "Project",
          width: 10,
          flex: 1,
          priority: 3,
          value: (r) => (r.kind === "task" ? (r.task.projectName ?? String(r.task.projectId)) : r.request.run.project.name),
        },
        {
          title: "Template",
          width: 12,
          flex: 2,
          priority: 8,
          value: (r) =>
            r.kind === "task" ? (r.task.templateName ?? (r.task.templateId ? `template ${r.task.templateId}` : "?")) : r.request.run.template.name,
        },
        {
          title: "Status",
          width: 12,
          priority: 9,
          value: (r) => (r.kind === "task" ? statusLabel(r.task.status) : "? approval"),
          style: (r, t) => (r.kind === "task" ? (t.status[r.task.status] ?? "") : (t.status.approval ?? "")),
        },
        {
          title: "Started by",
          width: 10,
          flex: 1,
          priority: 4,
          value: (r) => (r.kind === "task" ? startedBy(r.task) : r.request.requester.replace(/:.*$/, "")),
        },
        {
          title: "Elapsed",
          width: 7,
          priority: 7,
          align: "right",
          value: (r, now) => (r.kind === "task" ? elapsed(r.task, now) : duration(now - r.request.createdAt)),
        },
        {
          title: "Progress",
          width: 10,
          flex: 2,
          priority: 2,
          value: (r, now) =>
            r.kind === "task"
              ? progress(r.task)
              : `${r.request.approvals.length}/${r.request.needed} approvals · expires in ${duration(r.request.expiresAt - now)}` +
                (r.request.run.params ? ` · ${r.request.run.params}` : ""),
          style: (_r, t) => t.text.dim,
        },
      ],
    });
    const store = ctx.app.store;
    const refresh = () => {
      this.stale = true;
      this.markDirty();
    };
    store.on("task", refresh);
    ctx.app.ops.approvals.on("changed", refresh);
    store.on("connection", () => {
      if (store.tasks.size === 0) this.markDirty();
    });
    this.refresh();
  }

  /** Rows are rebuilt lazily at the next frame, so a burst of task events costs one sort. */
  private stale = true;

  private emptyText(): string {
    const c = this.ctx.app.store.connection;
    if (c.semaphore === "not_configured") return "Semaphore is not configured: set [semaphore] url and api_token.";
    if (c.semaphore === "connecting") return "Connecting to Semaphore…";
    if (c.semaphore === "down") return `Semaphore is unreachable${c.semaphoreDetail ? `: ${c.semaphoreDetail}` : ""}.`;
    return this.ctx.readOnly() ? "No tasks yet." : "No tasks yet. Press r to run a template.";
  }

  refresh(): void {
    this.stale = false;
    const store = this.ctx.app.store;
    const tasks = [...store.tasks.values()].sort(newestFirst);
    const rows: TaskRow[] = pendingApprovals(this.ctx).map((r) => ({ kind: "approval" as const, key: `approval:${r.id}`, request: r }));
    for (const t of tasks) rows.push({ kind: "task", key: t.key, task: t });
    this.list.setRows(rows);
  }

  get selectedTask(): TaskState | undefined {
    const r = this.list.selected;
    return r?.kind === "task" ? r.task : undefined;
  }

  get selectedRow(): TaskRow | undefined {
    return this.list.selected;
  }

  selectTask(key: string): void {
    if (this.stale && !this.ctx.paused()) this.refresh();
    this.list.selectKey(key);
    this.markDirty();
  }

  /** Tasks whose elapsed time is on screen and still moving. */
  get hasRunning(): boolean {
    for (const t of this.ctx.app.store.tasks.values()) if (!isTerminalStatus(t.status) && t.start) return true;
    return pendingApprovals(this.ctx).length > 0;
  }

  tick(): void {
    if (this.hasRunning && !this.ctx.paused()) this.markDirty();
  }

  protected summary(): string {
    const store = this.ctx.app.store;
    let active = 0;
    for (const t of store.tasks.values()) if (!isTerminalStatus(t.status)) active++;
    const parts = [];
    const waiting = pendingApprovals(this.ctx).length;
    if (waiting) parts.push(`${waiting} awaiting approval`);
    parts.push(`${active} active`);
    parts.push(this.list.position());
    return parts.join(" · ");
  }

  override update(): boolean {
    if (this.stale && this.dirty && !this.ctx.paused()) this.refresh();
    return super.update();
  }

  protected draw(width: number, height: number): string[] {
    return this.list.render(width, height, this.focused, this.ctx.theme(), this.ctx.now());
  }

  nav(n: Nav): void {
    if (this.stale && !this.ctx.paused()) this.refresh();
    navList(this.list, n);
    this.markDirty();
  }

  setFilter(text: string): void {
    this.filterText = text;
    this.list.setFilter(text);
    this.markDirty();
  }

  override activate(): void {
    if (this.stale && !this.ctx.paused()) this.refresh();
    const t = this.selectedTask;
    if (t) this.onOpen?.(t);
  }

  mouse(ev: MouseEvent, _x: number, y: number, double: boolean): boolean {
    if (this.stale && !this.ctx.paused()) this.refresh();
    const r = listMouse(this.list, ev, y, double, () => this.activate());
    if (r) this.markDirty();
    return r;
  }
}
