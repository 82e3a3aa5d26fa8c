// Modal dialogs: confirm (default button Cancel, naming the exact target), prompt, select list, and a text
// viewer (replies, help). A stack: the top dialog gets every key and click until it closes.
import blessed from "blessed";
import type { ViewContext } from "../context.js";
import type { MouseEvent } from "../widgets/input.js";
import { LineEditor, type KeyLike } from "../widgets/line-editor.js";
import { ListView } from "../widgets/list-view.js";
import { esc, fit, sanitize, width as strWidth, truncate, wrapPlain } from "../text.js";
import { tag } from "../theme.js";

export type Box = blessed.Widgets.BoxElement;

export interface Modal {
  readonly box: Box;
  key(ch: string | undefined, key: KeyLike): void;
  mouse?(ev: MouseEvent, x: number, y: number): void;
  /** Redraws for the current screen size. */
  update(): void;
  /** Key hints for the bottom bar. */
  hints(): string;
}

export class Modals {
  readonly stack: Modal[] = [];
  /** Called after a dialog closed (the console then shows what waited for the screen to be free). */
  onRemoved?: () => void;
  constructor(
    readonly screen: blessed.Widgets.Screen,
    private readonly ctx: ViewContext,
  ) {}

  get top(): Modal | undefined {
    return this.stack[this.stack.length - 1];
  }
  get open(): boolean {
    return this.stack.length > 0;
  }

  push(m: Modal): void {
    this.stack.push(m);
    m.box.setFront();
    m.update();
    this.ctx.render(true);
  }

  remove(m: Modal): void {
    const i = this.stack.indexOf(m);
    if (i >= 0) this.stack.splice(i, 1);
    m.box.destroy();
    this.ctx.render(true);
    this.onRemoved?.();
  }

  updateAll(): void {
    for (const m of this.stack) m.update();
  }

  /** Closes everything (quit, tests). */
  clear(): void {
    for (const m of [...this.stack].reverse()) (m as Dialog<unknown>).cancel?.();
  }

  get screenSize(): { cols: number; rows: number } {
    return { cols: this.screen.width as number, rows: this.screen.height as number };
  }
}

/** A centred, bordered box that resolves a promise once. */
export abstract class Dialog<R> implements Modal {
  readonly box: Box;
  protected resolve!: (r: R) => void;
  readonly result: Promise<R>;
  private closed = false;
  protected lastContent = "";

  constructor(
    protected readonly modals: Modals,
    protected readonly ctx: ViewContext,
    title: string,
    private readonly cancelValue: R,
  ) {
    const t = ctx.theme();
    this.box = blessed.box({
      parent: modals.screen,
      top: "center",
      left: "center",
      width: 40,
      height: 8,
      tags: true,
      wrap: false,
      border: { type: "line" },
      shadow: false,
      label: ` ${tag(t.text.title, esc(sanitize(title)))} `,
      style: { border: { fg: t.borderFocus }, bg: t.name === "light" ? "#eeeeee" : t.name === "mono" ? "default" : "#121212" },
    });
    this.result = new Promise<R>((r) => {
      this.resolve = r;
    });
  }

  abstract key(ch: string | undefined, key: KeyLike): void;
  abstract hints(): string;
  /** Content lines for `width` cells; the dialog grows to fit them. */
  protected abstract lines(width: number, maxHeight: number): string[];
  /** Preferred content width. */
  protected abstract preferredWidth(): number;

  mouse?(ev: MouseEvent, x: number, y: number): void;

  update(): void {
    const { cols, rows } = this.modals.screenSize;
    const w = Math.max(20, Math.min(cols - 2, this.preferredWidth() + 4));
    const maxH = Math.max(3, rows - 2);
    const lines = this.lines(w - 4, maxH - 2);
    const h = Math.min(maxH, lines.length + 2);
    if (this.box.width !== w) this.box.width = w;
    if (this.box.height !== h) this.box.height = h;
    const content = lines
      .slice(0, h - 2)
      .map((l) => ` ${l}`)
      .join("\n");
    if (content !== this.lastContent) {
      this.lastContent = content;
      this.box.setContent(content);
    }
  }

  /** Content coordinates of a screen point, or undefined outside the dialog. */
  contentPoint(x: number, y: number): { x: number; y: number } | undefined {
    const p = (this.box as unknown as { lpos?: { xi: number; xl: number; yi: number; yl: number } }).lpos;
    if (!p || x < p.xi || x >= p.xl || y < p.yi || y >= p.yl) return undefined;
    return { x: x - p.xi - 2, y: y - p.yi - 1 };
  }

  done(r: R): void {
    if (this.closed) return;
    this.closed = true;
    this.modals.remove(this);
    this.resolve(r);
  }

  cancel(): void {
    this.done(this.cancelValue);
  }

  protected redraw(): void {
    this.update();
    this.ctx.render(true);
  }
}

// ---- confirm ----

export interface ConfirmOptions {
  title: string;
  /** Plain text lines; the first names the exact target. */
  lines: string[];
  /** Label of the affirmative button, e.g. "Stop task 42". */
  yes: string;
  no?: string;
  danger?: boolean;
}

export class ConfirmDialog extends Dialog<boolean> {
  /** 0 = Cancel (the default), 1 = the action. */
  choice = 0;
  private buttons: Array<{ from: number; to: number }> = [];
  private buttonRow = -1;

  private readonly o: ConfirmOptions;

  constructor(modals: Modals, ctx: ViewContext, o: ConfirmOptions) {
    super(modals, ctx, o.title, false);
    // Targets are named from untrusted text (template, room and task names): sanitized once, here.
    this.o = { ...o, lines: o.lines.map(sanitize), yes: sanitize(o.yes), no: o.no === undefined ? undefined : sanitize(o.no) };
  }

  protected preferredWidth(): number {
    return Math.min(76, Math.max(50, ...this.o.lines.map((l) => strWidth(l)), strWidth(this.o.yes) + strWidth(this.o.no ?? "Cancel") + 12));
  }

  protected lines(width: number): string[] {
    const t = this.ctx.theme();
    const out: string[] = [];
    for (const l of this.o.lines) for (const w of wrapPlain(l, width)) out.push(esc(w));
    out.push("");
    const no = ` ${this.o.no ?? "Cancel"} `;
    const yes = ` ${this.o.yes} `;
    const btn = (label: string, on: boolean, danger: boolean) =>
      on
        ? `{inverse}${danger ? tag(t.text.bad, esc(`[${label}]`)) : esc(`[${label}]`)}{/inverse}`
        : danger
          ? tag(t.text.bad, esc(`[${label}]`))
          : esc(`[${label}]`);
    const noW = strWidth(no) + 2;
    this.buttons = [
      { from: 0, to: noW },
      { from: noW + 3, to: noW + 3 + strWidth(yes) + 2 },
    ];
    this.buttonRow = out.length;
    out.push(`${btn(no, this.choice === 0, false)}   ${btn(yes, this.choice === 1, !!this.o.danger)}`);
    out.push(tag(t.text.dim, esc(truncate("Tab/←→ choose · Enter · y yes · n/Esc cancel", width))));
    return out;
  }

  hints(): string {
    return "Tab/←→ choose · Enter confirm choice · y yes · n/Esc cancel";
  }

  key(ch: string | undefined, key: KeyLike): void {
    switch (key.full) {
      case "left":
      case "right":
      case "tab":
      case "S-tab":
      case "h":
      case "l":
        this.choice = this.choice ? 0 : 1;
        this.redraw();
        return;
      case "enter":
        this.done(this.choice === 1);
        return;
      case "escape":
      case "n":
      case "q":
      case "C-c":
        this.done(false);
        return;
      case "y":
        this.done(true);
        return;
    }
    void ch;
  }

  override mouse(ev: MouseEvent, x: number, y: number): void {
    if (ev.action !== "mousedown" || y !== this.buttonRow) return;
    const i = this.buttons.findIndex((b) => x >= b.from && x < b.to);
    if (i >= 0) this.done(i === 1);
  }
}

// ---- prompt ----

export interface PromptOptions {
  title: string;
  lines: string[];
  initial?: string;
  /** Returns an error message to keep the dialog open. */
  validate?: (v: string) => string | undefined;
  secret?: boolean;
  /** An error to show from the start (e.g. the last answer was not accepted). */
  error?: string;
}

export class PromptDialog extends Dialog<string | undefined> {
  readonly editor: LineEditor;
  private error?: string;

  private readonly o: PromptOptions;

  constructor(modals: Modals, ctx: ViewContext, o: PromptOptions) {
    super(modals, ctx, o.title, undefined);
    this.o = { ...o, lines: o.lines.map(sanitize) };
    this.editor = new LineEditor(o.initial ?? "");
    this.editor.masked = !!o.secret;
    this.error = o.error;
  }

  protected preferredWidth(): number {
    return Math.min(76, Math.max(60, ...this.o.lines.map((l) => strWidth(l))));
  }

  protected lines(width: number): string[] {
    const t = this.ctx.theme();
    const out: string[] = [];
    for (const l of this.o.lines) for (const w of wrapPlain(l, width)) out.push(esc(w));
    out.push("");
    out.push(`${tag(t.text.key, "›")} ${this.editor.render(width - 2)}`);
    out.push(this.error ? tag(t.text.bad, esc(fit(sanitize(this.error), width))) : tag(t.text.dim, esc(fit("Enter accept · Esc cancel", width))));
    return out;
  }

  hints(): string {
    return "Enter accept · Esc cancel · Ctrl-U clear";
  }

  key(ch: string | undefined, key: KeyLike): void {
    if (key.full === "escape" || key.full === "C-c") {
      this.done(undefined);
      return;
    }
    if (key.full === "enter") {
      const v = this.editor.value.trim();
      const err = this.o.validate?.(v);
      if (err) {
        this.error = err;
        this.redraw();
        return;
      }
      this.done(v);
      return;
    }
    if (this.editor.key(ch, key)) {
      this.error = undefined;
      this.redraw();
    }
  }
}

// ---- select ----

export interface SelectOptions<T> {
  title: string;
  intro?: string[];
  items: T[];
  label(item: T): string;
  /** A line about the highlighted item, shown under the list. */
  detail?(item: T): string;
  key(item: T): string;
  /** Hint for Esc (e.g. "back" in the wizard). */
  escLabel?: string;
  /** One more key on the highlighted item (e.g. p pins a template); `hint` is shown with the others. */
  extraKey?: { key: string; hint: string; run(item: T): void };
}

export class SelectDialog<T> extends Dialog<T | undefined> {
  readonly list: ListView<T>;
  private filtering = false;
  private readonly filter = new LineEditor();
  private listTop = 0;

  private readonly o: SelectOptions<T>;

  constructor(modals: Modals, ctx: ViewContext, o: SelectOptions<T>) {
    super(modals, ctx, o.title, undefined);
    // Labels and details come from Semaphore and Matrix: sanitized here (the list sanitizes its cells too).
    const detail = o.detail;
    this.o = { ...o, intro: o.intro?.map(sanitize), label: (i) => sanitize(o.label(i)), detail: detail && ((i) => sanitize(detail(i))) };
    this.list = new ListView<T>({
      key: o.key,
      noHeader: true,
      filterText: this.o.label,
      columns: [{ title: "", width: 10, flex: 1, value: this.o.label }],
      empty: "Nothing to choose from.",
    });
    this.list.setRows(o.items);
    this.list.select(0);
  }

  protected preferredWidth(): number {
    return Math.min(100, Math.max(58, ...this.o.items.map((i) => strWidth(this.o.label(i)) + 2), ...(this.o.intro ?? []).map((l) => strWidth(l))));
  }

  protected lines(width: number, maxHeight: number): string[] {
    const t = this.ctx.theme();
    const out: string[] = [];
    for (const l of this.o.intro ?? []) for (const w of wrapPlain(l, width)) out.push(esc(w));
    if (out.length) out.push("");
    this.listTop = out.length;
    const tail: string[] = [];
    const sel = this.list.selected;
    if (this.o.detail && sel !== undefined) {
      tail.push("");
      for (const w of wrapPlain(this.o.detail(sel), width).slice(0, 3)) tail.push(tag(t.text.dim, esc(w)));
    }
    tail.push(
      this.filtering || this.filter.value
        ? `${tag(t.text.key, "/")}${this.filter.render(width - 1, this.filtering)}`
        : tag(t.text.dim, esc(fit(this.hints(), width))),
    );
    const room = Math.max(3, maxHeight - out.length - tail.length);
    const listLines = this.list.render(width, Math.min(room, Math.max(1, this.list.visible.length)), true, t, this.ctx.now());
    return [...out, ...listLines, ...tail];
  }

  hints(): string {
    return `↑↓ move · Enter choose · / filter${this.o.extraKey ? ` · ${this.o.extraKey.hint}` : ""} · Esc ${this.o.escLabel ?? "cancel"}`;
  }

  key(ch: string | undefined, key: KeyLike): void {
    const k = key.full;
    if (this.filtering) {
      if (k === "escape") {
        this.filtering = false;
        this.filter.set("");
        this.list.setFilter("");
        this.redraw();
        return;
      }
      if (k === "enter") {
        this.filtering = false;
        const s = this.list.selected;
        if (s !== undefined) this.done(s);
        else this.redraw();
        return;
      }
      if (k === "up" || k === "down") {
        this.list.move(k === "up" ? -1 : 1);
        this.redraw();
        return;
      }
      if (this.filter.key(ch, key)) {
        this.list.setFilter(this.filter.value);
        this.list.select(0);
        this.redraw();
      }
      return;
    }
    switch (k) {
      case "down":
      case "j":
      case "C-n":
        this.list.move(1);
        break;
      case "up":
      case "k":
      case "C-p":
        this.list.move(-1);
        break;
      case "g":
      case "home":
        this.list.home();
        break;
      case "S-g":
      case "end":
        this.list.end();
        break;
      case "pagedown":
      case "C-d":
        this.list.page(1);
        break;
      case "pageup":
      case "C-u":
        this.list.page(-1);
        break;
      case "/":
        this.filtering = true;
        break;
      case "enter": {
        const s = this.list.selected;
        if (s !== undefined) this.done(s);
        return;
      }
      case this.o.extraKey?.key ?? "\0": {
        const s = this.list.selected;
        if (s !== undefined) {
          this.o.extraKey!.run(s);
          this.list.setRows(this.o.items);
        }
        break;
      }
      case "escape":
      case "q":
      case "C-c":
        if (this.filter.value) {
          this.filter.set("");
          this.list.setFilter("");
          break;
        }
        this.done(undefined);
        return;
      default:
        return;
    }
    this.redraw();
  }

  override mouse(ev: MouseEvent, _x: number, y: number): void {
    if (ev.action === "wheelup") {
      this.list.scroll(-3);
      this.redraw();
      return;
    }
    if (ev.action === "wheeldown") {
      this.list.scroll(3);
      this.redraw();
      return;
    }
    if (ev.action !== "mousedown") return;
    const i = this.list.rowAt(y - this.listTop);
    if (i < 0) return;
    if (this.list.selectedIndex === i) {
      this.done(this.list.visible[i]!);
      return;
    }
    this.list.select(i);
    this.redraw();
  }
}

// ---- text viewer ----

export interface TextOptions {
  title: string;
  /** Lines already formatted with tags (escape untrusted text), or plain lines with `plain: true`. */
  lines: string[];
  plain?: boolean;
  width?: number;
}

export class TextDialog extends Dialog<void> {
  private top = 0;
  private view = 10;

  constructor(
    modals: Modals,
    ctx: ViewContext,
    private readonly o: TextOptions,
  ) {
    super(modals, ctx, o.title, undefined);
  }

  protected preferredWidth(): number {
    if (this.o.width) return this.o.width;
    return Math.min(110, Math.max(40, ...this.o.lines.map((l) => strWidth(this.o.plain ? l : l.replace(/\{[^{}]*\}/g, "")))));
  }

  private allLines(width: number): string[] {
    if (!this.o.plain) return this.o.lines;
    return this.o.lines.flatMap((l) => wrapPlain(sanitize(l), width).map(esc));
  }

  protected lines(width: number, maxHeight: number): string[] {
    const t = this.ctx.theme();
    const all = this.allLines(width);
    const body = Math.max(1, maxHeight - 1);
    this.view = body;
    this.top = Math.max(0, Math.min(this.top, all.length - body));
    const shown = all.slice(this.top, this.top + body);
    const more = all.length > body ? ` ${this.top + 1}-${this.top + shown.length}/${all.length} · ↑↓ PgUp PgDn scroll ·` : "";
    return [...shown, tag(t.text.dim, esc(fit(`${more} Esc/Enter close`.trim(), width)))];
  }

  hints(): string {
    return "↑↓ PgUp PgDn scroll · Esc/Enter/q close";
  }

  key(_ch: string | undefined, key: KeyLike): void {
    switch (key.full) {
      case "down":
      case "j":
        this.top++;
        break;
      case "up":
      case "k":
        this.top--;
        break;
      case "pagedown":
      case "space":
      case "C-d":
        this.top += this.view - 1;
        break;
      case "pageup":
      case "C-u":
        this.top -= this.view - 1;
        break;
      case "g":
      case "home":
        this.top = 0;
        break;
      case "S-g":
      case "end":
        this.top = 1e9;
        break;
      case "escape":
      case "enter":
      case "q":
      case "?":
      case "C-c":
        this.done(undefined);
        return;
      default:
        return;
    }
    this.top = Math.max(0, this.top);
    this.redraw();
  }

  override mouse(ev: MouseEvent): void {
    if (ev.action === "wheelup") {
      this.top = Math.max(0, this.top - 3);
      this.redraw();
    } else if (ev.action === "wheeldown") {
      this.top += 3;
      this.redraw();
    }
  }
}

export { wrapPlain };
