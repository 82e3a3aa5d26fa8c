// A scrolling view over a long, growing list of lines (the log, a task's output): follow mode, wrap or
// horizontal scroll, search highlighting. It only formats the lines on screen, so a frame costs the same with
// 50 lines or 50 000.
import type { Nav } from "./input.js";
import { ansiRows, esc, stripAnsi } from "../text.js";

export interface LineSource {
  readonly length: number;
  /** The line at `i` with SGR colours (not escaped for tags). */
  get(i: number): string;
}

export class ScrollText {
  follow = true;
  wrap = true;
  hOffset = 0;
  /** First line shown, and how many of its wrapped rows are scrolled off the top. */
  topLine = 0;
  topRow = 0;
  /** Search: matching text is highlighted with `matchSgr`. */
  highlight?: RegExp;
  matchSgr = "\x1b[7m";
  width = 80;
  height = 10;

  constructor(private readonly src: LineSource) {}

  private rowsOf(i: number): string[] {
    const line = this.src.get(i);
    if (this.highlight && this.highlight.test(stripAnsi(line))) {
      return ansiRows(this.mark(stripAnsi(line)), this.width, this.wrap, this.hOffset);
    }
    return ansiRows(line, this.width, this.wrap, this.hOffset);
  }

  private mark(plain: string): string {
    const re = new RegExp(this.highlight!.source, this.highlight!.flags.includes("g") ? this.highlight!.flags : this.highlight!.flags + "g");
    return plain.replace(re, (m) => (m ? `${this.matchSgr}${m}\x1b[0m` : m));
  }

  private heightOf(i: number): number {
    return this.wrap ? this.rowsOf(i).length : 1;
  }

  /** Lines dropped from the front of the source: keeps the same lines on screen. */
  shifted(n: number): void {
    if (this.follow) return;
    this.topLine -= n;
    if (this.topLine < 0) {
      this.topLine = 0;
      this.topRow = 0;
    }
  }

  /** Moves the top so the last line ends at the bottom. */
  private anchorBottom(): void {
    let rows = 0;
    let i = this.src.length - 1;
    for (; i >= 0; i--) {
      const h = this.heightOf(i);
      if (rows + h >= this.height) {
        this.topLine = i;
        this.topRow = rows + h - this.height;
        return;
      }
      rows += h;
    }
    this.topLine = 0;
    this.topRow = 0;
  }

  /** True when the view shows the end of the source. */
  atEnd(): boolean {
    let rows = -this.topRow;
    for (let i = this.topLine; i < this.src.length; i++) {
      rows += this.heightOf(i);
      if (rows > this.height) return false;
    }
    return true;
  }

  /** Scrolls by visual rows; scrolling up leaves follow mode, reaching the end re-enters it. */
  scroll(delta: number): void {
    if (this.follow) this.anchorBottom();
    if (delta < 0) {
      this.follow = false;
      let n = -delta;
      while (n > 0) {
        if (this.topRow > 0) {
          const k = Math.min(n, this.topRow);
          this.topRow -= k;
          n -= k;
          continue;
        }
        if (this.topLine === 0) break;
        this.topLine--;
        this.topRow = this.heightOf(this.topLine);
      }
    } else if (delta > 0) {
      let n = delta;
      while (n > 0 && !this.atEnd()) {
        const h = this.heightOf(this.topLine);
        if (this.topRow + 1 < h) {
          this.topRow++;
          n--;
          continue;
        }
        if (this.topLine >= this.src.length - 1) break;
        this.topLine++;
        this.topRow = 0;
        n--;
      }
      if (this.atEnd()) this.follow = true;
    }
  }

  page(dir: 1 | -1, fraction = 1): void {
    this.scroll(dir * Math.max(1, Math.floor(this.height * fraction) - (fraction === 1 ? 1 : 0)));
  }

  home(): void {
    this.follow = false;
    this.topLine = 0;
    this.topRow = 0;
  }

  end(): void {
    this.follow = true;
  }

  /** Leaves follow mode where the view is now. */
  freeze(): void {
    if (this.follow) this.anchorBottom();
    this.follow = false;
  }

  /** Shows line `i` a third of the way down (search results). */
  reveal(i: number): void {
    this.follow = false;
    this.topLine = Math.max(0, i);
    this.topRow = 0;
    this.scroll(-Math.floor(this.height / 3));
    this.follow = false;
  }

  setWrap(on: boolean): void {
    // Keep the same first line on screen.
    this.wrap = on;
    this.topRow = 0;
    if (on) this.hOffset = 0;
  }

  /** The list/vim navigation keys, applied to this view. */
  navigate(n: Nav): void {
    switch (n) {
      case "down":
        this.scroll(1);
        break;
      case "up":
        this.scroll(-1);
        break;
      case "top":
        this.home();
        break;
      case "bottom":
        this.end();
        break;
      case "pageDown":
        this.page(1);
        break;
      case "pageUp":
        this.page(-1);
        break;
      case "halfDown":
        this.page(1, 0.5);
        break;
      case "halfUp":
        this.page(-1, 0.5);
        break;
      case "left":
        this.panH(-8);
        break;
      case "right":
        this.panH(8);
        break;
    }
  }

  panH(delta: number): void {
    if (this.wrap) return;
    this.hOffset = Math.max(0, this.hOffset + delta);
  }

  /** Lines (tag-escaped) for a `width` × `height` area. */
  render(width: number, height: number): string[] {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    if (this.follow) this.anchorBottom();
    if (this.topLine >= this.src.length) {
      this.topLine = Math.max(0, this.src.length - 1);
      this.topRow = 0;
    }
    const out: string[] = [];
    let skip = this.topRow;
    for (let i = this.topLine; i < this.src.length && out.length < this.height; i++) {
      for (const r of this.rowsOf(i)) {
        if (skip > 0) {
          skip--;
          continue;
        }
        out.push(esc(r));
        if (out.length >= this.height) break;
      }
    }
    return out;
  }

  /** The source line at a visual row of the last render, or -1. */
  lineAt(row: number): number {
    let y = -this.topRow;
    for (let i = this.topLine; i < this.src.length; i++) {
      const h = this.heightOf(i);
      if (row >= y && row < y + h) return i;
      y += h;
      if (y > this.height) break;
    }
    return -1;
  }
}
