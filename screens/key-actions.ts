// What each key (the keymap's actions) and each of the console's own commands (:quit, :mouse, :login, :history)
// does: each is handed to the flow, panel or view it belongs to. Which view has the keys decides: the open task
// view takes navigation, search and copy; otherwise the focused panel does.
import type { TaskState } from "../src/core/store.js";
import type { PanelName } from "./context.js";
import type { KeyActions, Keymap } from "./keymap.js";
import type { Screen } from "./terminal.js";
import type { MouseSwitch } from "./mouse.js";
import type { Lifecycle } from "./lifecycle.js";
import { helpDialog } from "./dialogs/help.js";
import type { Panel, Nav } from "./panels/panel.js";
import type { RoomsPanel } from "./panels/rooms-panel.js";
import type { TasksPanel } from "./panels/tasks-panel.js";
import type { LogPanel } from "./panels/log-panel.js";
import type { TaskView } from "./panels/task-view.js";
import type { HistoryView } from "./views/history-view.js";
import type { ViewStack } from "./views/view-stack.js";
import type { BottomBar, LocalActions } from "./widgets/command-bar.js";
import type { FlowHost } from "./flows/host.js";
import type { TaskFlow } from "./flows/tasks.js";
import { confirmDecision } from "./flows/approvals.js";
import type { RoomFlow } from "./flows/rooms.js";
import type { VerificationFlow } from "./flows/verification.js";
import type { LoginFlow } from "./flows/login.js";
import type { ConfigFlow } from "./flows/config.js";
import { COPY_LINES, type CopyFlow } from "./flows/copy.js";
import type { FilterFlow } from "./flows/filter.js";
import type { LiveUpdates } from "./flows/live-updates.js";

/** The console's parts the actions reach; what changes the layout (focus, zoom) stays in the console. */
export interface ActionTarget extends FlowHost {
  readonly panels: Record<PanelName, Panel>;
  readonly focus: PanelName;
  readonly zoom: boolean;
  readonly rooms: RoomsPanel;
  readonly tasks: TasksPanel;
  readonly logs: LogPanel;
  readonly taskView: TaskView;
  readonly historyView: HistoryView;
  readonly views: ViewStack;
  readonly bar: BottomBar;
  readonly taskFlow: TaskFlow;
  readonly roomFlow: RoomFlow;
  readonly verification: VerificationFlow;
  readonly login: LoginFlow;
  readonly configFlow: ConfigFlow;
  readonly copy: CopyFlow;
  readonly filter: FilterFlow;
  readonly live: LiveUpdates;
  readonly keymap: Keymap;
  readonly screen: Screen;
  readonly mouse: MouseSwitch;
  focusPanel(n: number): void;
  cycleFocus(dir: 1 | -1): void;
  readonly lifecycle: Lifecycle;
  toggleZoom(): void;
}

export function keyActions(c: ActionTarget): KeyActions & LocalActions {
  /** The task an action applies to: the open task view's, else the selected row's. */
  const targetTask = (): TaskState | undefined => (c.taskView.isOpen ? c.taskView.task : c.tasks.selectedTask);
  return {
    focusPanel: (n) => c.focusPanel(n),
    cycleFocus: (dir) => c.cycleFocus(dir),
    nav: (n: Nav) => (c.taskView.isOpen ? c.taskView.nav(n) : c.panels[c.focus].nav(n)),
    activate: () => {
      if (!c.taskView.isOpen) c.panels[c.focus].activate?.();
    },
    back: () => {
      if (c.filter.clear()) return;
      if (c.taskView.isOpen) c.views.closeTask();
      else if (c.zoom) c.toggleZoom();
    },
    openCommandBar: () => c.bar.open("command"),
    openFilter: () => c.filter.open(),
    showHelp: () => c.openDialog(helpDialog(c.modals, c.ctx, c.keymap, c.screen.width as number)),
    runWizard: () => c.taskFlow.runWizard(),
    stopTask: (force) => c.taskFlow.stop(targetTask(), force),
    decide: (accept) => {
      const row = c.taskView.isOpen ? undefined : c.tasks.selectedRow;
      if (row?.kind === "approval") confirmDecision(c, row.request, accept, () => c.tasks.markDirty());
      else c.taskFlow.confirm(targetTask(), accept);
    },
    sayInRoom: () => c.roomFlow.say(c.rooms.selected),
    joinRoom: () => c.roomFlow.join(),
    leaveRoom: () => c.roomFlow.leave(c.rooms.selected),
    reloadConfig: () => c.configFlow.reload(),
    toggleMouse: () => c.mouse.toggle(),
    setMouse: (on) => c.mouse.set(on),
    toggleZoom: () => c.toggleZoom(),
    togglePause: () => c.live.togglePause(),
    viewHistoryStep: (dir) => c.views.step(dir),
    copyTaskUrl: () => c.copy.taskUrl(targetTask()),
    copyOutput: () => {
      if (c.taskView.isOpen) {
        const { lines, what } = c.taskView.copyLines(COPY_LINES);
        c.copy.lines(lines, what);
      } else c.copy.lines(c.logs.lastLines(COPY_LINES), `the last ${COPY_LINES} log lines shown`);
    },
    quit: () => c.lifecycle.quit(),
    toggleFollow: () => (c.taskView.isOpen ? c.taskView.toggleFollow() : c.logs.toggleFollow()),
    toggleWrap: () => (c.taskView.isOpen ? c.taskView.toggleWrap() : c.logs.toggleWrap()),
    toggleTimestamps: () => c.logs.toggleTimestamps(),
    cycleLogLevel: () => c.bar.say(`Logs: showing ${c.logs.cycleLevel()} and above.`),
    searchNext: (dir) => c.taskView.nextMatch(dir),
    showVerification: () => c.verification.show(),
    verifyDevice: () => c.verification.verifyDevice(c.rooms.selected),
    answerVerification: (match) => c.verification.answer(match),
    laterVerification: () => c.verification.later(),
    chooseButton: (dir) => c.verification.choose(dir),
    pressButton: () => c.verification.pressChosen(),
    showLogin: () => c.login.open(),
    openHistory: () => c.views.openHistory(),
    closeHistory: () => c.views.closeHistory(),
    pickHistory: (to) => c.historyView.pick(to),
  };
}
