// The tab row shown when one panel fills the screen (compact terminals, zoom): numbered panels, the open view,
// and which tab a click hits.
import blessed from "blessed";
import { PANELS, PANEL_TITLES, type PanelName } from "../context.js";
import { esc, width as strWidth } from "../text.js";
import { tag, type Theme } from "../theme.js";

export class Tabs {
  readonly box: blessed.Widgets.BoxElement;
  private ranges: Array<{ from: number; to: number; panel: PanelName }> = [];
  private last = "";

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({ parent, top: 1, left: 0, width: "100%", height: 1, tags: true, wrap: false, hidden: true });
  }

  /** Draw again at the next update (after a layout). */
  invalidate(): void {
    this.last = "";
  }

  /** `view`: the name of an open view shown after the panels ("Task output"); `zoomed`: the way back. */
  update(t: Theme, focus: PanelName, view: string | undefined, zoomed: boolean): boolean {
    if (this.box.hidden) return false;
    this.ranges = [];
    let x = 1;
    const parts = PANELS.map((name, i) => {
      const label = ` ${i + 1} ${PANEL_TITLES[name]} `;
      this.ranges.push({ from: x, to: x + strWidth(label), panel: name });
      x += strWidth(label) + 1;
      return name === focus && !view ? tag(t.text.selected, esc(label)) : tag(t.text.dim, esc(label));
    });
    let s = " " + parts.join(" ");
    if (view) s += `  ${tag(t.text.selected, esc(` ${view} `))}`;
    if (zoomed) s += `   ${tag(t.text.dim, "z: all panels")}`;
    if (s === this.last) return false;
    this.last = s;
    this.box.setContent(s);
    return true;
  }

  /** The panel whose tab is at column x of the tab row. */
  hit(x: number): PanelName | undefined {
    return this.ranges.find((r) => x >= r.from && x < r.to)?.panel;
  }
}
