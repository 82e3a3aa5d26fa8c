// `/` filters the focused panel's rows, or searches the open task view's output; Esc clears what is set. A filter
// stays on the panel it was typed for even if the focus moves while the bar is open.
import type { PanelName } from "../context.js";
import type { Panel } from "../panels/panel.js";
import type { TaskView } from "../panels/task-view.js";
import type { BottomBar, InputMode } from "../widgets/command-bar.js";

export interface FilterHost {
  readonly taskView: TaskView;
  readonly panels: Record<PanelName, Panel>;
  readonly focus: PanelName;
  readonly bar: BottomBar;
}

export class FilterFlow {
  /** The panel the open filter bar types into. */
  private target?: PanelName;

  constructor(private readonly h: FilterHost) {}

  open(): void {
    const h = this.h;
    if (h.taskView.isOpen) {
      h.bar.open("search", h.taskView.search);
      return;
    }
    this.target = h.focus;
    h.bar.open("filter", h.panels[h.focus].filterText);
  }

  /** As the operator types. */
  changed(mode: "filter" | "search", text: string): void {
    if (mode === "search") this.h.taskView.setSearch(text);
    else this.h.panels[this.target ?? this.h.focus].setFilter(text);
  }

  /** The bar closed: Enter keeps the filter (and says how to clear it), Esc in the bar already cleared it. */
  closed(mode: InputMode, kept: boolean): void {
    if (mode === "filter" && kept) {
      const p = this.h.panels[this.target ?? this.h.focus];
      if (p.filterText) this.h.bar.say(`Filter /${p.filterText} kept · Esc clears it`);
    }
    this.target = undefined;
  }

  /** Esc outside the bar: clears the task view's search, else the focused panel's filter; false if none was set. */
  clear(): boolean {
    const h = this.h;
    if (h.taskView.isOpen) {
      if (!h.taskView.search) return false;
      h.taskView.setSearch("");
      return true;
    }
    const p = h.panels[h.focus];
    if (!p.filterText) return false;
    p.setFilter("");
    h.bar.say("Filter cleared.");
    return true;
  }
}
