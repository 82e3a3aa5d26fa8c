// The operator console: assembles the header, the four panels, the task view, the bottom bar and the dialogs,
// routes keys (dialogs and the input bar first, then the keymap table) and the mouse, lays everything out for
// the terminal's size, and owns the terminal: nothing else writes to it while the screen is up, and it is
// restored on quit, on SIGTERM and on a crash. What happens after a key lives in flows/ (tasks, approvals, rooms,
// verification, login, config, the command runner); this file is layout, frames and routing.
import { join } from "node:path";
import type { ConsoleContext } from "../src/cli/main.js";
import type { TaskState } from "../src/core/store.js";
import { userMessage } from "../src/core/operations.js";
import { commandList } from "../src/commands/registry.js";
import { setMouse, RenderScheduler, type Screen, type TtyInput } from "./terminal.js";
import { CONSOLE_ACTOR, PANELS, type ConsoleApp, type PanelName, type ViewContext } from "./context.js";
import { theme as pickTheme, tag, type Theme } from "./theme.js";
import { Header } from "./panels/header.js";
import type { Panel, MouseEvent, Nav } from "./panels/panel.js";
import { RoomsPanel } from "./panels/rooms-panel.js";
import { TasksPanel } from "./panels/tasks-panel.js";
import { LogPanel } from "./panels/log-panel.js";
import { ConfigPanel } from "./panels/config-panel.js";
import { TaskView } from "./panels/task-view.js";
import { HistoryView } from "./views/history-view.js";
import { ViewStack, type ViewHost } from "./views/view-stack.js";
import { routeKey, type KeyRouterHost } from "./key-router.js";
import { Lifecycle } from "./lifecycle.js";
import { BottomBar, LOCAL_COMMANDS, type InputMode, type LocalActions } from "./widgets/command-bar.js";
import { Modals, TextDialog, type Modal } from "./dialogs/dialogs.js";
import { Frames } from "./frame.js";
import { TerminalSession } from "./session.js";
import { Tabs } from "./widgets/tabs.js";
import { MouseRouter } from "./mouse.js";
import { computeLayout } from "./layout.js";
import { Keymap, KEYMAP, type KeyActions, type Scope } from "./keymap.js";
import { esc } from "./text.js";
import type { KeyLike } from "./widgets/line-editor.js";
import type { FlowHost, Level } from "./flows/host.js";
import { TaskFlow } from "./flows/tasks.js";
import { confirmDecision } from "./flows/approvals.js";
import { RoomFlow } from "./flows/rooms.js";
import { VerificationFlow } from "./flows/verification.js";
import { LoginFlow } from "./flows/login.js";
import { ConfigFlow } from "./flows/config.js";
import { CommandRunner } from "./flows/commands.js";
import { CopyFlow, COPY_LINES } from "./flows/copy.js";
import { Pins } from "./flows/pins.js";

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

export class Console implements KeyActions, FlowHost, LocalActions, ViewHost, KeyRouterHost {
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
  readonly historyView: HistoryView;
  readonly bar: BottomBar;
  readonly modals: Modals;
  readonly keymap: Keymap;
  readonly taskFlow: TaskFlow;
  readonly roomFlow: RoomFlow;
  readonly verification: VerificationFlow;
  readonly login: LoginFlow;
  readonly configFlow: ConfigFlow;
  readonly commands: CommandRunner;
  readonly copy: CopyFlow;
  readonly pins: Pins;
  readonly tabs: Tabs;
  focus: PanelName = "tasks";
  zoom = false;
  compact = false;
  mouseOn: boolean;
  destroyed = false;
  /** Live updates held (p): the tasks table and the log keep what they show. */
  paused = false;
  /** When Semaphore data last changed (a task event), for the header's "updated … ago". */
  private updatedAt?: number;
  private readonly onTask = () => {
    const now = Date.now();
    // The header shows "just now" for 10 s: redraw it only when that text changes.
    if (!this.updatedAt || now - this.updatedAt >= 10_000) {
      this.header.dirty = true;
      this.ctx.render();
    }
    this.updatedAt = now;
  };
  private frames!: Frames;
  private popupWasShown = false;
  private theme: Theme;
  private ticker?: NodeJS.Timeout;
  private filterTarget?: PanelName;
  private readonly session: TerminalSession;
  private sgrCache = new Map<string, string>();
  private readonly demo: boolean;
  private readonly views: ViewStack;
  private readonly lifecycle: Lifecycle;
  get verifyDialog(): Modal | undefined {
    return this.verification?.dialog;
  }

  constructor(
    readonly app: ConsoleApp,
    private readonly opts: ConsoleOptions = {},
  ) {
    this.theme = pickTheme(app.ops.config.values.console.theme);
    this.demo = opts.demo ?? !app.config.path;
    this.mouseOn = opts.mouse ?? app.ops.config.values.console.mouse;
    this.session = new TerminalSession({ input: opts.input, output: opts.output, terminal: opts.terminal, logger: app.logger });
    this.screen = this.session.screen;
    try {
      this.scheduler = new RenderScheduler(() => this.frame(), opts.maxHz ?? 5);
      this.frames = new Frames(this.screen);
      this.ctx = {
        app,
        theme: () => this.theme,
        readOnly: () => !!app.ops.config.values.console.read_only,
        now: () => Date.now(),
        render: (urgent?: boolean) => {
          if (urgent) {
            this.frames.force = true;
            this.scheduler.soon();
          } else this.scheduler.later();
        },
        sgr: (open: string) => this.sgr(open),
        paused: () => this.paused,
      };

      this.header = new Header(this.ctx, this.screen, () => ({
        mouse: this.mouseOn,
        demo: this.demo,
        paused: this.paused,
        updatedAt: this.updatedAt,
        activity: this.app.ops.history.activitySeries(CONSOLE_ACTOR, Date.now()),
      }));
      app.store.on("task", this.onTask);
      this.tabs = new Tabs(this.screen);
      this.rooms = new RoomsPanel(this.ctx, this.screen);
      this.tasks = new TasksPanel(this.ctx, this.screen);
      this.logs = new LogPanel(this.ctx, this.screen);
      this.config = new ConfigPanel(this.ctx, this.screen);
      this.panels = { rooms: this.rooms, tasks: this.tasks, logs: this.logs, config: this.config };
      this.taskView = new TaskView(this.ctx, this.screen);
      this.historyView = new HistoryView(this.ctx, this.screen);
      const historyFile = opts.historyFile ?? join(app.ops.config.values.bot.state_dir, "console-history");
      this.pins = new Pins(join(app.ops.config.values.bot.state_dir, "console-pins.json"));
      this.bar = new BottomBar(
        this.ctx,
        this.screen,
        {
          runLine: (line) => void this.commands.run(line).catch((e) => this.reportError(e)),
          filterChanged: (mode, text) => this.filterChanged(mode, text),
          closed: (mode, kept) => this.inputClosed(mode, kept),
          preferred: (tokens, index) => this.pinnedNames(tokens, index),
        },
        historyFile || undefined,
      );
      this.modals = new Modals(this.screen, this.ctx);
      // A verification that reached its emoji while a dialog or the command bar had the keys waits for them.
      this.modals.onRemoved = () => this.verification.popWaiting();
      for (const box of [this.header.box, this.tabs.box, ...PANELS.map((n) => this.panels[n].box), this.taskView.box, this.historyView.box, this.bar.box])
        this.frames.track(box);

      this.views = new ViewStack(this);
      this.lifecycle = new Lifecycle(this, opts.exit, !opts.input);
      this.taskFlow = new TaskFlow(this, (t) => this.views.showStarted(t), this.pins);
      this.roomFlow = new RoomFlow(this);
      this.copy = new CopyFlow(this, (s) => this.session.writeRaw(s));
      this.configFlow = new ConfigFlow(this, this.config, () => this.configApplied());
      this.commands = new CommandRunner(
        this,
        this,
        (t) => {
          this.setFocus("tasks");
          this.tasks.selectTask(t.key);
        },
        () => this.screen.width as number,
      );
      this.tasks.onOpen = (t) => this.openTask(t);
      this.rooms.onActivate = (r) => this.roomFlow.details(r);
      this.config.onActivate = (row) =>
        this.showText(row.heading ? `[${row.section}]` : `[${row.section}] ${row.key}`, ConfigPanel.describe(row, this.app.ops.config));

      // Keys: this router sees every key first (dialogs and the input bar own them while open), then the
      // keymap's screen.key handlers run for keys the router left to them.
      this.screen.on("keypress", (ch: string | undefined, key: KeyLike) => routeKey(this, ch, key));
      this.keymap = new Keymap(KEYMAP, this, this.ctx.readOnly, () => this.scopes());
      this.keymap.install(this.screen, (e) => this.reportError(e));
      const mouse = new MouseRouter(this);
      (this.screen.program as unknown as NodeJS.EventEmitter).on("mouse", (ev: MouseEvent) => {
        if (!this.destroyed && this.mouseOn) mouse.route(ev);
      });
      this.screen.on("resize", () => {
        this.layout();
        this.scheduler.flush();
      });

      this.session.guard({ onSignal: () => void this.shutdown(0), onFatal: (e) => this.lifecycle.fatal(e, this.app.logger), onExit: () => this.restore() });

      setMouse(this.screen, this.mouseOn);
      this.setFocus("tasks");
      this.layout();
      // What the engine already waits for (the console can start after it) pops up once the screen is laid out.
      this.verification = new VerificationFlow(this, () => this.modals.open || this.bar.active);
      this.login = new LoginFlow(this);
      const tickMs = opts.tickMs ?? 1000;
      if (tickMs > 0) this.ticker = setInterval(() => this.tick(), tickMs);
      this.scheduler.flush();
    } catch (e) {
      // Never leave the terminal in raw mode on the alternate screen because the console failed to start.
      this.session.restore();
      throw e;
    }
  }

  // ---- frames ----

  private frame(): void {
    if (this.destroyed) return;
    const { mark, commit } = this.frames.begin();
    mark(this.header.box, this.header.update());
    // The History view covers the panels: they stay dirty and are drawn when it closes (layout()).
    if (!this.historyView.isOpen) for (const name of PANELS) mark(this.panels[name].box, this.panels[name].update());
    mark(this.taskView.box, this.taskView.update());
    mark(this.historyView.box, this.historyView.update());
    mark(this.tabs.box, this.tabs.update(this.theme, this.focus, this.taskView.isOpen ? "Task output" : undefined, this.zoom && !this.compact));
    const top = this.modals.top;
    // The verification dialog's keys are in the keymap table (scope "verify"); other dialogs describe their own.
    this.bar.setHints(
      top && top !== this.verification.dialog
        ? ` ${tag(this.theme.text.dim, esc(top.hints()))}`
        : this.keymap.hintLine(this.screen.width as number, this.theme),
    );
    mark(this.bar.box, this.bar.update());
    // The completion popup sits over a panel: while it is shown, and once after it goes, draw everything.
    const overlay = this.modals.open || !this.bar.popup.hidden || this.popupWasShown;
    this.popupWasShown = !this.bar.popup.hidden;
    commit(overlay, this.modals.open);
  }

  private tick(): void {
    this.header.tick();
    this.tasks.tick();
    this.rooms.tick();
    this.taskView.tick();
    this.historyView.tick();
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
    const l = computeLayout(this.screen.width as number, this.screen.height as number, this.focus, this.zoom);
    this.compact = l.compact;
    if (l.single) this.tabs.box.show();
    else this.tabs.box.hide();
    for (const name of PANELS) {
      const p = this.panels[name];
      const r = l.panels[name];
      if (!r) {
        p.box.hide();
        continue;
      }
      Object.assign(p.box, r);
      p.box.show();
      p.markDirty();
    }
    Object.assign(this.taskView.box, l.view);
    this.taskView.invalidate();
    Object.assign(this.historyView.box, l.view);
    this.historyView.invalidate();
    this.header.dirty = true;
    this.bar.dirty = true;
    this.tabs.invalidate();
    this.modals.updateAll();
    this.frames.force = this.frames.full = true;
  }

  // ---- focus, scopes ----

  private scopes(): Scope[] {
    if (this.verification.dialog && this.modals.top === this.verification.dialog) return ["verify"];
    if (this.historyView.isOpen) return ["history", "global"];
    if (this.taskView.isOpen) return ["taskview", "lists", "global"];
    return [this.focus, "lists", "global"];
  }

  setFocus(name: PanelName): void {
    this.focus = name;
    for (const n of PANELS) this.panels[n].setFocused(n === name);
    if (this.compact || this.zoom) this.layout();
    this.frames.force = true;
  }

  focusPanel(n: number): void {
    const name = PANELS[n - 1];
    if (!name) return;
    if (this.historyView.isOpen) this.closeHistory();
    if (this.taskView.isOpen) this.closeTask();
    this.setFocus(name);
  }

  cycleFocus(dir: 1 | -1): void {
    if (this.taskView.isOpen) {
      this.closeTask();
      return;
    }
    const i = PANELS.indexOf(this.focus);
    this.setFocus(PANELS[(i + dir + PANELS.length) % PANELS.length]!);
  }

  // ---- keys ----

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
      if (this.taskView.search) {
        this.taskView.setSearch("");
        return;
      }
      this.closeTask();
      return;
    }
    const p = this.panels[this.focus];
    if (p.filterText) {
      p.setFilter("");
      this.bar.say("Filter cleared.");
      return;
    }
    if (this.zoom) this.toggleZoom();
  }

  openCommandBar(): void {
    this.bar.open("command");
  }

  openFilter(): void {
    if (this.taskView.isOpen) {
      this.bar.open("search", this.taskView.search);
      return;
    }
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
    this.verification.popWaiting();
  }

  showHelp(): void {
    const ro = this.ctx.readOnly();
    const cmds = commandList()
      .filter((c) => !c.hidden && (!ro || c.permission === "read"))
      .map((c) => ({ usage: `:${c.name}${c.usage ? ` ${c.usage}` : ""}`, summary: c.summary }));
    for (const c of LOCAL_COMMANDS) cmds.push({ usage: c.usage, summary: c.summary });
    const width = Math.min(110, (this.screen.width as number) - 6);
    this.openDialog(
      new TextDialog(this.modals, this.ctx, { title: "Help: keys, mouse, commands", lines: this.keymap.helpLines(this.theme, width, cmds), width }),
    );
  }

  // ---- what flows need (FlowHost) ----

  say(text: string, level: Level = "info", ms?: number): void {
    this.bar.say(text, level, ms);
  }
  clearMessage(): void {
    this.bar.clearMessage();
  }

  openDialog<T extends Modal>(d: T): T {
    this.modals.push(d);
    return d;
  }

  showText(title: string, lines: string[]): void {
    this.openDialog(new TextDialog(this.modals, this.ctx, { title, lines, plain: true }));
  }

  reportError(e: unknown): void {
    this.app.logger.log("error", "console", e instanceof Error ? (e.stack ?? e.message) : String(e));
    this.bar.say(userMessage(e), "error");
  }

  // ---- key actions, handed to the flows ----

  /** The task an action applies to: the open task view's, else the selected row's. */
  private targetTask(): TaskState | undefined {
    return this.taskView.isOpen ? this.taskView.task : this.tasks.selectedTask;
  }

  runWizard(): void {
    this.taskFlow.runWizard();
  }
  stopTask(force: boolean): void {
    this.taskFlow.stop(this.targetTask(), force);
  }
  decide(accept: boolean): void {
    const row = this.taskView.isOpen ? undefined : this.tasks.selectedRow;
    if (row?.kind === "approval") confirmDecision(this, row.request, accept, () => this.tasks.markDirty());
    else this.taskFlow.confirm(this.targetTask(), accept);
  }
  sayInRoom(): void {
    this.roomFlow.say(this.rooms.selected);
  }
  joinRoom(): void {
    this.roomFlow.join();
  }
  leaveRoom(): void {
    this.roomFlow.leave(this.rooms.selected);
  }
  showVerification(): void {
    this.verification.show();
  }
  verifyDevice(): void {
    this.verification.verifyDevice(this.rooms.selected);
  }
  answerVerification(match: boolean): void {
    this.verification.answer(match);
  }
  laterVerification(): void {
    this.verification.later();
  }
  chooseButton(dir: 1 | -1): void {
    this.verification.choose(dir);
  }
  pressButton(): void {
    this.verification.pressChosen();
  }
  reloadConfig(): void {
    this.configFlow.reload();
  }
  copyTaskUrl(): void {
    this.copy.taskUrl(this.targetTask());
  }
  copyOutput(): void {
    if (this.taskView.isOpen) {
      const c = this.taskView.copyLines(COPY_LINES);
      this.copy.lines(c.lines, c.what);
      return;
    }
    this.copy.lines(this.logs.lastLines(COPY_LINES), `the last ${COPY_LINES} log lines shown`);
  }
  showLogin(): void {
    this.login.open();
  }

  /** `:run <project> <Tab>`: the pinned templates' names and ids come first. */
  private async pinnedNames(tokens: string[], index: number): Promise<string[]> {
    if (tokens[0] !== "run" || index !== 2 || !tokens[1]) return [];
    const { templates } = await this.app.ops.tasks.templates({ kind: "console" }, tokens[1]);
    return templates.filter((t) => this.pins.has(t.project_id, t.id)).flatMap((t) => [t.name, String(t.id)]);
  }

  private configApplied(): void {
    this.theme = pickTheme(this.app.ops.config.values.console.theme);
    for (const p of PANELS) this.panels[p].markDirty();
    this.header.dirty = true;
  }

  private openTask(t: TaskState): void {
    this.views.openTask(t);
  }
  private closeTask(): void {
    this.views.closeTask();
  }
  viewHistoryStep(dir: 1 | -1): void {
    this.views.step(dir);
  }
  openHistory(): void {
    this.views.openHistory();
  }
  closeHistory(): void {
    this.views.closeHistory();
  }
  pickHistory(to: number | "first" | "last"): void {
    this.historyView.pick(to);
  }
  redrawAll(): void {
    this.frames.force = this.frames.full = true;
    this.scheduler.soon();
  }

  setMouse(on?: boolean): void {
    if ((on ?? !this.mouseOn) !== this.mouseOn) this.toggleMouse();
  }

  toggleMouse(): void {
    this.mouseOn = !this.mouseOn;
    setMouse(this.screen, this.mouseOn);
    this.header.dirty = true;
    this.bar.say(
      this.mouseOn ? "Mouse on: click, double-click and wheel work. m turns it off." : "Mouse off: the terminal selects text as usual. m turns it on.",
    );
  }

  togglePause(): void {
    this.paused = !this.paused;
    if (!this.paused) {
      this.logs.resume();
      this.tasks.markDirty();
    }
    this.header.dirty = true;
    this.bar.say(
      this.paused ? "Paused: the tasks table and the log hold still. p resumes." : "Resumed: showing what changed meanwhile.",
      this.paused ? "warn" : "info",
    );
  }

  toggleZoom(): void {
    this.zoom = !this.zoom;
    this.layout();
  }

  toggleFollow(): void {
    if (this.taskView.isOpen) this.taskView.toggleFollow();
    else this.logs.toggleFollow();
  }
  toggleWrap(): void {
    if (this.taskView.isOpen) this.taskView.toggleWrap();
    else this.logs.toggleWrap();
  }
  toggleTimestamps(): void {
    this.logs.toggleTimestamps();
  }
  cycleLogLevel(): void {
    const l = this.logs.cycleLevel();
    this.bar.say(`Logs: showing ${l} and above.`);
  }
  searchNext(dir: 1 | -1): void {
    this.taskView.nextMatch(dir);
  }

  redraw(force: boolean): void {
    if (force) this.frames.force = true;
    this.scheduler.soon();
  }

  // ---- quitting, signals, crashes ----

  quit(): void {
    this.lifecycle.quit();
  }
  shutdown(code: number): Promise<void> {
    return this.lifecycle.shutdown(code);
  }

  /** Restores the terminal (idempotent, synchronous). */
  restore(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.scheduler.stop();
    if (this.ticker) clearInterval(this.ticker);
    this.taskView.close();
    this.historyView.close();
    this.app.store.removeListener("task", this.onTask);
    this.verification?.close();
    this.login?.close();
    this.session.restore();
  }
}

/** runCli's console front end: the screen is up when this resolves; app.start() runs after it. */
export async function runConsole(app: ConsoleApp, ctx: ConsoleContext): Promise<void> {
  new Console(app, { exit: (code) => ctx.exit(code), demo: ctx.args.demo || !app.config.path, mouse: app.ops.config.values.console.mouse });
}
