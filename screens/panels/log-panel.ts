// Logs: the bot's own log, newest at the bottom. Our own widget (contrib's log re-renders everything per line
// and always jumps to the end): bounded buffer, level filter, `/` filter, follow / wrap / timestamps toggles.
import type blessed from "blessed";
import type { ViewContext } from "../context.js";
import type { LogEntry } from "../../src/log/logger.js";
import { LEVEL_RANK } from "../../src/log/logger.js";
import type { LogLevelName } from "../../src/config/schema.js";
import { Panel, type MouseEvent, type Nav } from "./panel.js";
import { ScrollText } from "../widgets/scroll-text.js";
import { ScrollControls } from "../widgets/scroll-controls.js";
import { makeFilter, sanitize, stripAnsi, type Filter } from "../text.js";

const LEVELS: LogLevelName[] = ["debug", "info", "warn", "error"];

export class LogPanel extends Panel {
  /** The buffer: at most `capacity` entries; older ones are dropped in blocks. */
  private entries: LogEntry[] = [];
  /** Entries passing the level and text filters, in order. */
  private matching: LogEntry[] = [];
  private filter: Filter = makeFilter("");
  minLevel: LogLevelName = "debug";
  timestamps = true;
  readonly view: ScrollText;
  private readonly scroll: ScrollControls;
  private formatted = new Map<number, string>();
  private formatKey = "";

  constructor(
    ctx: ViewContext,
    parent: blessed.Widgets.Node,
    readonly capacity = 5000,
  ) {
    super(ctx, "logs", parent);
    const self = this;
    this.view = new ScrollText({
      get length() {
        return self.matching.length;
      },
      get: (i) => self.format(self.matching[i]!),
    });
    this.scroll = new ScrollControls(this.view, () => this.markDirty());
    for (const e of ctx.app.logger.ring.toArray().slice(-capacity)) this.entries.push(e);
    this.rebuild();
    ctx.app.logger.on("entry", (e: LogEntry) => this.add(e));
  }

  get follow(): boolean {
    return this.view.follow;
  }
  get wrap(): boolean {
    return this.view.wrap;
  }
  get size(): number {
    return this.entries.length;
  }
  get shown(): number {
    return this.matching.length;
  }

  /** Lines that arrived while paused, added on resume. */
  private held: LogEntry[] = [];

  resume(): void {
    const held = this.held;
    this.held = [];
    for (const e of held) this.add(e);
  }

  add(e: LogEntry): void {
    if (this.ctx.paused()) {
      this.held.push(e);
      return;
    }
    this.entries.push(e);
    if (this.passes(e)) this.matching.push(e);
    if (this.entries.length > this.capacity + Math.max(50, this.capacity / 10)) {
      const drop = this.entries.length - this.capacity;
      const firstKept = this.entries[drop]!.seq;
      this.entries.splice(0, drop);
      let m = 0;
      while (m < this.matching.length && this.matching[m]!.seq < firstKept) m++;
      if (m) {
        this.matching.splice(0, m);
        this.view.shifted(m);
      }
      for (const k of this.formatted.keys()) if (k < firstKept) this.formatted.delete(k);
    }
    this.markDirty();
  }

  private passes(e: LogEntry): boolean {
    if (LEVEL_RANK[e.level] < LEVEL_RANK[this.minLevel]) return false;
    return !this.filter.text || this.filter.test(`${e.level} ${e.source} ${e.message}`);
  }

  private rebuild(): void {
    this.matching = this.entries.filter((e) => this.passes(e));
    this.view.topLine = Math.min(this.view.topLine, Math.max(0, this.matching.length - 1));
  }

  /** The last `n` lines the panel shows (level and filter applied), as plain text. */
  lastLines(n: number): string[] {
    return this.matching.slice(-n).map((e) => stripAnsi(this.format(e)));
  }

  private format(e: LogEntry): string {
    const t = this.ctx.theme();
    const key = `${this.timestamps}|${t.name}`;
    if (key !== this.formatKey) {
      this.formatted.clear();
      this.formatKey = key;
    }
    const hit = this.formatted.get(e.seq);
    if (hit !== undefined) return hit;
    const d = new Date(e.time);
    const ts = this.timestamps
      ? `${[d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":")}.${String(d.getMilliseconds()).padStart(3, "0")} `
      : "";
    const lvl = this.ctx.sgr(t.level[e.level]);
    const dim = this.ctx.sgr(t.text.dim);
    const reset = lvl || dim ? "\x1b[0m" : "";
    const msg = e.message
      .split("\n")
      .map((l) => sanitize(l))
      .join(" ⏎ ");
    const body = e.level === "error" ? `${lvl}${msg}${reset}` : msg;
    const line = `${dim}${ts}${reset}${lvl}${e.level.toUpperCase().padEnd(5)}${reset} ${dim}${sanitize(e.source)}${reset} ${body}`;
    if (this.formatted.size > 2000) this.formatted.clear();
    this.formatted.set(e.seq, line);
    return line;
  }

  protected summary(): string {
    const flags = [...this.scroll.flags(), this.timestamps ? "time" : "", this.minLevel !== "debug" ? `≥${this.minLevel}` : ""].filter(Boolean);
    const count = this.matching.length === this.entries.length ? `${this.entries.length}` : `${this.matching.length}/${this.entries.length}`;
    return `${count} · ${flags.join(" ")}`;
  }

  protected draw(width: number, height: number): string[] {
    if (this.matching.length === 0) {
      const t = this.ctx.theme();
      return [`${t.text.dim}${this.entries.length ? "No log line matches the level and filter." : "No log lines yet."}{/}`];
    }
    return this.view.render(width, height);
  }

  nav(n: Nav): void {
    this.scroll.nav(n);
  }

  toggleFollow(): void {
    this.scroll.toggleFollow();
  }
  toggleWrap(): void {
    this.scroll.toggleWrap();
  }
  toggleTimestamps(): void {
    this.timestamps = !this.timestamps;
    this.markDirty();
  }

  /** debug → info → warn → error → debug. */
  cycleLevel(): LogLevelName {
    this.minLevel = LEVELS[(LEVELS.indexOf(this.minLevel) + 1) % LEVELS.length]!;
    this.rebuild();
    this.markDirty();
    return this.minLevel;
  }

  setFilter(text: string): void {
    this.filterText = text;
    this.filter = makeFilter(text);
    this.rebuild();
    this.markDirty();
  }

  mouse(ev: MouseEvent): boolean {
    return this.scroll.wheel(ev) || ev.action === "mousedown";
  }
}
