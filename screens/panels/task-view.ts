// Task view (Enter on a task): its state and its output, streaming, with ANSI colours, follow, wrap and
// search. While it is open the tracker follows the task, so output streams even when Semaphore is polled.
import type blessed from "blessed";
import { FullView } from "../widgets/full-view.js";
import type { ViewContext } from "../context.js";
import { CONSOLE_ACTOR } from "../context.js";
import type { TaskState, OutputLine } from "../../src/core/store.js";
import { isTerminalStatus } from "../../src/semaphore/types.js";
import { recapTotals } from "../../src/semaphore/ansible.js";
import { userMessage } from "../../src/core/operations.js";
import type { MouseEvent, Nav } from "./panel.js";
import { ScrollText } from "../widgets/scroll-text.js";
import { ScrollControls } from "../widgets/scroll-controls.js";
import { cleanAnsi, esc, fit, sanitize, stripAnsi, makeFilter } from "../text.js";
import { tag } from "../theme.js";
import { statusLabel, startedBy, elapsed } from "./tasks-panel.js";

const MAX_LINES = 20000;

export class TaskView extends FullView {
  key?: string;
  private lines: string[] = [];
  private plain: string[] = [];
  readonly view: ScrollText;
  private readonly scroll: ScrollControls;
  private unfollow?: () => void;
  private loading = false;
  private loadError?: string;
  search = "";
  private matches: number[] = [];
  private matchPos = -1;
  private readonly onOutput = (key: string, add: OutputLine[]) => {
    if (key === this.key) {
      this.append(add);
      this.markDirty();
    }
  };
  private readonly onTask = (t: TaskState) => {
    if (t.key === this.key) this.markDirty();
  };

  constructor(ctx: ViewContext, parent: blessed.Widgets.Node) {
    super(ctx, parent);
    const self = this;
    this.view = new ScrollText({
      get length() {
        return self.lines.length;
      },
      get: (i) => self.lines[i]!,
    });
    this.scroll = new ScrollControls(this.view, () => this.markDirty());
    this.view.matchSgr = ctx.sgr(ctx.theme().text.match) || "\x1b[7m";
  }

  get isOpen(): boolean {
    return this.key !== undefined;
  }

  /** The output as plain text: the lines matching the search when there is one, else the last `n`. */
  copyLines(n: number): { lines: string[]; what: string } {
    if (this.search) {
      const f = makeFilter(this.search);
      const hits = this.plain.filter((l) => f.test(l));
      return { lines: hits.slice(-n), what: `${Math.min(n, hits.length)} output lines matching /${this.search}/` };
    }
    const lines = this.plain.slice(-n);
    return { lines, what: `the last ${lines.length} output lines` };
  }

  get task(): TaskState | undefined {
    return this.key ? this.ctx.app.store.tasks.get(this.key) : undefined;
  }

  open(task: TaskState): void {
    this.close();
    this.key = task.key;
    this.lines = [];
    this.plain = [];
    this.search = "";
    this.matches = [];
    this.view.highlight = undefined;
    this.view.follow = true;
    this.view.wrap = true;
    this.view.hOffset = 0;
    this.append(this.ctx.app.store.output(task.key));
    const store = this.ctx.app.store;
    store.on("output", this.onOutput);
    store.on("task", this.onTask);
    this.unfollow = this.ctx.app.ops.tracker?.follow(task.projectId, task.taskId);
    this.box.show();
    this.box.setFront();
    this.loadError = undefined;
    if (this.lines.length === 0) {
      // Nothing in the store yet: fetch once (the operation puts it into the store, which streams it here).
      this.loading = true;
      const key = task.key;
      this.ctx.app.ops.tasks
        .output(CONSOLE_ACTOR, task)
        .then(
          (lines) => {
            if (this.key === key && this.lines.length === 0) this.append(lines);
          },
          (e) => {
            if (this.key === key) this.loadError = userMessage(e);
          },
        )
        .finally(() => {
          if (this.key === key) {
            this.loading = false;
            this.markDirty();
          }
        });
    }
    this.markDirty();
  }

  close(): void {
    if (!this.key) return;
    this.unfollow?.();
    this.unfollow = undefined;
    const store = this.ctx.app.store;
    store.removeListener("output", this.onOutput);
    store.removeListener("task", this.onTask);
    this.key = undefined;
    this.lines = [];
    this.plain = [];
    this.box.hide();
  }

  private append(add: OutputLine[]): void {
    for (const l of add) {
      const clean = cleanAnsi(l.text);
      for (const part of clean.split("\n")) {
        this.lines.push(part);
        this.plain.push(stripAnsi(part));
        if (this.search && makeFilter(this.search).test(stripAnsi(part))) this.matches.push(this.lines.length - 1);
      }
    }
    if (this.lines.length > MAX_LINES) {
      const drop = this.lines.length - MAX_LINES;
      this.lines.splice(0, drop);
      this.plain.splice(0, drop);
      this.view.shifted(drop);
      this.matches = this.matches.map((m) => m - drop).filter((m) => m >= 0);
    }
  }

  /** Elapsed time moves while the task runs. */
  tick(): void {
    const t = this.task;
    if (t && !isTerminalStatus(t.status)) this.markDirty();
  }

  // ---- search ----

  setSearch(text: string): void {
    this.search = text;
    this.matches = [];
    this.matchPos = -1;
    if (!text) {
      this.view.highlight = undefined;
      this.markDirty();
      return;
    }
    const f = makeFilter(text.replace(/^!/, ""));
    let re: RegExp;
    try {
      re = new RegExp(text.replace(/^!/, ""), "i");
    } catch {
      re = new RegExp(text.replace(/^!/, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i");
    }
    this.view.highlight = re;
    this.plain.forEach((p, i) => {
      if (f.test(p)) this.matches.push(i);
    });
    if (this.matches.length) this.nextMatch(1, true);
    this.markDirty();
  }

  /** Jumps to the next (1) or previous (-1) match. `fromView`: the first match at or after the top of the view. */
  nextMatch(dir: 1 | -1, fromView = false): void {
    if (!this.matches.length) return;
    if (fromView || this.matchPos < 0) {
      const top = this.view.follow ? Math.max(0, this.lines.length - this.view.height) : this.view.topLine;
      const idx = dir > 0 ? this.matches.findIndex((m) => m >= top) : this.matches.findLastIndex((m) => m <= top);
      this.matchPos = idx >= 0 ? idx : dir > 0 ? 0 : this.matches.length - 1;
    } else {
      this.matchPos = (this.matchPos + dir + this.matches.length) % this.matches.length;
    }
    this.view.reveal(this.matches[this.matchPos]!);
    this.markDirty();
  }

  nav(n: Nav): void {
    this.scroll.nav(n);
  }

  toggleFollow(): void {
    this.scroll.toggleFollow();
  }
  toggleWrap(): void {
    this.scroll.toggleWrap();
  }

  mouse(ev: MouseEvent): boolean {
    return this.scroll.wheel(ev);
  }

  private headerLines(t: TaskState, width: number): string[] {
    const th = this.ctx.theme();
    const now = this.ctx.now();
    const status = tag(th.status[t.status] ?? "", esc(sanitize(statusLabel(t.status))));
    const name = sanitize(t.templateName ?? `template ${t.templateId ?? "?"}`);
    const first = [
      `${tag(th.text.title, esc(`#${t.taskId}`))} ${tag(th.text.title, esc(name))}`,
      esc(sanitize(t.projectName ?? `project ${t.projectId}`)),
      status,
      `${tag(th.text.dim, "by")} ${esc(sanitize(startedBy(t)))}`,
      `${tag(th.text.dim, "elapsed")} ${esc(elapsed(t, now))}`,
    ].join(tag(th.text.dim, " · "));
    let second: string;
    if (t.recap && Object.keys(t.recap).length) {
      const r = recapTotals(t.recap);
      second = Object.entries(r)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
      second = `${tag(th.text.dim, "recap")} ${tag(r.failed || r.unreachable ? th.text.bad : th.text.ok, esc(fit(second, width - 6)))}`;
    } else if (t.currentPlay || t.currentTask) {
      const play = sanitize(t.currentPlay ?? "-");
      const task = fit(sanitize(t.currentTask ?? "-"), Math.max(4, width - 20 - play.length));
      second = `${tag(th.text.dim, "play")} ${esc(play)}  ${tag(th.text.dim, "task")} ${esc(task)}`;
    } else {
      second = tag(
        th.text.dim,
        esc(
          t.status === "waiting_confirmation"
            ? "Waiting for confirmation: a confirms, d rejects."
            : isTerminalStatus(t.status)
              ? "Finished."
              : "Waiting for output…",
        ),
      );
    }
    const rule = tag(th.text.dim, "─".repeat(width));
    return [first, second, rule];
  }

  update(): boolean {
    if (!this.dirty || !this.key) return false;
    this.dirty = false;
    const t = this.task;
    const th = this.ctx.theme();
    const width = Math.max(1, (this.box.width as number) - 2);
    const height = Math.max(1, (this.box.height as number) - 2);
    let lines: string[];
    if (!t) lines = [tag(th.text.dim, "This task is no longer known.")];
    else {
      const head = this.headerLines(t, width);
      let body: string[];
      if (this.lines.length === 0)
        body = [
          tag(
            this.loadError ? th.text.bad : th.text.dim,
            esc(sanitize(this.loadError ? `Could not load the output: ${this.loadError}` : this.loading ? "Loading output…" : "No output yet.")),
          ),
        ];
      else body = this.view.render(width, Math.max(1, height - head.length));
      lines = [...head, ...body];
    }
    const flags = this.scroll.flags();
    // Breadcrumbs: where this view sits (Tasks › #42 Deploy web › Task output › search "fail").
    const sep = tag(th.text.dim, " › ");
    const name = t ? `#${t.taskId} ${sanitize(t.templateName ?? `template ${t.templateId ?? "?"}`)}` : this.key;
    const found = this.matches.length ? `${this.matchPos + 1}/${this.matches.length}` : "no match";
    const search = this.search ? `${sep}${tag(th.text.match, esc(sanitize(`search "${this.search}"`)))} ${found}` : "";
    const crumbs = `${tag(th.text.dim, "Tasks")}${sep}${tag(th.text.title, esc(name))}${sep}${tag(th.text.title, "Task output")}${search}`;
    const label = ` ${crumbs}  ${tag(th.text.dim, esc(`${this.lines.length} lines · ${flags.join(" ")} · [ ] history · Esc back`))} `;
    return this.present(lines, label);
  }
}
