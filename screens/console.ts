// The operator console: assembles the header, the four panels, the task view, the bottom bar and the dialogs,
// routes keys (dialogs and the input bar first, then the keymap table) and the mouse, lays everything out for
// the terminal's size, and owns the terminal: nothing else writes to it while the screen is up, and it is
// restored on quit, on SIGTERM and on a crash. What each key does is in key-actions.ts, which hands it to flows/
// (tasks, approvals, rooms, verification, login, config, filter, live updates, the command runner); this file is
// layout, frames and routing.
import { join } from "node:path";
import type { ConsoleContext } from "../src/cli/main.js";
import type { TaskState } from "../src/core/store.js";
import { userMessage } from "../src/core/operations.js";
import { RenderScheduler, type Screen } from "./terminal.js";
import { CONSOLE_ACTOR, PANELS, type ConsoleApp, type PanelName, type ViewContext } from "./context.js";
import { theme as pickTheme, tag, type Theme } from "./theme.js";
import { Header } from "./panels/header.js";
import type { Panel, MouseEvent } from "./panels/panel.js";
import { RoomsPanel } from "./panels/rooms-panel.js";
import { TasksPanel } from "./panels/tasks-panel.js";
import { LogPanel } from "./panels/log-panel.js";
import { ConfigPanel } from "./panels/config-panel.js";
import { TaskView } from "./panels/task-view.js";
import { HistoryView } from "./views/history-view.js";
import { ViewStack, type ViewHost } from "./views/view-stack.js";
import { routeKey, type KeyRouterHost } from "./key-router.js";
import { Lifecycle } from "./lifecycle.js";
import { BottomBar } from "./widgets/command-bar.js";
import { Modals, TextDialog, type Modal } from "./dialogs/dialogs.js";
import { Frames } from "./frame.js";
import { TerminalSession } from "./session.js";
import { Tabs } from "./widgets/tabs.js";
import { MouseRouter, MouseSwitch } from "./mouse.js";
import { computeLayout } from "./layout.js";
import { Keymap, KEYMAP, type Scope } from "./keymap.js";
import { keyActions, type ActionTarget } from "./key-actions.js";
import { SgrCache } from "./sgr.js";
import { esc } from "./text.js";
import type { KeyLike } from "./widgets/line-editor.js";
import type { Level } from "./flows/host.js";
import { TaskFlow } from "./flows/tasks.js";
import { RoomFlow } from "./flows/rooms.js";
import { VerificationFlow } from "./flows/verification.js";
import { LoginFlow } from "./flows/login.js";
import { ConfigFlow } from "./flows/config.js";
import { CommandRunner } from "./flows/commands.js";
import { CopyFlow } from "./flows/copy.js";
import { FilterFlow } from "./flows/filter.js";
import { LiveUpdates } from "./flows/live-updates.js";
import { Pins, pinnedTemplateNames } from "./flows/pins.js";
import type { ConsoleOptions } from "./console-options.js";

export type { ConsoleOptions };

export class Console implements ActionTarget, ViewHost, KeyRouterHost {
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
  readonly filter: FilterFlow;
  readonly live: LiveUpdates;
  readonly pins: Pins;
  readonly views: ViewStack;
  readonly tabs: Tabs;
  focus: PanelName = "tasks";
  zoom = false;
  compact = false;
  readonly mouse: MouseSwitch;
  destroyed = false;
  private frames!: Frames;
  private popupWasShown = false;
  private theme: Theme;
  private ticker?: NodeJS.Timeout;
  private readonly session: TerminalSession;
  private readonly demo: boolean;
  readonly lifecycle: Lifecycle;
  get verifyDialog(): Modal | undefined {
    return this.verification?.dialog;
  }

  constructor(
    readonly app: ConsoleApp,
    private readonly opts: ConsoleOptions = {},
  ) {
    this.theme = pickTheme(app.ops.config.values.console.theme);
    this.demo = opts.demo ?? !app.config.path;
    this.session = new TerminalSession({ input: opts.input, output: opts.output, terminal: opts.terminal, logger: app.logger });
    this.screen = this.session.screen;
    this.mouse = new MouseSwitch(this.screen, opts.mouse ?? app.ops.config.values.console.mouse, (message) => {
      this.header.dirty = true;
      this.bar.say(message);
    });
    try {
      this.scheduler = new RenderScheduler(() => this.frame(), opts.maxHz ?? 5);
      this.frames = new Frames(this.screen);
      const program = this.screen.program as unknown as { _attr(p: string, v?: boolean): string | null };
      const sgr = new SgrCache((p) => program._attr(p));
      this.live = new LiveUpdates(this);
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
        sgr: (open: string) => sgr.convert(open),
        paused: () => this.live.paused,
      };

      this.header = new Header(this.ctx, this.screen, () => ({
        mouse: this.mouse.on,
        demo: this.demo,
        paused: this.live.paused,
        updatedAt: this.live.updatedAt,
        activity: this.app.ops.history.activitySeries(CONSOLE_ACTOR, Date.now()),
      }));
      app.store.on("task", this.live.taskChanged);
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
          filterChanged: (mode, text) => this.filter.changed(mode, text),
          closed: (mode, kept) => {
            this.filter.closed(mode, kept);
            this.verification.popWaiting();
          },
          preferred: (tokens, index) => pinnedTemplateNames(this.app.ops, this.pins, tokens, index),
        },
        historyFile || undefined,
      );
      this.filter = new FilterFlow(this);
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
      const actions = keyActions(this);
      this.commands = new CommandRunner(
        this,
        actions,
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
      this.keymap = new Keymap(KEYMAP, actions, this.ctx.readOnly, () => this.scopes());
      this.keymap.install(this.screen, (e) => this.reportError(e));
      const mouseRouter = new MouseRouter(this);
      (this.screen.program as unknown as NodeJS.EventEmitter).on("mouse", (ev: MouseEvent) => {
        if (!this.destroyed && this.mouse.on) mouseRouter.route(ev);
      });
      this.screen.on("resize", () => {
        this.layout();
        this.scheduler.flush();
      });

      this.session.guard({ onSignal: () => void this.shutdown(0), onFatal: (e) => this.lifecycle.fatal(e, this.app.logger), onExit: () => this.restore() });

      this.mouse.apply();
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
    if (this.historyView.isOpen) this.views.closeHistory();
    if (this.taskView.isOpen) this.views.closeTask();
    this.setFocus(name);
  }

  cycleFocus(dir: 1 | -1): void {
    if (this.taskView.isOpen) {
      this.views.closeTask();
      return;
    }
    const i = PANELS.indexOf(this.focus);
    this.setFocus(PANELS[(i + dir + PANELS.length) % PANELS.length]!);
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

  private configApplied(): void {
    this.theme = pickTheme(this.app.ops.config.values.console.theme);
    for (const p of PANELS) this.panels[p].markDirty();
    this.header.dirty = true;
  }

  private openTask(t: TaskState): void {
    this.views.openTask(t);
  }

  redrawAll(): void {
    this.frames.force = this.frames.full = true;
    this.scheduler.soon();
  }

  get mouseOn(): boolean {
    return this.mouse.on;
  }

  toggleZoom(): void {
    this.zoom = !this.zoom;
    this.layout();
  }

  redraw(force: boolean): void {
    if (force) this.frames.force = true;
    this.scheduler.soon();
  }

  // ---- quitting, signals, crashes ----

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
    this.app.store.removeListener("task", this.live.taskChanged);
    this.verification?.close();
    this.login?.close();
    this.session.restore();
  }
}

/** runCli's console front end: the screen is up when this resolves; app.start() runs after it. */
export async function runConsole(app: ConsoleApp, ctx: ConsoleContext): Promise<void> {
  new Console(app, { exit: (code) => ctx.exit(code), demo: ctx.args.demo || !app.config.path, mouse: app.ops.config.values.console.mouse });
}
