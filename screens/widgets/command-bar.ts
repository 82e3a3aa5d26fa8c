// The bottom line. Normally the hint bar (keys for what is focused) or a short message; `:` turns it into the
// command bar (the chat grammar, history, Tab completion), `/` into a live filter or, in the task view, search.
import blessed from "blessed";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ViewContext } from "../context.js";
import { CONSOLE_ACTOR } from "../context.js";
import { LineEditor, History, type KeyLike } from "./line-editor.js";
import { commandList, findCommand } from "../../src/commands/registry.js";
import { tokenize } from "../../src/util/tokenize.js";
import { maskCommandLine } from "../../src/core/mask.js";
import type { CommandContext } from "../../src/commands/types.js";
import { esc, sanitize, truncate, width as strWidth } from "../text.js";
import { tag } from "../theme.js";

export type InputMode = "command" | "filter" | "search";

/** What the console's own commands can do (implemented by the console). */
export interface LocalActions {
  quit(): void;
  showLogin(): void;
  /** On, off, or (undefined) toggle. */
  setMouse(on?: boolean): void;
  openHistory(): void;
}

export interface LocalCommand {
  name: string;
  aliases: string[];
  usage: string;
  summary: string;
  run(a: LocalActions, args: string[]): void;
}

/** Commands the console handles itself before the chat grammar (they make no sense in chat). */
export const LOCAL_COMMANDS: LocalCommand[] = [
  { name: "quit", aliases: ["q", "q!", "exit!"], usage: ":quit", summary: "Quit the console (stops the bot).", run: (a) => a.quit() },
  {
    name: "mouse",
    aliases: [],
    usage: ":mouse [on|off]",
    summary: "Mouse on or off.",
    run: (a, [w]) => a.setMouse(w === "on" ? true : w === "off" ? false : undefined),
  },
  {
    name: "login",
    aliases: [],
    usage: ":login",
    summary: "Show the Matrix SSO login prompt again (when a login waits for its token).",
    run: (a) => a.showLogin(),
  },
  {
    name: "history",
    aliases: [],
    usage: ":history",
    summary: "The History view: runs per template, success rate, p50/p95, outcomes per day, activity.",
    run: (a) => a.openHistory(),
  },
];

export function findLocalCommand(word: string): LocalCommand | undefined {
  return LOCAL_COMMANDS.find((c) => c.name === word || c.aliases.includes(word));
}

/** A command line as the console shows it back (status line, reply title): secrets masked, as in the history. */
export const shownLine = (line: string): string => maskCommandLine(line) ?? "(a command line naming a secret)";

export interface CommandBarHost {
  /** Runs a command line (local or chat grammar). */
  runLine(line: string): void;
  /** Live filter/search text changed. */
  filterChanged(mode: "filter" | "search", text: string): void;
  /** The bar closed; `kept`: Enter (true) or Esc (false). */
  closed(mode: InputMode, kept: boolean): void;
  /** Candidates that come first (pinned templates for `:run`), given the command line's words so far. */
  preferred?(tokens: string[], index: number): Promise<string[]>;
}

export class BottomBar {
  readonly box: blessed.Widgets.BoxElement;
  /** Completion candidates, shown above the bar. */
  readonly popup: blessed.Widgets.BoxElement;
  mode?: InputMode;
  readonly editor = new LineEditor();
  readonly history: History;
  private message?: { text: string; level: "info" | "ok" | "warn" | "error"; until: number };
  private candidates: string[] = [];
  private candidateIdx = -1;
  private completionBase?: { before: string; after: string };
  private completing?: Promise<void>;
  private last = "";
  dirty = true;
  hints = "";

  constructor(
    private readonly ctx: ViewContext,
    parent: blessed.Widgets.Node,
    private readonly host: CommandBarHost,
    private readonly historyFile?: string,
  ) {
    const t = ctx.theme();
    this.box = blessed.box({ parent, bottom: 0, left: 0, width: "100%", height: 1, tags: true, wrap: false, style: { fg: t.barFg, bg: t.barBg } });
    this.popup = blessed.box({
      parent,
      bottom: 1,
      left: 0,
      width: "100%",
      height: 1,
      hidden: true,
      tags: true,
      wrap: false,
      style: { fg: t.barFg, bg: t.barBg },
    });
    let saved: string[] = [];
    if (historyFile) {
      try {
        saved = readFileSync(historyFile, "utf8").split("\n").filter(Boolean);
      } catch {
        /* first run */
      }
    }
    // History keeps no secret, in memory or on disk: a file written before lines were masked is cleaned now.
    const masked = saved.map(maskCommandLine).filter((l): l is string => l !== undefined);
    this.history = new History(masked);
    if (masked.length !== saved.length || masked.some((l, i) => l !== saved[i])) this.saveHistory();
  }

  get active(): boolean {
    return this.mode !== undefined;
  }

  open(mode: InputMode, initial = ""): void {
    this.mode = mode;
    this.editor.set(initial);
    this.history.reset();
    this.clearCandidates();
    this.markDirty();
  }

  close(kept: boolean): void {
    const mode = this.mode;
    if (!mode) return;
    this.mode = undefined;
    this.clearCandidates();
    this.markDirty();
    this.host.closed(mode, kept);
  }

  /** A short message in place of the hints for a few seconds. */
  say(text: string, level: "info" | "ok" | "warn" | "error" = "info", ms = 6000): void {
    // Messages name templates, rooms and users: sanitized here, so no caller can forget.
    this.message = { text: sanitize(text.replace(/\s*\n\s*/g, " · ")), level, until: this.ctx.now() + ms };
    this.markDirty();
  }

  clearMessage(): void {
    if (this.message) {
      this.message = undefined;
      this.markDirty();
    }
  }

  get currentMessage(): string | undefined {
    return this.message && this.message.until > this.ctx.now() ? this.message.text : undefined;
  }

  /** Called every second: expire the message. */
  tick(): void {
    if (this.message && this.message.until <= this.ctx.now()) {
      this.message = undefined;
      this.markDirty();
    }
  }

  markDirty(): void {
    this.dirty = true;
    this.ctx.render(true);
  }

  key(ch: string | undefined, key: KeyLike): void {
    const mode = this.mode!;
    const k = key.full;
    if (k === "escape" || k === "C-c" || k === "C-g") {
      if (mode !== "command") this.host.filterChanged(mode, "");
      this.close(false);
      return;
    }
    if (k === "enter") {
      const line = this.editor.value;
      if (mode === "command") {
        // Kept masked; a recalled masked line is refused by the core (it never sends the mask as a value).
        const kept = maskCommandLine(line);
        if (kept !== undefined) this.history.add(kept);
        else this.history.reset();
        this.saveHistory();
        this.close(true);
        if (line.trim()) this.host.runLine(line.trim());
      } else this.close(true);
      return;
    }
    if (mode === "command") {
      if (k === "tab") {
        void this.complete(1);
        return;
      }
      if (k === "S-tab") {
        void this.complete(-1);
        return;
      }
      if (k === "up" || k === "C-p") {
        const v = this.history.up(this.editor.value);
        if (v !== undefined) {
          this.editor.set(v);
          this.clearCandidates();
          this.markDirty();
        }
        return;
      }
      if (k === "down" || k === "C-n") {
        const v = this.history.down();
        if (v !== undefined) {
          this.editor.set(v);
          this.clearCandidates();
          this.markDirty();
        }
        return;
      }
    }
    if (k === "backspace" && this.editor.value === "") {
      if (mode !== "command") this.host.filterChanged(mode, "");
      this.close(false);
      return;
    }
    if (this.editor.key(ch, key)) {
      this.clearCandidates();
      if (mode !== "command") this.host.filterChanged(mode, this.editor.value);
      this.markDirty();
    }
  }

  private clearCandidates(): void {
    this.candidates = [];
    this.candidateIdx = -1;
    this.completionBase = undefined;
    if (!this.popup.hidden) {
      this.popup.hide();
      this.dirty = true;
    }
  }

  private saveHistory(): void {
    if (!this.historyFile) return;
    try {
      mkdirSync(dirname(this.historyFile), { recursive: true, mode: 0o700 });
      writeFileSync(this.historyFile, this.history.entries.join("\n") + "\n", { mode: 0o600 });
    } catch {
      /* history is a convenience */
    }
  }

  /** Candidates for the word before the cursor. */
  async candidatesFor(before: string): Promise<{ word: string; list: string[] }> {
    const toks = tokenize(before);
    const tokens = toks.ok ? toks.tokens : before.split(/\s+/).filter(Boolean);
    const endsWithSpace = /\s$/.test(before) || before === "";
    const word = endsWithSpace ? "" : (tokens[tokens.length - 1] ?? "");
    const index = endsWithSpace ? tokens.length : tokens.length - 1;
    const ro = this.ctx.readOnly();
    let list: string[];
    if (index === 0) {
      list = [
        ...commandList()
          .filter((c) => !c.hidden && (!ro || c.permission === "read"))
          .map((c) => c.name),
        ...LOCAL_COMMANDS.map((c) => c.name),
      ];
    } else {
      const cmd = findCommand(tokens[0]!);
      if (!cmd?.complete) return { word, list: [] };
      const args = tokens.slice(1, endsWithSpace ? undefined : -1);
      const ctx: CommandContext = { actor: CONSOLE_ACTOR, ops: this.ctx.app.ops, prefix: ":" };
      try {
        list = await cmd.complete(ctx, index - 1, endsWithSpace ? args : [...args, word]);
      } catch {
        list = [];
      }
    }
    const lw = word.toLowerCase();
    const sorted = [...new Set(list)].filter((c) => c.toLowerCase().startsWith(lw)).sort();
    const first = new Set(index > 0 ? ((await this.host.preferred?.(tokens, index).catch(() => [])) ?? []) : []);
    return { word, list: [...sorted.filter((c) => first.has(c)), ...sorted.filter((c) => !first.has(c))] };
  }

  /** Tab: complete the word; a common prefix first, then cycle through the candidates. */
  async complete(dir: 1 | -1): Promise<void> {
    if (this.completing) return;
    if (this.candidates.length > 1 && this.completionBase) {
      this.candidateIdx = (this.candidateIdx + dir + this.candidates.length) % this.candidates.length;
      this.applyCandidate(this.candidates[this.candidateIdx]!, false);
      return;
    }
    const before = this.editor.value.slice(0, this.editor.cursor);
    const after = this.editor.value.slice(this.editor.cursor);
    this.completing = (async () => {
      const { word, list } = await this.candidatesFor(before);
      if (this.mode !== "command" || this.editor.value.slice(0, this.editor.cursor) !== before) return;
      const base = before.slice(0, before.length - word.length);
      this.completionBase = { before: base, after };
      if (list.length === 0) {
        this.flashPopup("no completions");
        return;
      }
      if (list.length === 1) {
        this.applyCandidate(list[0]!, true);
        this.completionBase = undefined;
        return;
      }
      const common = commonPrefix(list);
      this.candidates = list;
      this.candidateIdx = -1;
      if (common.length > word.length) this.applyCandidate(common, false);
      this.showPopup();
    })().finally(() => {
      this.completing = undefined;
    });
    await this.completing;
  }

  private applyCandidate(c: string, final: boolean): void {
    const b = this.completionBase!;
    const quoted = /[\s"'\\]/.test(c) ? `"${c.replace(/(["\\])/g, "\\$1")}"` : c;
    const text = quoted + (final ? " " : "");
    this.editor.value = b.before + text + b.after;
    this.editor.cursor = (b.before + text).length;
    this.showPopup();
    this.markDirty();
  }

  private flashPopup(text: string): void {
    this.popup.setContent(` ${tag(this.ctx.theme().text.dim, esc(text))}`);
    this.popup.show();
    this.markDirty();
  }

  private showPopup(): void {
    if (this.candidates.length <= 1) {
      if (!this.popup.hidden) this.popup.hide();
      return;
    }
    const t = this.ctx.theme();
    const w = (this.box.width as number) - 2;
    let line = "";
    let used = 0;
    this.candidates.forEach((c, i) => {
      const cell = ` ${sanitize(c)} `;
      if (used + strWidth(cell) + 1 > w) return;
      used += strWidth(cell) + 1;
      line += (i === this.candidateIdx ? tag(t.text.selected, esc(cell)) : esc(cell)) + " ";
    });
    this.popup.setContent(" " + line);
    this.popup.show();
    this.popup.setFront();
  }

  update(): boolean {
    if (!this.dirty) return false;
    this.dirty = false;
    const t = this.ctx.theme();
    const w = this.box.width as number;
    let s: string;
    if (this.mode) {
      const prompt = this.mode === "command" ? ":" : "/";
      const label = this.mode === "search" ? "search " : this.mode === "filter" ? "filter " : "";
      const help = this.mode === "command" ? "Tab complete · ↑↓ history · Enter run · Esc cancel" : "Enter keep · Esc clear";
      const room = w - strWidth(label) - 2 - (w > 90 ? strWidth(help) + 2 : 0);
      s = ` ${tag(t.text.dim, label)}${tag(t.text.key, prompt)}${this.editor.render(Math.max(8, room))}`;
      if (w > 90) s += " ".repeat(Math.max(1, room - Math.min(room, strWidth(this.editor.value) + 1))) + tag(t.text.dim, esc(help));
    } else if (this.currentMessage) {
      const m = this.message!;
      const style = m.level === "error" ? t.text.bad : m.level === "warn" ? t.text.warn : m.level === "ok" ? t.text.ok : t.text.info;
      s = ` ${tag(style, esc(truncate(m.text, w - 2)))}`;
    } else {
      s = this.hints;
    }
    if (s === this.last) return false;
    this.last = s;
    this.box.setContent(s);
    return true;
  }

  setHints(h: string): void {
    if (h !== this.hints) {
      this.hints = h;
      this.dirty = true;
    }
  }
}

function commonPrefix(list: string[]): string {
  if (!list.length) return "";
  let p = list[0]!;
  for (const s of list) while (!s.toLowerCase().startsWith(p.toLowerCase())) p = p.slice(0, -1);
  return p;
}
