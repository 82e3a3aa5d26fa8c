// The operator console: assembles the header, the four panels, the task view, the bottom bar and the dialogs,
// routes keys (dialogs and the input bar first, then the keymap table) and the mouse, lays everything out for
// the terminal's size, and owns the terminal: nothing else writes to it while the screen is up, and it is
// restored on quit, on SIGTERM and on a crash. It also answers what the engine waits for from the operator:
// SAS emoji comparisons (the verification dialog) and an SSO login token.
import blessed from "blessed";
import { join } from "node:path";
import type { ConsoleContext } from "../src/cli/main.js";
import type { TaskState, VerificationState, LoginPromptState } from "../src/core/store.js";
import { userMessage } from "../src/core/operations.js";
import { isTerminalStatus } from "../src/semaphore/types.js";
import { runCommandLine } from "../src/commands/dispatch.js";
import { crashText } from "../src/log/logger.js";
import { tokenFromPaste } from "../src/matrix/sso.js";
import { commandList } from "../src/commands/registry.js";
import type { Reply } from "../src/commands/types.js";
import type { ApprovalRequest } from "../src/core/approvals.js";
import type { ResolvedRun } from "../src/core/task-ops.js";
import {
  createScreen, mouseSplittingInput, setMouse, RenderScheduler, StdioGuard, restoreTerminal, installProcessGuards,
  type Screen, type TtyInput,
} from "./terminal.js";
import { CONSOLE_ACTOR, PANELS, PANEL_TITLES, type ConsoleApp, type PanelName, type ViewContext } from "./context.js";
import { theme as pickTheme, tag, type Theme } from "./theme.js";
import { Header } from "./panels/header.js";
import type { Panel, MouseEvent, Nav } from "./panels/panel.js";
import { RoomsPanel } from "./panels/rooms-panel.js";
import { TasksPanel } from "./panels/tasks-panel.js";
import { LogPanel } from "./panels/log-panel.js";
import { ConfigPanel } from "./panels/config-panel.js";
import { TaskView } from "./panels/task-view.js";
import { BottomBar, LOCAL_COMMANDS, shownLine, type InputMode } from "./widgets/command-bar.js";
import { Modals, ConfirmDialog, PromptDialog, SelectDialog, TextDialog, type Modal } from "./dialogs/dialogs.js";
import { VerificationDialog, consoleAnswers, ENDED_PHASES, type VerifyButton } from "./dialogs/verify-dialog.js";
import { Keymap, KEYMAP, type KeyActions, type Scope } from "./keymap.js";
import { runWizard } from "./dialogs/run-wizard.js";
import { decidePending } from "./ops-adapter.js";
import { esc, sanitize, ago, width as strWidth } from "./text.js";
import type { KeyLike } from "./widgets/line-editor.js";

export interface ConsoleOptions {
  /** Terminal streams; default the process's stdin/stdout (then stdio is guarded and signals handled). */
  input?: TtyInput;
  output?: NodeJS.WritableStream;
  terminal?: string;
  /** Ends the process after the terminal is restored (runCli's exit). */
  exit?: (code: number) => unknown;
  /** Shown in the header; default: --demo or no config file. */
  demo?: boolean;
  /** Clock, elapsed times: 1000 ms; 0 turns the ticker off (tests). */
  tickMs?: number;
  /** Frames per second for data updates (keys render at once). Default 5. */
  maxHz?: number;
  /** Command bar history file; default <state_dir>/console-history, "" for none. */
  historyFile?: string;
  /** Mouse on at start; default [console] mouse. */
  mouse?: boolean;
}

const COMPACT_COLS = 100;
const COMPACT_ROWS = 28;
const DOUBLE_CLICK_MS = 400;

export class Console implements KeyActions {
  readonly screen: Screen;
  readonly scheduler: RenderScheduler;
  readonly ctx: ViewContext;
  readonly header: Header;
  readonly panels: Record<PanelName, Panel>;
  readonly rooms: RoomsPanel;
  readonly tasks: TasksPanel;
  readonly logs: LogPanel;
  readonly config: ConfigPanel;
  readonly taskView: TaskView;
  readonly bar: BottomBar;
  readonly modals: Modals;
  readonly keymap: Keymap;
  private readonly tabs: blessed.Widgets.BoxElement;
  focus: PanelName = "tasks";
  zoom = false;
  compact = false;
  mouseOn: boolean;
  destroyed = false;
  private forceRender = true;
  /** Boxes whose cells must be drawn again this frame; the others keep what they drew last time. */
  private changedBoxes = new Set<unknown>();
  /** Everything is drawn again (layout, dialogs, resize): nothing on screen can be trusted to be current. */
  private fullRedraw = true;
  private popupWasShown = false;
  private theme: Theme;
  private ticker?: NodeJS.Timeout;
  private tabRanges: Array<{ from: number; to: number; panel: PanelName }> = [];
  private lastTabs = "";
  private lastClick?: { x: number; y: number; t: number };
  private filterTarget?: PanelName;
  private wizardBusy = false;
  private stdio?: StdioGuard;
  private removeGuards?: () => void;
  private rawInput?: TtyInput;
  private detachInput?: () => void;
  private writeRaw: (s: string) => void;
  private sgrCache = new Map<string, string>();
  private readonly demo: boolean;
  private readonly onApprovals = () => { this.tasks.markDirty(); };
  /** The open emoji comparison, if any (one at a time; others wait for V or for it to close). */
  verifyDialog?: VerificationDialog;
  /** Verifications the operator put off with Esc: they do not pop up again by themselves. */
  private readonly laterIds = new Set<string>();
  /** Verifications the console answers that it has seen: their outcome is announced once. */
  private readonly watched = new Set<string>();
  private readonly onVerification = (v: VerificationState) => this.verificationChanged(v);
  loginDialog?: PromptDialog | TextDialog;
  /** When the operator last sent a login answer: a prompt right after it means the answer was not accepted. */
  private loginAnsweredAt = 0;
  private readonly onLoginPrompt = (p: LoginPromptState | undefined) => this.loginPromptChanged(p);

  constructor(readonly app: ConsoleApp, private readonly opts: ConsoleOptions = {}) {
    const usingProcess = !opts.output || opts.output === process.stdout;
    this.theme = pickTheme(app.ops.config.values.console.theme);
    this.demo = opts.demo ?? !app.config.path;
    this.mouseOn = opts.mouse ?? app.ops.config.values.console.mouse;

    // Input: the real stdin re-chunked so every mouse sequence is seen; output: stdout, with stray writes
    // (libraries, warnings) sent to the log instead of over the screen.
    const input = opts.input ?? (process.stdin as unknown as TtyInput);
    const output = opts.output ?? process.stdout;
    this.rawInput = input;
    const splitInput = mouseSplittingInput(input);
    if (usingProcess) {
      this.stdio = new StdioGuard((stream, line) => app.logger.log(stream === "stderr" ? "warn" : "info", stream, line));
      this.writeRaw = this.stdio.realStdoutWrite;
    } else {
      this.writeRaw = (s) => { output.write(s); };
    }
    this.screen = createScreen({ input: splitInput, output, terminal: opts.terminal, title: "ChatrixCD" });
    try {
      if (this.stdio) {
        // blessed keeps writing through the real stdout; everyone else is captured.
        const program = this.screen.program as unknown as { _owrite: (s: string) => unknown; write: (s: string) => unknown; output: { writable?: boolean } };
        program._owrite = program.write = (s: string) => this.writeRaw(s);
        this.stdio.engage();
      }
      this.detachInput = () => splitInput.detach();

      this.scheduler = new RenderScheduler(() => this.frame(), opts.maxHz ?? 5);
      const self = this;
      this.ctx = {
        app,
        theme: () => this.theme,
        readOnly: () => !!app.ops.config.values.console.read_only,
        now: () => Date.now(),
        render: (urgent?: boolean) => { if (urgent) { self.forceRender = true; self.scheduler.soon(); } else self.scheduler.later(); },
        sgr: (open: string) => this.sgr(open),
      };

      this.header = new Header(this.ctx, this.screen, () => ({ mouse: this.mouseOn, demo: this.demo }));
      this.tabs = blessed.box({ parent: this.screen, top: 1, left: 0, width: "100%", height: 1, tags: true, wrap: false, hidden: true });
      this.rooms = new RoomsPanel(this.ctx, this.screen);
      this.tasks = new TasksPanel(this.ctx, this.screen);
      this.logs = new LogPanel(this.ctx, this.screen);
      this.config = new ConfigPanel(this.ctx, this.screen);
      this.panels = { rooms: this.rooms, tasks: this.tasks, logs: this.logs, config: this.config };
      this.taskView = new TaskView(this.ctx, this.screen);
      const historyFile = opts.historyFile ?? join(app.ops.config.values.bot.state_dir, "console-history");
      this.bar = new BottomBar(this.ctx, this.screen, {
        runLine: (line) => void this.runLine(line).catch((e) => this.reportError(e)),
        filterChanged: (mode, text) => this.filterChanged(mode, text),
        closed: (mode, kept) => this.inputClosed(mode, kept),
      }, historyFile || undefined);
      this.modals = new Modals(this.screen, this.ctx);
      // A verification that reached its emoji while a dialog or the command bar had the keys waits for them.
      this.modals.onRemoved = () => this.popWaitingVerification();
      // blessed redraws every element on every render (about a millisecond at 160x48). Panels that did not
      // change keep their cells from the last frame instead; anything that can overlap them forces a full redraw.
      for (const box of [this.header.box, this.tabs, ...PANELS.map((n) => this.panels[n].box), this.taskView.box, this.bar.box]) this.renderOnlyWhenChanged(box);
      const alloc = this.screen.alloc.bind(this.screen);
      (this.screen as unknown as { alloc: () => void }).alloc = () => { this.fullRedraw = true; alloc(); };

      this.tasks.onOpen = (t) => this.openTask(t);
      this.rooms.onActivate = (r) => this.showText(`Room ${sanitize(r.name)}`, [
        `Name:        ${sanitize(r.name)}`, `Room ID:     ${r.roomId}`,
        `Encrypted:   ${r.encrypted ? `yes${r.trust ? `; the bot verified ${r.trust.verified} of ${r.trust.devices} member devices (v verifies one)` : ""}` : "no"}`,
        `Members:     ${r.members}`, `Last active: ${ago(r.lastActivity, Date.now())}`, `May do:      ${sanitize(r.abilities ?? "-")}`,
      ]);
      this.config.onActivate = (row) => this.showText(row.heading ? `[${row.section}]` : `[${row.section}] ${row.key}`, ConfigPanel.describe(row, this.app.ops.config));
      const approvals = (app.ops as { approvals?: { on?: (e: string, f: () => void) => void } }).approvals;
      approvals?.on?.("changed", this.onApprovals);
      app.store.on("verification", this.onVerification);
      app.store.on("loginPrompt", this.onLoginPrompt);

      // Keys: this router sees every key first (dialogs and the input bar own them while open), then the
      // keymap's screen.key handlers run for keys the router left to them.
      this.screen.on("keypress", (ch: string | undefined, key: KeyLike) => this.route(ch, key));
      this.keymap = new Keymap(KEYMAP, this, this.ctx.readOnly, () => this.scopes());
      this.keymap.install(this.screen, (e) => this.reportError(e));
      (this.screen.program as unknown as NodeJS.EventEmitter).on("mouse", (ev: MouseEvent) => this.onMouse(ev));
      this.screen.on("resize", () => { this.layout(); this.scheduler.flush(); });

      if (usingProcess) {
        this.removeGuards = installProcessGuards({
          onSignal: () => void this.shutdown(0),
          onFatal: (e) => this.fatal(e),
          onExit: () => this.restore(),
        });
      }

      setMouse(this.screen, this.mouseOn);
      this.setFocus("tasks");
      this.layout();
      // What the engine already waits for (the console can start after it).
      for (const v of app.store.activeVerifications()) this.verificationChanged(v);
      if (app.store.loginPrompt) this.loginPromptChanged(app.store.loginPrompt);
      const tickMs = opts.tickMs ?? 1000;
      if (tickMs > 0) this.ticker = setInterval(() => this.tick(), tickMs);
      this.scheduler.flush();
    } catch (e) {
      // Never leave the terminal in raw mode on the alternate screen because the console failed to start.
      this.stdio?.release();
      this.removeGuards?.();
      restoreTerminal(this.screen, this.writeRaw, input);
      splitInput.detach();
      throw e;
    }
  }

  // ---- frames ----

  private renderOnlyWhenChanged(box: blessed.Widgets.BoxElement): void {
    const el = box as unknown as { render: () => unknown; lpos?: unknown; hidden: boolean };
    const orig = el.render.bind(box);
    el.render = () => {
      if (!this.fullRedraw && !this.changedBoxes.has(box) && el.lpos && !el.hidden) return el.lpos;
      return orig();
    };
  }

  private frame(): void {
    if (this.destroyed) return;
    let changed = this.forceRender;
    this.forceRender = false;
    const mark = (box: unknown, did: boolean) => { if (did) { changed = true; this.changedBoxes.add(box); } };
    mark(this.header.box, this.header.update());
    for (const name of PANELS) mark(this.panels[name].box, this.panels[name].update());
    mark(this.taskView.box, this.taskView.update());
    mark(this.tabs, this.updateTabs());
    const top = this.modals.top;
    // The verification dialog's keys are in the keymap table (scope "verify"); other dialogs describe their own.
    this.bar.setHints(top && top !== this.verifyDialog ? ` ${tag(this.theme.text.dim, esc(top.hints()))}` : this.keymap.hintLine(this.screen.width as number, this.theme));
    mark(this.bar.box, this.bar.update());
    // The completion popup sits over a panel: while it is shown, and once after it goes, draw everything.
    if (this.modals.open || !this.bar.popup.hidden || this.popupWasShown) this.fullRedraw = true;
    this.popupWasShown = !this.bar.popup.hidden;
    this.redrawAbove();
    if (changed) this.screen.render();
    this.changedBoxes.clear();
    this.fullRedraw = this.modals.open;
  }

  /**
   * A box drawn after a changed box, over it, must be drawn again too: else the changed one shows through it
   * (the live Tasks table over the task output view). Draw order is the screen's child order.
   */
  private redrawAbove(): void {
    type Drawn = { lpos?: { xi: number; xl: number; yi: number; yl: number }; hidden: boolean };
    const boxes = this.screen.children as unknown as Drawn[];
    boxes.forEach((below, i) => {
      const a = below.lpos;
      if (!a || below.hidden || !this.changedBoxes.has(below)) return;
      for (const above of boxes.slice(i + 1)) {
        const b = above.lpos;
        if (b && !above.hidden && a.xi < b.xl && b.xi < a.xl && a.yi < b.yl && b.yi < a.yl) this.changedBoxes.add(above);
      }
    });
  }

  private tick(): void {
    this.header.tick();
    this.tasks.tick();
    this.rooms.tick();
    this.taskView.tick();
    this.bar.tick();
    if (this.header.dirty) this.scheduler.later();
  }

  /** Converts opening tags to the SGR blessed would emit (for lines built with ANSI, like the log). */
  private sgr(open: string): string {
    const hit = this.sgrCache.get(open);
    if (hit !== undefined) return hit;
    const program = this.screen.program as unknown as { _attr(p: string, v?: boolean): string | null };
    let out = "";
    for (const m of open.matchAll(/\{([^/{}][^{}]*)\}/g)) out += program._attr(m[1]!.replace(/-/g, " ")) ?? "";
    this.sgrCache.set(open, out);
    return out;
  }

  // ---- layout ----

  layout(): void {
    const cols = this.screen.width as number;
    const rows = this.screen.height as number;
    this.compact = cols < COMPACT_COLS || rows < COMPACT_ROWS;
    const single = this.compact || this.zoom;
    const top = single ? 2 : 1;
    const areaH = Math.max(3, rows - top - 1);
    if (single) this.tabs.show(); else this.tabs.hide();
    const place = (p: Panel, left: number, t: number, width: number, height: number) => {
      p.box.left = left; p.box.top = t; p.box.width = Math.max(4, width); p.box.height = Math.max(3, height);
      p.box.show();
      p.markDirty();
    };
    if (single) {
      for (const name of PANELS) {
        const p = this.panels[name];
        if (name === this.focus) place(p, 0, top, cols, areaH); else p.box.hide();
      }
    } else {
      // Tasks, the live table, across the top; the log under it; rooms and config stacked on the right.
      const topH = Math.floor(areaH * 0.45);
      const botH = areaH - topH;
      const leftW = Math.round(cols * 0.6);
      const roomsH = Math.floor(botH / 2);
      place(this.tasks, 0, top, cols, topH);
      place(this.logs, 0, top + topH, leftW, botH);
      place(this.rooms, leftW, top + topH, cols - leftW, roomsH);
      place(this.config, leftW, top + topH + roomsH, cols - leftW, botH - roomsH);
    }
    const tv = this.taskView.box;
    tv.left = 0; tv.top = top; tv.width = cols; tv.height = areaH;
    this.taskView.invalidate();
    this.header.dirty = true;
    this.bar.dirty = true;
    this.lastTabs = "";
    this.modals.updateAll();
    this.forceRender = true;
    this.fullRedraw = true;
  }

  private updateTabs(): boolean {
    if (this.tabs.hidden) return false;
    const t = this.theme;
    this.tabRanges = [];
    let x = 1;
    const parts = PANELS.map((name, i) => {
      const label = ` ${i + 1} ${PANEL_TITLES[name]} `;
      this.tabRanges.push({ from: x, to: x + strWidth(label), panel: name });
      x += strWidth(label) + 1;
      return name === this.focus && !this.taskView.isOpen ? tag(t.text.selected, esc(label)) : tag(t.text.dim, esc(label));
    });
    let s = " " + parts.join(" ");
    if (this.taskView.isOpen) s += `  ${tag(t.text.selected, " Task output ")}`;
    const right = this.zoom && !this.compact ? tag(t.text.dim, "z: all panels") : "";
    s += right ? `   ${right}` : "";
    if (s === this.lastTabs) return false;
    this.lastTabs = s;
    this.tabs.setContent(s);
    return true;
  }

  // ---- focus, scopes ----

  private scopes(): Scope[] {
    if (this.verifyDialog && this.modals.top === this.verifyDialog) return ["verify"];
    if (this.taskView.isOpen) return ["taskview", "lists", "global"];
    return [this.focus, "lists", "global"];
  }

  private setFocus(name: PanelName): void {
    this.focus = name;
    for (const n of PANELS) this.panels[n].setFocused(n === name);
    if (this.compact || this.zoom) this.layout();
    this.forceRender = true;
  }

  focusPanel(n: number): void {
    const name = PANELS[n - 1];
    if (!name) return;
    if (this.taskView.isOpen) this.closeTask();
    this.setFocus(name);
  }

  cycleFocus(dir: 1 | -1): void {
    if (this.taskView.isOpen) { this.closeTask(); return; }
    const i = PANELS.indexOf(this.focus);
    this.setFocus(PANELS[(i + dir + PANELS.length) % PANELS.length]!);
  }

  // ---- keys ----

  private route(ch: string | undefined, key: KeyLike): void {
    if (this.destroyed) return;
    const seq = key?.sequence ?? "";
    // Enter arrives twice (enter, then return); mouse reports are not keys.
    if (!key || key.full === "return" || key.full === "linefeed" || seq.startsWith("\x1b[<") || seq.startsWith("\x1b[M") || key.full === "undefined") {
      this.keymap.enabled = false;
      return;
    }
    const top: Modal | undefined = this.modals.top;
    if (top && top === this.verifyDialog) {
      // Its keys are bindings of the table (scope "verify", the only scope in force while it is on top).
      this.keymap.enabled = true;
    } else if (top) {
      this.keymap.enabled = false;
      try { top.key(ch, key); } catch (e) { this.reportError(e); }
    } else if (this.bar.active) {
      this.keymap.enabled = false;
      this.bar.key(ch, key);
    } else if (key.meta && !key.ctrl && key.full && /^M-(S-)?[a-z0-9]$|^M-[^a-zA-Z]$/.test(key.full) && !this.keymap.resolve(key.full)) {
      // Escape then a key arriving in one read looks like Alt+key: treat it as the two keys it was.
      this.keymap.enabled = false;
      this.keymap.dispatch("escape", (e) => this.reportError(e));
      this.keymap.dispatch(key.full.slice(2), (e) => this.reportError(e));
    } else {
      this.keymap.enabled = true;
    }
    this.forceRender = true;
    this.scheduler.soon();
  }

  nav(n: Nav): void {
    if (this.taskView.isOpen) this.taskView.nav(n);
    else this.panels[this.focus].nav(n);
  }

  activate(): void {
    if (this.taskView.isOpen) return;
    this.panels[this.focus].activate?.();
  }

  back(): void {
    if (this.taskView.isOpen) {
      if (this.taskView.search) { this.taskView.setSearch(""); return; }
      this.closeTask();
      return;
    }
    const p = this.panels[this.focus];
    if (p.filterText) { p.setFilter(""); this.bar.say("Filter cleared."); return; }
    if (this.zoom) this.toggleZoom();
  }

  openCommandBar(): void { this.bar.open("command"); }

  openFilter(): void {
    if (this.taskView.isOpen) { this.bar.open("search", this.taskView.search); return; }
    this.filterTarget = this.focus;
    this.bar.open("filter", this.panels[this.focus].filterText);
  }

  private filterChanged(mode: "filter" | "search", text: string): void {
    if (mode === "search") this.taskView.setSearch(text);
    else this.panels[this.filterTarget ?? this.focus].setFilter(text);
  }

  private inputClosed(mode: InputMode, kept: boolean): void {
    if (mode === "filter" && kept) {
      const p = this.panels[this.filterTarget ?? this.focus];
      if (p.filterText) this.bar.say(`Filter /${p.filterText} kept · Esc clears it`);
    }
    this.filterTarget = undefined;
    this.popWaitingVerification();
  }

  showHelp(): void {
    const ro = this.ctx.readOnly();
    const cmds = commandList().filter((c) => !c.hidden && (!ro || c.permission === "read")).map((c) => ({ usage: `:${c.name}${c.usage ? ` ${c.usage}` : ""}`, summary: c.summary }));
    for (const c of LOCAL_COMMANDS) cmds.push({ usage: c.usage, summary: c.summary });
    const width = Math.min(110, (this.screen.width as number) - 6);
    this.openDialog(new TextDialog(this.modals, this.ctx, { title: "Help: keys, mouse, commands", lines: this.keymap.helpLines(this.theme, width, cmds), width }));
  }

  private openDialog<T extends Modal>(d: T): T {
    this.modals.push(d);
    return d;
  }

  private showText(title: string, lines: string[]): void {
    this.openDialog(new TextDialog(this.modals, this.ctx, { title, lines, plain: true }));
  }

  private reportError(e: unknown): void {
    this.app.logger.log("error", "console", e instanceof Error ? e.stack ?? e.message : String(e));
    this.bar.say(userMessage(e), "error");
  }

  // ---- tasks ----

  private openTask(t: TaskState): void {
    this.taskView.open(t);
    this.forceRender = true;
    this.fullRedraw = true;
    this.scheduler.soon();
  }

  private closeTask(): void {
    const key = this.taskView.key;
    this.taskView.close();
    if (key) this.tasks.selectTask(key);
    if (this.bar.mode === "search") this.bar.close(false);
    this.layout();
  }

  runWizard(): void {
    if (this.wizardBusy) return;
    this.wizardBusy = true;
    void runWizard({
      modals: this.modals, ctx: this.ctx,
      say: (text, level) => { if (text) this.bar.say(text, level); else this.bar.clearMessage(); },
      started: (task) => this.showStarted(task),
      launch: (run) => this.launch(run),
    }).catch((e) => this.reportError(e)).finally(() => { this.wizardBusy = false; });
  }

  /** Starts a confirmed run, or opens an approval request when the template needs one. */
  private async launch(run: ResolvedRun): Promise<{ task?: TaskState; request?: ApprovalRequest }> {
    const tasks = this.app.ops.tasks as unknown as { launch?: (a: typeof CONSOLE_ACTOR, r: ResolvedRun) => Promise<{ task: TaskState } | { request: ApprovalRequest }> };
    if (typeof tasks.launch === "function") return tasks.launch.call(this.app.ops.tasks, CONSOLE_ACTOR, run);
    return { task: await this.app.ops.tasks.start(CONSOLE_ACTOR, run) };
  }

  private showStarted(task: TaskState): void {
    if (this.taskView.isOpen) this.taskView.close();
    this.setFocus("tasks");
    this.tasks.selectTask(task.key);
    this.openTask(task);
  }

  /** The task an action applies to: the open task view's, else the selected row's. */
  private targetTask(): TaskState | undefined {
    return this.taskView.isOpen ? this.taskView.task : this.tasks.selectedTask;
  }

  stopTask(force: boolean): void {
    const t = this.targetTask();
    if (!t) { this.bar.say("Select a task to stop first.", "warn"); return; }
    if (isTerminalStatus(t.status)) { this.bar.say(`Task #${t.taskId} already finished (${t.status}); nothing to stop.`, "warn"); return; }
    const name = `#${t.taskId} ${t.templateName ?? `template ${t.templateId ?? "?"}`}`;
    const d = this.openDialog(new ConfirmDialog(this.modals, this.ctx, {
      title: force ? "Force-stop task" : "Stop task",
      lines: [
        `${force ? "Force-stop" : "Stop"} task ${name} in ${t.projectName ?? `project ${t.projectId}`}?`,
        `It is ${t.status}${t.origin ? `, started by ${t.origin.via === "console" ? "the console" : t.origin.user ?? t.origin.via}` : ""}.`,
        force ? "Force-stop kills it without waiting for Ansible to finish the current step." : "Semaphore asks Ansible to stop; the task ends as stopped.",
      ],
      yes: `${force ? "Force-stop" : "Stop"} #${t.taskId}`,
      danger: true,
    }));
    void d.result.then(async (yes) => {
      if (!yes) { this.bar.say(`Task #${t.taskId} left running.`); return; }
      try {
        const fresh = this.app.store.tasks.get(t.key) ?? t;
        await this.app.ops.tasks.stop(CONSOLE_ACTOR, fresh, force);
        this.bar.say(`${force ? "Force-stop" : "Stop"} sent to task #${t.taskId}.`, "ok");
      } catch (e) {
        this.bar.say(`Could not stop #${t.taskId}: ${userMessage(e)}`, "error");
      }
    });
  }

  decide(accept: boolean): void {
    const verb = accept ? "Approve" : "Deny";
    const row = this.taskView.isOpen ? undefined : this.tasks.selectedRow;
    if (row?.kind === "approval") {
      const r = row.request;
      const d = this.openDialog(new ConfirmDialog(this.modals, this.ctx, {
        title: `${verb} run request`,
        lines: [`${verb} request ${r.id}: run ${r.run.summary}?`, `Asked by ${r.requester}; ${r.approvals.length}/${r.needed} approvals so far.`],
        yes: `${verb} ${r.id}`, danger: !accept,
      }));
      void d.result.then(async (yes) => {
        if (!yes) { this.bar.say(`Request ${r.id} unchanged.`); return; }
        try { this.bar.say(sanitize(await decidePending(this.app, r.id, accept)), "ok"); } catch (e) { this.bar.say(`${verb} ${r.id} failed: ${userMessage(e)}`, "error"); }
        this.tasks.markDirty();
      });
      return;
    }
    const t = this.targetTask();
    if (!t || t.status !== "waiting_confirmation") {
      this.bar.say(accept ? "Nothing to approve here: select a task waiting for confirmation or a run request." : "Nothing to deny here: select a task waiting for confirmation or a run request.", "warn");
      return;
    }
    const d = this.openDialog(new ConfirmDialog(this.modals, this.ctx, {
      title: accept ? "Confirm task" : "Reject task",
      lines: [`${accept ? "Confirm" : "Reject"} task #${t.taskId} ${t.templateName ?? ""} in ${t.projectName ?? `project ${t.projectId}`}?`, accept ? "Semaphore continues it (e.g. applies the plan)." : "Semaphore ends it without continuing."],
      yes: `${accept ? "Confirm" : "Reject"} #${t.taskId}`, danger: !accept,
    }));
    void d.result.then(async (yes) => {
      if (!yes) { this.bar.say(`Task #${t.taskId} still waits for confirmation.`); return; }
      try {
        await this.app.ops.tasks.confirm(CONSOLE_ACTOR, this.app.store.tasks.get(t.key) ?? t, accept);
        this.bar.say(`${accept ? "Confirmed" : "Rejected"} task #${t.taskId}.`, "ok");
      } catch (e) { this.bar.say(`Could not ${accept ? "confirm" : "reject"} #${t.taskId}: ${userMessage(e)}`, "error"); }
    });
  }

  // ---- rooms ----

  say(): void {
    const r = this.rooms.selected;
    if (!r) { this.bar.say(this.app.store.connection.matrix === "not_configured" ? "Matrix is not configured: there is no room to talk to." : "Select a room first.", "warn"); return; }
    const d = this.openDialog(new PromptDialog(this.modals, this.ctx, {
      title: `Say in ${sanitize(r.name)}`,
      lines: [`The bot posts this message in ${sanitize(r.name)} (${r.roomId}).`],
      validate: (v) => (v ? undefined : "Type a message, or Esc to cancel."),
    }));
    void d.result.then(async (text) => {
      if (!text) return;
      try { await this.app.ops.say(CONSOLE_ACTOR, r.roomId, text); this.bar.say(`Said in ${r.name}.`, "ok"); } catch (e) { this.bar.say(`Could not send: ${userMessage(e)}`, "error"); }
    });
  }

  joinRoom(): void {
    if (this.app.store.connection.matrix === "not_configured") { this.bar.say("Matrix is not configured: there is no room to join. Set [matrix] homeserver first.", "warn"); return; }
    const d = this.openDialog(new PromptDialog(this.modals, this.ctx, {
      title: "Join a room",
      lines: ["Room ID or alias, e.g. #ops:example.org or !abc123:example.org."],
      validate: (v) => (/^[!#][^:\s]+:\S+$/.test(v) ? undefined : "Expected !id:server or #alias:server."),
    }));
    void d.result.then(async (room) => {
      if (!room) return;
      try { const id = await this.app.ops.joinRoom(CONSOLE_ACTOR, room); this.bar.say(`Joined ${room} (${id}).`, "ok"); } catch (e) { this.bar.say(`Could not join ${room}: ${userMessage(e)}`, "error"); }
    });
  }

  leaveRoom(): void {
    const r = this.rooms.selected;
    if (!r) { this.bar.say("Select a room to leave first.", "warn"); return; }
    const d = this.openDialog(new ConfirmDialog(this.modals, this.ctx, {
      title: "Leave room",
      lines: [`Make the bot leave ${sanitize(r.name)} (${r.roomId})?`, "It stops answering there until it is invited again."],
      yes: "Leave room", danger: true,
    }));
    void d.result.then(async (yes) => {
      if (!yes) return;
      try { await this.app.ops.leaveRoom(CONSOLE_ACTOR, r.roomId); this.bar.say(`Left ${r.name}.`, "ok"); } catch (e) { this.bar.say(`Could not leave: ${userMessage(e)}`, "error"); }
    });
  }

  // ---- verification (SAS emoji) ----

  private lastShownVerification?: string;

  private verificationChanged(v: VerificationState): void {
    if (this.destroyed || !consoleAnswers(v)) return;
    const ended = ENDED_PHASES.includes(v.phase);
    const d = this.verifyDialog;
    if (d?.id === v.id) {
      if (ended) { this.verifyDialog = undefined; d.done(); } else d.refresh();
    }
    if (ended) {
      this.laterIds.delete(v.id);
      if (this.watched.delete(v.id)) this.announceOutcome(v);
      return;
    }
    if (!this.watched.has(v.id)) {
      this.watched.add(v.id);
      if (v.origin === "incoming" && v.phase !== "sas") this.bar.say(sanitize(`${v.otherUserId} ${v.otherDeviceId ?? ""} asks to verify the bot (${v.id}); its emoji show up here next.`));
    }
    if (v.phase === "sas" && d?.id !== v.id) this.popWaitingVerification(v);
  }

  /** Opens the emoji of a verification waiting for the console, unless the keys are busy or it was put off. */
  private popWaitingVerification(prefer?: VerificationState): void {
    if (this.destroyed || this.verifyDialog) return;
    if (this.ctx.readOnly()) {
      // A read-only console cannot answer: say so once, and let V show the emoji.
      if (prefer) this.bar.say(sanitize(`Verification ${prefer.id} with ${prefer.otherUserId} waits for its emoji comparison (read-only here; V shows it).`), "warn", 15_000);
      return;
    }
    const next = prefer ?? this.app.store.activeVerifications().find((v) => consoleAnswers(v) && v.phase === "sas" && !this.laterIds.has(v.id));
    if (!next || this.laterIds.has(next.id)) return;
    // Never under the operator's fingers: a y or n meant for a prompt must not answer the emoji.
    if (this.modals.open || this.bar.active) {
      this.bar.say(sanitize(`Verification ${next.id} with ${next.otherUserId}: its emoji show when this closes (or press V).`), "warn", 15_000);
      return;
    }
    this.openVerification(next.id);
  }

  private openVerification(id: string): void {
    const d = new VerificationDialog(this.modals, this.ctx, id, {
      state: (x) => this.app.store.verifications.get(x),
      readOnly: () => this.ctx.readOnly(),
      press: (b) => this.pressVerify(b),
    });
    this.verifyDialog = d;
    this.lastShownVerification = id;
    this.laterIds.delete(id);
    // Its keys replace the hint bar; an older message would hide them.
    this.bar.clearMessage();
    this.openDialog(d);
  }

  showVerification(): void {
    if (this.verifyDialog) return;
    const all = this.app.store.activeVerifications().filter((v) => consoleAnswers(v) && (v.phase === "sas" || v.phase === "confirmed"));
    if (!all.length) {
      const others = this.app.store.activeVerifications();
      this.bar.say(others.length ? `No emoji to compare yet: ${others.map((v) => `${v.id} ${v.phase}${v.origin === "chat" ? " (answered in chat)" : ""}`).join(", ")}.` : "No verification is waiting for the console.", "warn");
      return;
    }
    // Several waiting: each V shows the next one.
    const i = all.findIndex((v) => v.id === this.lastShownVerification);
    this.openVerification(all[(i + 1) % all.length]!.id);
  }

  private pressVerify(b: VerifyButton): void {
    if (b === "later") this.laterVerification(); else this.answerVerification(b === "match");
  }

  answerVerification(match: boolean): void {
    const d = this.verifyDialog;
    if (!d || this.modals.top !== d || !d.armed || !d.answerable) return;
    d.sending = match ? "match" : "mismatch";
    d.error = undefined;
    d.refresh();
    this.app.ops.confirmVerification(CONSOLE_ACTOR, d.id, match).then(() => {
      d.sending = undefined;
      if (this.verifyDialog === d) d.refresh();
      if (match && this.app.store.verifications.get(d.id)?.phase === "confirmed") this.bar.say(`Confirmed ${d.id}; waiting for the other device to confirm too.`, "ok", 15_000);
    }, (e) => {
      d.sending = undefined;
      d.error = userMessage(e);
      if (this.verifyDialog === d) d.refresh();
    });
  }

  laterVerification(): void {
    const d = this.verifyDialog;
    if (!d) return;
    this.verifyDialog = undefined;
    const v = d.state;
    if (v && !ENDED_PHASES.includes(v.phase)) {
      this.laterIds.add(d.id);
      this.bar.say(sanitize(`Verification ${d.id} with ${v.otherUserId} stays pending: V shows its emoji again.`), "info", 10_000);
    }
    d.done();
  }

  chooseButton(dir: 1 | -1): void { this.verifyDialog?.choose(dir); }

  pressButton(): void {
    const d = this.verifyDialog;
    if (d && d.armed) this.pressVerify(d.chosen);
  }

  /** The end of a verification the console answers: in the status line and the log. */
  private announceOutcome(v: VerificationState): void {
    const who = `${v.otherUserId} ${v.otherDeviceId ?? ""}`.trim();
    const detail = v.detail ? ` (${v.detail})` : "";
    const [text, level] = v.phase === "done" ? [`✔ Verification ${v.id}: ${who} is verified.`, "ok" as const]
      : v.phase === "mismatch" ? [`✖ Verification ${v.id} with ${who}: the emoji did not match${detail}; nothing is trusted.`, "error" as const]
      : [`Verification ${v.id} with ${who} ended: cancelled${detail}; nothing is trusted.`, "warn" as const];
    this.bar.say(sanitize(text), level, 20_000);
    this.app.logger.log(level === "ok" ? "info" : "warn", "console", text);
  }

  verifyDevice(): void {
    const r = this.rooms.selected;
    if (!r) { this.bar.say(this.app.store.connection.matrix === "not_configured" ? "Matrix is not configured: there is nobody to verify." : "Select a room first.", "warn"); return; }
    const members = this.app.ops.chat?.members?.(r.roomId) ?? [];
    this.bar.say(sanitize(`Looking up the devices of ${r.name}'s members…`));
    this.app.ops.verificationDevices(CONSOLE_ACTOR, members).then((devices) => {
      const open = devices.filter((x) => !x.verified);
      if (!open.length) { this.bar.say(devices.length ? `All ${devices.length} devices of ${sanitize(r.name)}'s members are verified.` : "The bot knows no devices of this room's members.", devices.length ? "ok" : "warn"); return; }
      this.bar.clearMessage();
      const d = this.openDialog(new SelectDialog(this.modals, this.ctx, {
        title: `Verify a device in ${sanitize(r.name)}`,
        intro: [`${devices.length - open.length} of ${devices.length} devices are verified. The bot asks the one you choose to verify; accept on that device, then compare the emoji here.`],
        items: open,
        key: (x) => `${x.userId} ${x.deviceId}`,
        label: (x) => sanitize(`${x.userId}  ${x.deviceId}${x.displayName ? `  (${x.displayName})` : ""}`),
      }));
      void d.result.then(async (dev) => {
        if (!dev) return;
        try {
          const v = await this.app.ops.startVerification(CONSOLE_ACTOR, dev.userId, dev.deviceId);
          this.bar.say(sanitize(`Verification ${v.id} requested with ${dev.userId} ${dev.deviceId}: accept it on that device; the emoji show up here.`), "ok", 15_000);
        } catch (e) { this.bar.say(`Could not start the verification: ${userMessage(e)}`, "error"); }
      });
    }, (e) => this.bar.say(userMessage(e), "error"));
  }

  // ---- SSO login ----

  private loginPromptChanged(p: LoginPromptState | undefined): void {
    if (this.destroyed) return;
    if (!p) { const d = this.loginDialog; this.loginDialog = undefined; d?.cancel(); return; }
    // Asked again right after an answer: the engine did not take it.
    const retry = Date.now() - this.loginAnsweredAt < 10_000;
    this.loginAnsweredAt = 0;
    if (!this.loginDialog) this.openLoginPrompt(retry ? "That was not accepted: paste the login token, or the whole URL the browser ended on, again." : undefined);
  }

  private openLoginPrompt(error?: string): void {
    const p = this.app.store.loginPrompt;
    if (!p) { this.bar.say("No Matrix login is waiting.", "warn"); return; }
    if (this.loginDialog) return;
    if (p.code) { this.openDeviceLogin(p); return; }
    const d = new PromptDialog(this.modals, this.ctx, {
      title: "Matrix login (SSO)",
      lines: [sanitize(p.message), "", sanitize(p.url), "", "m turns the mouse off so the terminal can select the URL (it is in the log too). What you paste is hidden."],
      validate: (v) => (tokenFromPaste(v) ? undefined : "That is not a login token or a URL with loginToken=…: paste it again."),
      secret: true,
      error,
    });
    this.loginDialog = d;
    this.openDialog(d);
    void d.result.then((text) => {
      if (this.loginDialog === d) this.loginDialog = undefined;
      if (text === undefined) {
        if (this.app.store.loginPrompt && !this.destroyed) this.bar.say("The Matrix login still waits: :login shows the prompt again.", "warn", 15_000);
        return;
      }
      try {
        this.loginAnsweredAt = Date.now();
        const ok = this.app.ops.answerLoginPrompt(CONSOLE_ACTOR, text);
        this.bar.say(ok ? "Login token sent; logging in…" : "No Matrix login is waiting any more.", ok ? "ok" : "warn");
      } catch (e) { this.bar.say(userMessage(e), "error"); }
    });
  }

  /** The OAuth device grant: nothing to paste; the operator approves the code in a browser and the prompt goes away. */
  private openDeviceLogin(p: LoginPromptState): void {
    const d = new TextDialog(this.modals, this.ctx, {
      title: "Matrix login (device)",
      lines: [sanitize(p.message), "", `Open: ${sanitize(p.url)}`, `Code: ${sanitize(p.code ?? "")}`, "", "This closes by itself once the login is approved. m turns the mouse off so the terminal can select the URL (it is in the log too)."],
      plain: true,
    });
    this.loginDialog = d;
    this.openDialog(d);
    void d.result.then(() => {
      if (this.loginDialog === d) this.loginDialog = undefined;
      if (this.app.store.loginPrompt && !this.destroyed) this.bar.say("The Matrix login still waits for approval: :login shows the code again.", "warn", 15_000);
    });
  }

  // ---- config, mouse, zoom ----

  reloadConfig(): void {
    try {
      const r = this.app.ops.reloadConfig(CONSOLE_ACTOR);
      const errors = r.problems.filter((p) => p.startsWith("error"));
      this.config.setReload({ time: Date.now(), ok: r.ok, message: r.ok ? `${r.problems.length} warning(s)` : errors.join("; ") });
      if (r.ok) {
        this.theme = pickTheme(this.app.ops.config.values.console.theme);
        this.bar.say(`Configuration reloaded${r.problems.length ? ` with ${r.problems.length} warning(s)` : ""}.`, "ok");
      } else this.bar.say(`Reload refused, the running config is kept: ${errors[0] ?? "invalid file"}`, "error");
    } catch (e) {
      this.config.setReload({ time: Date.now(), ok: false, message: userMessage(e) });
      this.bar.say(userMessage(e), "error");
    }
    for (const p of PANELS) this.panels[p].markDirty();
    this.header.dirty = true;
  }

  toggleMouse(): void {
    this.mouseOn = !this.mouseOn;
    setMouse(this.screen, this.mouseOn);
    this.header.dirty = true;
    this.bar.say(this.mouseOn ? "Mouse on: click, double-click and wheel work. m turns it off." : "Mouse off: the terminal selects text as usual. m turns it on.");
  }

  toggleZoom(): void {
    this.zoom = !this.zoom;
    this.layout();
  }

  // ---- logs and the task view ----

  toggleFollow(): void { if (this.taskView.isOpen) this.taskView.toggleFollow(); else this.logs.toggleFollow(); }
  toggleWrap(): void { if (this.taskView.isOpen) this.taskView.toggleWrap(); else this.logs.toggleWrap(); }
  toggleTimestamps(): void { this.logs.toggleTimestamps(); }
  cycleLogLevel(): void { const l = this.logs.cycleLevel(); this.bar.say(`Logs: showing ${l} and above.`); }
  searchNext(dir: 1 | -1): void { this.taskView.nextMatch(dir); }

  // ---- the command bar ----

  async runLine(line: string): Promise<void> {
    const [word, ...rest] = line.split(/\s+/);
    const local = LOCAL_COMMANDS.find((c) => c.name === word || c.aliases.includes(word ?? ""));
    if (local?.name === "quit") { void this.shutdown(0); return; }
    if (local?.name === "login") { this.openLoginPrompt(); return; }
    if (local?.name === "mouse") {
      const want = rest[0] === "on" ? true : rest[0] === "off" ? false : !this.mouseOn;
      if (want !== this.mouseOn) this.toggleMouse();
      return;
    }
    const before = this.app.ops.lastTask(CONSOLE_ACTOR);
    this.bar.say(`:${shownLine(line)} …`);
    const reply = await runCommandLine({ actor: CONSOLE_ACTOR, ops: this.app.ops, prefix: ":" }, line);
    await this.showReply(line, reply);
    const after = this.app.ops.lastTask(CONSOLE_ACTOR);
    if (after && (after.taskId !== before?.taskId || after.projectId !== before?.projectId)) {
      // The command started a task: show it.
      const t = this.app.store.tasks.get(`${after.projectId}:${after.taskId}`);
      if (t) { this.setFocus("tasks"); this.tasks.selectTask(t.key); }
    }
  }

  private async showReply(line: string, reply: Reply): Promise<void> {
    if (reply.confirm) {
      const c = reply.confirm;
      // The chat prompt, without its chat-only instructions (reply yes/no, react).
      const body = reply.text.split("\n").map(sanitize).filter((l) => l.trim() && !/^reply\b.*\byes\b/i.test(l) && !/\breact\b/i.test(l));
      const d = this.openDialog(new ConfirmDialog(this.modals, this.ctx, {
        title: "Confirm",
        lines: body.some((l) => l.includes(c.summary)) ? body : [c.summary, ...(body.length ? ["", ...body] : [])],
        yes: "Yes, do it",
      }));
      const timer = c.timeoutMs ? setTimeout(() => d.cancel(), c.timeoutMs) : undefined;
      const yes = await d.result;
      if (timer) clearTimeout(timer);
      if (!yes) { await c.onCancel?.(); this.bar.say("Cancelled; nothing was done."); return; }
      let next: Reply;
      try { next = await c.onConfirm(); } catch (e) { this.bar.say(userMessage(e), "error"); return; }
      await this.showReply(line, next);
      return;
    }
    const lines = reply.text.split("\n").map((l) => sanitize(l));
    const level = /^(🚫|⚠|❓)/u.test(lines[0] ?? "") ? (lines[0]!.startsWith("🚫") ? "error" : "warn") : "info";
    if (lines.length === 1 && strWidth(lines[0]!) < (this.screen.width as number) - 4) this.bar.say(lines[0]!, level, 10_000);
    else this.showText(`:${shownLine(line)}`, lines);
  }

  // ---- mouse ----

  private onMouse(ev: MouseEvent): void {
    if (this.destroyed || !this.mouseOn) return;
    if (ev.action === "mousemove" || ev.action === "mouseup") return;
    const now = Date.now();
    const double = ev.action === "mousedown" && !!this.lastClick && this.lastClick.x === ev.x && this.lastClick.y === ev.y && now - this.lastClick.t < DOUBLE_CLICK_MS;
    if (ev.action === "mousedown") this.lastClick = double ? undefined : { x: ev.x, y: ev.y, t: now };
    const top = this.modals.top;
    if (top) {
      const p = (top as unknown as { contentPoint?(x: number, y: number): { x: number; y: number } | undefined }).contentPoint?.(ev.x, ev.y);
      if (p) top.mouse?.(ev, p.x, p.y);
      this.forceRender = true;
      this.scheduler.soon();
      return;
    }
    if (this.bar.active) return;
    // Tabs (compact and zoom).
    if (!this.tabs.hidden && ev.y === 1 && ev.action === "mousedown") {
      const hit = this.tabRanges.find((r) => ev.x >= r.from && ev.x < r.to);
      if (hit) this.focusPanel(PANELS.indexOf(hit.panel) + 1);
      this.scheduler.soon();
      return;
    }
    if (this.taskView.isOpen) {
      this.taskView.mouse(ev);
      this.scheduler.soon();
      return;
    }
    for (const name of PANELS) {
      const p = this.panels[name];
      const pt = p.contentPoint(ev.x, ev.y);
      if (!pt) continue;
      if (ev.action === "mousedown" && this.focus !== name) this.setFocus(name);
      if (pt.y >= 0 && pt.x >= 0) p.mouse(ev, pt.x, pt.y, double);
      this.forceRender = true;
      this.scheduler.soon();
      return;
    }
  }

  // ---- quitting, signals, crashes ----

  quit(): void {
    const m = this.app.store.connection.matrix;
    if (m === "not_configured" || m === "stopped") { void this.shutdown(0); return; }
    const d = this.openDialog(new ConfirmDialog(this.modals, this.ctx, {
      title: "Quit",
      lines: ["Quit ChatrixCD?", "The bot stops answering in Matrix until it is started again. Tasks already running in Semaphore continue."],
      yes: "Quit", danger: true,
    }));
    void d.result.then((yes) => { if (yes) void this.shutdown(0); });
  }

  /** Restores the terminal (idempotent, synchronous). */
  restore(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.scheduler.stop();
    if (this.ticker) clearInterval(this.ticker);
    this.taskView.close();
    const approvals = (this.app.ops as { approvals?: { removeListener?: (e: string, f: () => void) => void } }).approvals;
    approvals?.removeListener?.("changed", this.onApprovals);
    this.app.store.removeListener("verification", this.onVerification);
    this.app.store.removeListener("loginPrompt", this.onLoginPrompt);
    restoreTerminal(this.screen, this.writeRaw, this.rawInput);
    this.detachInput?.();
    this.stdio?.release();
    this.removeGuards?.();
    this.removeGuards = undefined;
  }

  /** Restores the terminal, then stops the engine through runCli's exit. */
  async shutdown(code: number): Promise<void> {
    if (this.destroyed) return;
    this.restore();
    // The terminal is back; if stopping the engine takes a while (Matrix, Semaphore), say so.
    const slow = this.opts.input ? undefined : setTimeout(() => process.stderr.write("chatrixcd: stopping…\n"), 2000);
    slow?.unref();
    try { await this.opts.exit?.(code); } finally { if (slow) clearTimeout(slow); }
  }

  private fatal(e: unknown): void {
    const wasUp = !this.destroyed;
    this.restore();
    const text = crashText(e, this.app.logger.redactor);
    try { this.app.logger.log("error", "console", `crash: ${text}`); } catch { /* ignore */ }
    process.stderr.write(`\nchatrixcd: crashed${wasUp ? " (terminal restored)" : ""}:\n${text}\n`);
    setTimeout(() => process.exit(1), 3000).unref();
    void Promise.resolve(this.opts.exit?.(1)).catch(() => undefined).finally(() => process.exit(1));
  }
}

/** runCli's console front end: the screen is up when this resolves; app.start() runs after it. */
export async function runConsole(app: ConsoleApp, ctx: ConsoleContext): Promise<void> {
  new Console(app, { exit: (code) => ctx.exit(code), demo: ctx.args.demo || !app.config.path, mouse: app.ops.config.values.console.mouse });
}
