// Mouse routing: the top dialog gets every click; else the tab row, the open view, or the panel under the pointer
// (a press focuses it). A second press on the same cell within DOUBLE_CLICK_MS is a double click. MouseSwitch turns
// the terminal's mouse reporting on and off (m, :mouse).
import { PANELS, type PanelName } from "./context.js";
import type { Modals } from "./dialogs/dialogs.js";
import type { Panel } from "./panels/panel.js";
import type { TaskView } from "./panels/task-view.js";
import type { HistoryView } from "./views/history-view.js";
import type { BottomBar } from "./widgets/command-bar.js";
import type { MouseEvent } from "./widgets/input.js";
import type { Tabs } from "./widgets/tabs.js";
import { setMouse, type Screen } from "./terminal.js";

const DOUBLE_CLICK_MS = 400;

export interface MouseTarget {
  readonly modals: Modals;
  readonly bar: BottomBar;
  readonly tabs: Tabs;
  readonly taskView: TaskView;
  readonly historyView: HistoryView;
  readonly panels: Record<PanelName, Panel>;
  readonly focus: PanelName;
  focusPanel(n: number): void;
  setFocus(name: PanelName): void;
  /** A frame soon; `force`: even if no box reports a change. */
  redraw(force: boolean): void;
}

export class MouseRouter {
  private lastClick?: { x: number; y: number; t: number };

  constructor(private readonly c: MouseTarget) {}

  route(ev: MouseEvent): void {
    if (ev.action === "mousemove" || ev.action === "mouseup") return;
    const c = this.c;
    const now = Date.now();
    const last = this.lastClick;
    const double = ev.action === "mousedown" && !!last && last.x === ev.x && last.y === ev.y && now - last.t < DOUBLE_CLICK_MS;
    if (ev.action === "mousedown") this.lastClick = double ? undefined : { x: ev.x, y: ev.y, t: now };
    const top = c.modals.top;
    if (top) {
      const p = (top as unknown as { contentPoint?(x: number, y: number): { x: number; y: number } | undefined }).contentPoint?.(ev.x, ev.y);
      if (p) top.mouse?.(ev, p.x, p.y);
      c.redraw(true);
      return;
    }
    if (c.bar.active) return;
    // Tabs (compact and zoom).
    if (!c.tabs.box.hidden && ev.y === 1 && ev.action === "mousedown") {
      const hit = c.tabs.hit(ev.x);
      if (hit) c.focusPanel(PANELS.indexOf(hit) + 1);
      c.redraw(false);
      return;
    }
    if (c.historyView.isOpen) {
      c.historyView.mouse(ev);
      c.redraw(false);
      return;
    }
    if (c.taskView.isOpen) {
      c.taskView.mouse(ev);
      c.redraw(false);
      return;
    }
    for (const name of PANELS) {
      const p = c.panels[name];
      const pt = p.contentPoint(ev.x, ev.y);
      if (!pt) continue;
      if (ev.action === "mousedown" && c.focus !== name) c.setFocus(name);
      if (pt.y >= 0 && pt.x >= 0) p.mouse(ev, pt.x, pt.y, double);
      c.redraw(true);
      return;
    }
  }
}

/** Mouse reporting: on, clicks and the wheel reach the console; off, the terminal selects text as usual. */
export class MouseSwitch {
  /** `changed`: after each switch, with the line for the status bar. */
  constructor(
    private readonly screen: Screen,
    public on: boolean,
    private readonly changed: (message: string) => void,
  ) {}

  /** Tells the terminal what `on` says (at start). */
  apply(): void {
    setMouse(this.screen, this.on);
  }

  toggle(): void {
    this.on = !this.on;
    this.apply();
    this.changed(this.on ? "Mouse on: click, double-click and wheel work. m turns it off." : "Mouse off: the terminal selects text as usual. m turns it on.");
  }

  /** On, off, or (undefined) toggle; nothing when it already is so. */
  set(on?: boolean): void {
    if ((on ?? !this.on) !== this.on) this.toggle();
  }
}
