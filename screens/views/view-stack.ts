// The views over the panels: the task output view (with back/forward through the tasks opened, `[` and `]`) and the
// History view. Opening one closes the other; closing one lays the panels out again.
import type { TaskState } from "../../src/core/store.js";
import type { TaskView } from "../panels/task-view.js";
import type { TasksPanel } from "../panels/tasks-panel.js";
import type { BottomBar } from "../widgets/command-bar.js";
import type { PanelName } from "../context.js";
import type { HistoryView } from "./history-view.js";

export interface ViewHost {
  readonly taskView: TaskView;
  readonly historyView: HistoryView;
  readonly tasks: TasksPanel;
  readonly bar: BottomBar;
  readonly app: { store: { tasks: ReadonlyMap<string, TaskState> } };
  setFocus(name: PanelName): void;
  layout(): void;
  /** A full frame soon: a view covers what was drawn under it. */
  redrawAll(): void;
}

export class ViewStack {
  /** Task views opened, for back/forward: their keys, and where we are in them. */
  private readonly opened: string[] = [];
  private at = -1;

  constructor(private readonly h: ViewHost) {}

  openTask(t: TaskState, fromHistory = false): void {
    if (!fromHistory && this.opened[this.at] !== t.key) {
      this.opened.splice(this.at + 1, Infinity, t.key);
      this.at = this.opened.length - 1;
    }
    if (this.h.taskView.isOpen) this.h.taskView.close();
    this.h.taskView.open(t);
    this.h.redrawAll();
  }

  /** `[` and `]`: the task view opened before (or after) this one. */
  step(dir: 1 | -1): void {
    const at = this.h.taskView.isOpen ? this.at + dir : dir < 0 ? this.at : this.at + 1;
    const key = this.opened[at];
    const t = key ? this.h.app.store.tasks.get(key) : undefined;
    if (!t) {
      this.h.bar.say(dir < 0 ? "No earlier view to go back to." : "No later view to go forward to.", "warn");
      return;
    }
    this.at = at;
    this.h.tasks.selectTask(t.key);
    this.openTask(t, true);
  }

  closeTask(): void {
    const key = this.h.taskView.key;
    this.h.taskView.close();
    if (key) this.h.tasks.selectTask(key);
    if (this.h.bar.mode === "search") this.h.bar.close(false);
    this.h.layout();
  }

  /** A task just started from the console: its output, in front. */
  showStarted(task: TaskState): void {
    if (this.h.taskView.isOpen) this.h.taskView.close();
    this.h.historyView.close();
    this.h.setFocus("tasks");
    this.h.tasks.selectTask(task.key);
    this.openTask(task);
  }

  openHistory(): void {
    if (this.h.taskView.isOpen) this.closeTask();
    this.h.historyView.open();
    this.h.redrawAll();
  }

  closeHistory(): void {
    this.h.historyView.close();
    this.h.layout();
  }
}
