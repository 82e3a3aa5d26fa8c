// The one list/table behaviour every list in the console shares: columns that fit the width, a filter, a
// selection that follows its row (not its index) when rows move, scrolling, and the row under the mouse.
// It renders only the visible rows, so a frame costs the same with 50 rows or 5000.
import { esc, fit, makeFilter, sanitize, wrapPlain, type Filter } from "../text.js";
import { tag, type Theme } from "../theme.js";
import type { MouseEvent, Nav } from "./input.js";

export interface Column<T> {
  title: string;
  /** Minimum width in cells. */
  width: number;
  /** Share of the spare width (0: fixed). */
  flex?: number;
  /** Columns with a lower priority are dropped first when the panel is narrow. */
  priority?: number;
  align?: "left" | "right";
  /** Plain text of the cell (sanitized, escaped and fitted by the list: columns may return untrusted text as is). */
  value(row: T, now: number): string;
  /** Opening tag for the cell's colour. */
  style?(row: T, theme: Theme): string;
}

export interface ListOptions<T> {
  columns: Column<T>[];
  key(row: T): string;
  /** Text the `/` filter is matched against. Default: every column's value. */
  filterText?(row: T): string;
  /** Shown when there are no rows at all. */
  empty?: string | (() => string);
  /** Hide the column header line. */
  noHeader?: boolean;
}

export class ListView<T> {
  private all: T[] = [];
  visible: T[] = [];
  filter: Filter = makeFilter("");
  selectedKey?: string;
  top = 0;
  /** Rows of content available (set at render). */
  height = 10;
  private layoutCache?: { width: number; cols: Array<{ col: Column<T>; w: number }> };

  constructor(readonly o: ListOptions<T>) {}

  get rows(): readonly T[] {
    return this.all;
  }

  setRows(rows: T[]): void {
    this.all = rows;
    this.applyFilter();
  }

  setFilter(text: string): void {
    this.filter = makeFilter(text);
    this.applyFilter();
  }

  private applyFilter(): void {
    const f = this.filter;
    const text = this.o.filterText ?? ((r: T) => this.o.columns.map((c) => c.value(r, Date.now())).join(" "));
    this.visible = f.text ? this.all.filter((r) => f.test(text(r))) : this.all;
    if (this.selectedKey === undefined || !this.visible.some((r) => this.o.key(r) === this.selectedKey)) {
      // Keep the cursor near where it was: the row now at the old index, else the last row.
      const prevIdx = this.lastIndex;
      const r = this.visible[Math.min(prevIdx, this.visible.length - 1)];
      this.selectedKey = r ? this.o.key(r) : undefined;
    }
    this.clampTop();
  }

  private lastIndex = 0;

  get selectedIndex(): number {
    if (this.selectedKey === undefined) return -1;
    const i = this.visible.findIndex((r) => this.o.key(r) === this.selectedKey);
    if (i >= 0) this.lastIndex = i;
    return i;
  }

  get selected(): T | undefined {
    const i = this.selectedIndex;
    return i >= 0 ? this.visible[i] : undefined;
  }

  select(index: number): void {
    if (this.visible.length === 0) {
      this.selectedKey = undefined;
      return;
    }
    const i = Math.max(0, Math.min(this.visible.length - 1, index));
    this.selectedKey = this.o.key(this.visible[i]!);
    this.lastIndex = i;
    this.scrollIntoView(i);
  }

  selectKey(key: string): void {
    const i = this.visible.findIndex((r) => this.o.key(r) === key);
    if (i >= 0) this.select(i);
  }

  move(delta: number): void {
    this.select(Math.max(0, this.selectedIndex) + delta);
  }
  home(): void {
    this.select(0);
  }
  end(): void {
    this.select(this.visible.length - 1);
  }
  page(dir: 1 | -1, fraction = 1): void {
    this.move(dir * Math.max(1, Math.floor(this.bodyHeight * fraction)));
  }

  /** Scroll without moving the selection unless it leaves the view (mouse wheel). */
  scroll(delta: number): void {
    this.top += delta;
    this.clampTop();
    const i = this.selectedIndex;
    if (i >= 0 && i < this.top) this.select(this.top);
    else if (i >= this.top + this.bodyHeight) this.select(this.top + this.bodyHeight - 1);
  }

  get bodyHeight(): number {
    return Math.max(1, this.height - (this.o.noHeader ? 0 : 1));
  }

  private scrollIntoView(i: number): void {
    if (i < this.top) this.top = i;
    else if (i >= this.top + this.bodyHeight) this.top = i - this.bodyHeight + 1;
    this.clampTop();
  }

  private clampTop(): void {
    this.top = Math.max(0, Math.min(this.top, this.visible.length - this.bodyHeight));
  }

  /** The visible row index at content line `y` (0 = first content line), or -1. */
  rowAt(y: number): number {
    const body = y - (this.o.noHeader ? 0 : 1);
    if (body < 0) return -1;
    const i = this.top + body;
    return i < this.visible.length ? i : -1;
  }

  private layout(width: number): Array<{ col: Column<T>; w: number }> {
    if (this.layoutCache?.width === width) return this.layoutCache.cols;
    // Drop low-priority columns until the minimum widths (plus one space between) fit.
    let cols = this.o.columns.slice();
    const need = (cs: Column<T>[]) => cs.reduce((s, c) => s + c.width, 0) + Math.max(0, cs.length - 1);
    while (cols.length > 1 && need(cols) > width) {
      let drop = 0;
      cols.forEach((c, i) => {
        if ((c.priority ?? 5) < (cols[drop]!.priority ?? 5)) drop = i;
      });
      cols = cols.filter((_, i) => i !== drop);
    }
    const spare = Math.max(0, width - need(cols));
    const flexSum = cols.reduce((s, c) => s + (c.flex ?? 0), 0);
    let given = 0;
    const out = cols.map((col) => {
      const extra = flexSum ? Math.floor((spare * (col.flex ?? 0)) / flexSum) : 0;
      given += extra;
      return { col, w: col.width + extra };
    });
    // Rounding leftovers go to the last flexible column.
    const last = [...out].reverse().find((c) => (c.col.flex ?? 0) > 0);
    if (last) last.w += spare - given;
    this.layoutCache = { width, cols: out };
    return out;
  }

  /**
   * Lines for a content area of `width` × `height` cells. The selected row is highlighted (dimmer when the
   * panel is not focused).
   */
  render(width: number, height: number, focused: boolean, theme: Theme, now: number): string[] {
    this.height = height;
    this.clampTop();
    const cols = this.layout(width);
    const lines: string[] = [];
    if (!this.o.noHeader) {
      const head = cols.map(({ col, w }) => fit(col.title, w, col.align)).join(" ");
      lines.push(tag(theme.text.heading, esc(fit(head, width))));
    }
    if (this.visible.length === 0) {
      const msg =
        this.all.length === 0
          ? typeof this.o.empty === "function"
            ? this.o.empty()
            : (this.o.empty ?? "Nothing here yet.")
          : `No row matches the filter /${this.filter.text}  (Esc in the filter clears it)`;
      const paras = msg
        .replace(/\n(?!\n)/g, " ")
        .split("\n")
        .map(sanitize)
        .join("\n");
      for (const l of wrapPlain(paras, width)) lines.push(tag(theme.text.dim, esc(fit(l, width))));
      return lines;
    }
    const sel = this.selectedIndex;
    const end = Math.min(this.visible.length, this.top + this.bodyHeight);
    for (let i = this.top; i < end; i++) {
      const row = this.visible[i]!;
      const isSel = i === sel;
      const cells = cols.map(({ col, w }) => {
        const text = esc(fit(sanitize(col.value(row, now)), w, col.align));
        const style = col.style?.(row, theme);
        return style && !(isSel && theme.name === "mono") ? tag(style, text) : text;
      });
      const line = cells.join(" ") + " ".repeat(Math.max(0, width - cols.reduce((s, c) => s + c.w, 0) - (cols.length - 1)));
      lines.push(isSel ? tag(focused ? theme.text.selected : theme.text.selectedDim, line) : line);
    }
    return lines;
  }

  /** "3/12" style position for the panel title. */
  position(): string {
    const i = this.selectedIndex;
    const n = this.visible.length;
    const total = this.all.length;
    return `${i >= 0 ? i + 1 : 0}/${n}${n !== total ? ` of ${total}` : ""}`;
  }
}

/** The shared list navigation. */
export function navList<T>(list: ListView<T>, n: Nav): void {
  switch (n) {
    case "down":
      list.move(1);
      break;
    case "up":
      list.move(-1);
      break;
    case "top":
      list.home();
      break;
    case "bottom":
      list.end();
      break;
    case "pageDown":
      list.page(1);
      break;
    case "pageUp":
      list.page(-1);
      break;
    case "halfDown":
      list.page(1, 0.5);
      break;
    case "halfUp":
      list.page(-1, 0.5);
      break;
    default:
      break;
  }
}

/** Click selects, a second click (or double click) on the selected row activates, the wheel scrolls. */
export function listMouse<T>(list: ListView<T>, ev: MouseEvent, y: number, double: boolean, activate: () => void): boolean {
  if (ev.action === "wheelup") {
    list.scroll(-3);
    return true;
  }
  if (ev.action === "wheeldown") {
    list.scroll(3);
    return true;
  }
  if (ev.action !== "mousedown" || (ev.button && ev.button !== "left")) return false;
  const i = list.rowAt(y);
  if (i < 0) return true;
  const already = list.selectedIndex === i;
  list.select(i);
  if (double && already) activate();
  return true;
}
