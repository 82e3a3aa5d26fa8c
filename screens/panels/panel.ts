// The frame shared by the four panels: a bordered box with a numbered title, focus colour, a filter, and a
// content string that is only handed to blessed when it changed.
import blessed from "blessed";
import type { ViewContext, PanelName } from "../context.js";
import { PANEL_TITLES, PANELS } from "../context.js";
import { esc, sanitize } from "../text.js";
import { tag } from "../theme.js";
import type { MouseEvent, Nav } from "../widgets/input.js";

export type { MouseEvent, Nav };

export type Box = blessed.Widgets.BoxElement;

export abstract class Panel {
  readonly box: Box;
  focused = false;
  dirty = true;
  filterText = "";
  private lastContent = "";
  private lastLabel = "";
  private lastBorder = "";

  constructor(
    protected readonly ctx: ViewContext,
    readonly name: PanelName,
    parent: blessed.Widgets.Node,
  ) {
    this.box = blessed.box({
      parent,
      tags: true,
      wrap: false,
      border: { type: "line" },
      style: { border: { fg: ctx.theme().border }, label: {} },
      top: 0,
      left: 0,
      width: 10,
      height: 5,
    });
  }

  get number(): number {
    return PANELS.indexOf(this.name) + 1;
  }

  /** Content area in cells. */
  get innerWidth(): number {
    return Math.max(1, (this.box.width as number) - 2);
  }
  get innerHeight(): number {
    return Math.max(1, (this.box.height as number) - 2);
  }

  /** The title's extra text after the panel name (counts, toggles). */
  protected abstract summary(): string;
  /** Content lines for the current size. */
  protected abstract draw(width: number, height: number): string[];

  abstract nav(n: Nav): void;
  /** Enter on the panel (open, details). */
  activate?(): void;
  abstract setFilter(text: string): void;
  /** Mouse inside the content area, in content coordinates. Returns true when it did something. */
  abstract mouse(ev: MouseEvent, x: number, y: number, double: boolean): boolean;

  markDirty(): void {
    this.dirty = true;
    this.ctx.render();
  }

  /** Recomputes content if dirty and visible; returns true when something changed on screen. */
  update(): boolean {
    if (!this.dirty || (this.box as unknown as { hidden: boolean }).hidden) return false;
    this.dirty = false;
    const theme = this.ctx.theme();
    const lines = this.draw(this.innerWidth, this.innerHeight);
    const content = lines.slice(0, this.innerHeight).join("\n");
    let changed = false;
    if (content !== this.lastContent) {
      this.lastContent = content;
      this.box.setContent(content);
      changed = true;
    }
    const filter = this.filterText ? `  ${tag(theme.text.match, esc(sanitize(`/${this.filterText}`)))}` : "";
    const num = tag(this.focused ? theme.text.key : theme.text.dim, String(this.number));
    const summary = sanitize(this.summary());
    const label = ` ${num} ${tag(theme.text.title, PANEL_TITLES[this.name])}${summary ? ` ${tag(theme.text.dim, esc(summary))}` : ""}${filter} `;
    if (label !== this.lastLabel) {
      this.lastLabel = label;
      this.box.setLabel(label);
      changed = true;
    }
    const border = this.focused ? theme.borderFocus : theme.border;
    if (border !== this.lastBorder) {
      this.lastBorder = border;
      (this.box.style as { border: { fg: string } }).border.fg = border;
      changed = true;
    }
    return changed;
  }

  setFocused(f: boolean): void {
    if (this.focused === f) return;
    this.focused = f;
    this.markDirty();
  }

  /** The content-area position of a screen coordinate, or undefined when outside. */
  contentPoint(x: number, y: number): { x: number; y: number } | undefined {
    const lpos = (this.box as unknown as { lpos?: { xi: number; xl: number; yi: number; yl: number } }).lpos;
    if (!lpos || (this.box as unknown as { hidden: boolean }).hidden) return undefined;
    if (x < lpos.xi || x >= lpos.xl || y < lpos.yi || y >= lpos.yl) return undefined;
    return { x: x - lpos.xi - 1, y: y - lpos.yi - 1 };
  }
}
