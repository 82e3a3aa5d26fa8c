// A one-line text editor: the state behind the `:` command bar, the `/` filter and the dialogs' text fields.
// Pure logic (no blessed), so it is tested directly; `render()` draws it with a visible cursor.
import { esc, stripControls } from "../text.js";

export interface KeyLike {
  name?: string;
  full?: string;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
  sequence?: string;
}

export class LineEditor {
  value = "";
  /** Cursor position in code units of `value`. */
  cursor = 0;
  /** Characters shown masked (secrets). */
  masked = false;

  constructor(initial = "") {
    this.set(initial);
  }

  set(v: string): void {
    this.value = v;
    this.cursor = v.length;
  }

  /**
   * Applies one key. Returns true when the key edited or moved (it was consumed), false for keys the owner
   * handles (Enter, Escape, Tab, Up, Down, ...).
   */
  key(ch: string | undefined, key: KeyLike): boolean {
    const v = this.value;
    const c = this.cursor;
    switch (key.full) {
      case "left":
      case "C-b":
        this.cursor = Math.max(0, c - 1);
        return true;
      case "right":
      case "C-f":
        this.cursor = Math.min(v.length, c + 1);
        return true;
      case "home":
      case "C-a":
        this.cursor = 0;
        return true;
      case "end":
      case "C-e":
        this.cursor = v.length;
        return true;
      case "C-left":
      case "M-b":
        this.cursor = wordLeft(v, c);
        return true;
      case "C-right":
      case "M-f":
        this.cursor = wordRight(v, c);
        return true;
      case "backspace":
      case "C-h":
        if (c > 0) {
          this.value = v.slice(0, c - 1) + v.slice(c);
          this.cursor = c - 1;
        }
        return true;
      case "delete":
      case "C-d":
        if (c < v.length) this.value = v.slice(0, c) + v.slice(c + 1);
        return true;
      case "C-u":
        this.value = v.slice(c);
        this.cursor = 0;
        return true;
      case "C-k":
        this.value = v.slice(0, c);
        return true;
      case "C-w":
      case "M-backspace": {
        const to = wordLeft(v, c);
        this.value = v.slice(0, to) + v.slice(c);
        this.cursor = to;
        return true;
      }
    }
    if (key.ctrl || key.meta) return false;
    if (ch && !/[\x00-\x1f\x7f]/.test(ch) && key.name !== "enter" && key.name !== "return" && key.name !== "escape" && key.name !== "tab") {
      this.insert(ch);
      return true;
    }
    return false;
  }

  insert(text: string): void {
    // Typed or pasted: no control characters, escape sequences or bidi overrides (tabs and line breaks: spaces).
    const clean = stripControls(text);
    this.value = this.value.slice(0, this.cursor) + clean + this.value.slice(this.cursor);
    this.cursor += clean.length;
  }

  /** The text with the cursor drawn as an inverse cell, scrolled so the cursor stays within `cols` columns. */
  render(cols: number, cursorVisible = true): string {
    const shown = this.masked ? "•".repeat(this.value.length) : this.value;
    let start = 0;
    if (this.cursor > cols - 2) start = this.cursor - (cols - 2);
    const before = shown.slice(start, this.cursor);
    const at = shown[this.cursor] ?? " ";
    const after = shown.slice(this.cursor + 1, start + cols);
    // A value set from outside (a survey default, the history file) is shown sanitized; it is kept as it is.
    const show = (s: string) => esc(stripControls(s));
    if (!cursorVisible) return show(shown.slice(start, start + cols));
    return `${show(before)}{inverse}${show(at) || " "}{/inverse}${show(after)}`;
  }
}

function wordLeft(v: string, c: number): number {
  let i = c;
  while (i > 0 && /\s/.test(v[i - 1]!)) i--;
  while (i > 0 && !/\s/.test(v[i - 1]!)) i--;
  return i;
}

function wordRight(v: string, c: number): number {
  let i = c;
  while (i < v.length && /\s/.test(v[i]!)) i++;
  while (i < v.length && !/\s/.test(v[i]!)) i++;
  return i;
}

/** Command history with a draft: Up/Down walk it, editing a recalled line does not change the history. */
export class History {
  private items: string[];
  private pos: number;
  private draft = "";

  constructor(
    initial: string[] = [],
    private readonly max = 200,
  ) {
    this.items = initial.slice(-max);
    this.pos = this.items.length;
  }

  get entries(): readonly string[] {
    return this.items;
  }

  add(line: string): void {
    const t = line.trim();
    if (!t) return;
    if (this.items.at(-1) !== t) this.items.push(t);
    if (this.items.length > this.max) this.items.splice(0, this.items.length - this.max);
    this.pos = this.items.length;
    this.draft = "";
  }

  /** Older entry; `current` is what is being typed (kept as the draft when leaving it). */
  up(current: string): string | undefined {
    if (this.pos === 0) return undefined;
    if (this.pos === this.items.length) this.draft = current;
    this.pos--;
    return this.items[this.pos];
  }

  down(): string | undefined {
    if (this.pos >= this.items.length) return undefined;
    this.pos++;
    return this.pos === this.items.length ? this.draft : this.items[this.pos];
  }

  reset(): void {
    this.pos = this.items.length;
    this.draft = "";
  }
}
