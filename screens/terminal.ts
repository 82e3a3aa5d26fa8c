// The compat layer between blessed 0.1.81 and real terminals (see /work/shared/reference/console.md §1.4):
// terminal name fallbacks, a quiet screen constructor, mouse chunk splitting and SGR mode, emoji widths,
// a sanitizing guard on every element's content, render coalescing, keeping stray writes off the screen, and
// restoring the terminal on every way out.
import blessed from "blessed";
import { PassThrough } from "node:stream";
import { format } from "node:util";
import { stripControls } from "./text.js";

export type Screen = blessed.Widgets.Screen;

// ---- terminal names ----

/**
 * The terminal name to give blessed. Debian 12's compiled *-256color entries use a format blessed 0.1.81 cannot
 * parse, so screen/tmux 256-colour terminals are mapped to xterm-256color (blessed bundles that one); unknown or
 * missing names get plain xterm rather than a broken screen.
 */
export function pickTerminal(term: string | undefined, colorterm?: string): string {
  const t = (term ?? "").trim();
  if (!t || t === "dumb" || t === "unknown") return "xterm";
  if (/^(screen|tmux)/.test(t)) return /256|truecolor|direct/.test(t) || /truecolor|24bit/.test(colorterm ?? "") ? "xterm-256color" : "xterm";
  if (/^(xterm-kitty|alacritty|wezterm|foot|ghostty|rio)/.test(t)) return "xterm-256color";
  if (/-(256color|direct|truecolor)$/.test(t) && !/^(xterm|rxvt|linux)/.test(t)) return "xterm-256color";
  return t;
}

// ---- emoji widths ----

interface UnicodeModule {
  charWidth(s: string | number, i?: number): number;
  codePointAt(s: string, i: number): number;
  chars: { all: RegExp };
  __emojiPatched?: boolean;
}

/** Emoji_Presentation code points as a regex alternation blessed can use (no `u` flag: surrogate pairs). */
function emojiAlternation(): string {
  const bmp: number[] = [];
  const astral = new Map<number, number[]>();
  const re = /\p{Emoji_Presentation}/u;
  const scan = (from: number, to: number) => {
    for (let cp = from; cp <= to; cp++) {
      if (!re.test(String.fromCodePoint(cp))) continue;
      if (cp <= 0xffff) bmp.push(cp);
      else {
        const s = String.fromCodePoint(cp);
        const hi = s.charCodeAt(0);
        const list = astral.get(hi) ?? [];
        list.push(s.charCodeAt(1));
        astral.set(hi, list);
      }
    }
  };
  scan(0x2300, 0x2bff);
  scan(0x1f000, 0x1faff);
  const hex = (n: number) => `\\u${n.toString(16).padStart(4, "0")}`;
  const ranges = (cps: number[]) => {
    const out: string[] = [];
    for (let i = 0; i < cps.length; i++) {
      let j = i;
      while (j + 1 < cps.length && cps[j + 1] === cps[j]! + 1) j++;
      out.push(j > i ? `${hex(cps[i]!)}-${hex(cps[j]!)}` : hex(cps[i]!));
      i = j;
    }
    return out.join("");
  };
  const alts: string[] = [];
  if (bmp.length) alts.push(`[${ranges(bmp)}]`);
  for (const [hi, los] of astral) alts.push(`${hex(hi)}[${ranges(los)}]`);
  return alts.join("|");
}

/**
 * blessed counts emoji as one cell, terminals draw them in two: every emoji shifted the rest of its row (and the
 * right border) by one column. This makes charWidth return 2 for Emoji_Presentation code points and adds them to
 * the wide-character regex, so blessed inserts its padding cell. Idempotent.
 */
export function patchEmojiWidth(): void {
  const unicode = (blessed as unknown as { unicode: UnicodeModule }).unicode;
  if (unicode.__emojiPatched) return;
  unicode.__emojiPatched = true;
  const orig = unicode.charWidth.bind(unicode);
  const ep = /\p{Emoji_Presentation}/u;
  const wide = new Map<number, boolean>();
  unicode.charWidth = (str: string | number, i?: number): number => {
    // Fast path: printable ASCII (nearly every cell blessed draws).
    const unit = typeof str === "number" ? str : str.charCodeAt(i ?? 0);
    if (unit >= 0x20 && unit < 0x7f) return 1;
    if (unit < 0x2300) return orig(str, i);
    const point = typeof str === "number" ? str : unicode.codePointAt(str, i ?? 0);
    if (point <= 0x2bff || (point >= 0x1f000 && point <= 0x1faff)) {
      let w = wide.get(point);
      if (w === undefined) {
        w = ep.test(String.fromCodePoint(point));
        wide.set(point, w);
      }
      if (w) return 2;
    }
    return orig(str, i);
  };
  unicode.chars.all = new RegExp(`(${unicode.chars.all.source.slice(1, -1)}|${emojiAlternation()})`, "g");
}

/**
 * With `wrap: false`, blessed measures a line's width in UTF-16 units, so each emoji outside the BMP (a surrogate
 * pair in one cell) makes it cut the line one cell early. Our boxes hand it lines that already fit, so the
 * measuring width is widened by the number of surrogate pairs; the drawing still stops at the box edge.
 */
export function patchSurrogateClipping(): void {
  const proto = (blessed as unknown as { Element: { prototype: Record<string, unknown> } }).Element.prototype;
  if (proto.__surrogatePatched) return;
  proto.__surrogatePatched = true;
  const orig = proto._wrapContent as (this: { wrap?: boolean }, content: string, width: number) => unknown;
  proto._wrapContent = function (this: { wrap?: boolean }, content: string, width: number) {
    if (this.wrap === false && content && /[\ud800-\udbff]/.test(content)) {
      let extra = 0;
      for (const line of content.split("\n")) {
        const n = line.match(/[\ud800-\udbff][\udc00-\udfff]/g)?.length ?? 0;
        if (n > extra) extra = n;
      }
      width += extra;
    }
    return orig.call(this, content, width);
  };
}

// ---- nothing hostile reaches the terminal ----

/**
 * The last line of defence behind the widgets' own sanitizing: whatever any element is given to draw (content,
 * labels, list items: all go through setContent) passes the one sanitizer, keeping only newlines, tabs and SGR.
 * blessed itself drops C0 and lone ESC but passes C1 (8-bit CSI/OSC), so task output could set the title or
 * write the clipboard. Idempotent.
 */
/** How often the guard had to change what a widget drew (each widget sanitizes its own text; tests expect 0). */
export const contentGuard = { caught: 0, last: "" };

export function patchContentGuard(): void {
  const proto = (blessed as unknown as { Element: { prototype: Record<string, unknown> } }).Element.prototype;
  if (proto.__contentGuarded) return;
  proto.__contentGuarded = true;
  const orig = proto.setContent as (this: unknown, content: unknown, ...rest: unknown[]) => unknown;
  proto.setContent = function (this: unknown, content: unknown, ...rest: unknown[]) {
    const safe = typeof content === "string" ? stripControls(content, { newlines: true, sgr: true, tab: "\t" }) : content;
    if (safe !== content) {
      contentGuard.caught++;
      contentGuard.last = JSON.stringify(content).slice(0, 200);
    }
    return orig.call(this, safe, ...rest);
  };
}

// ---- mouse input ----

/**
 * blessed parses only the first mouse sequence of each input chunk, so a press and release that arrive together
 * lose the click. This splits a chunk so every mouse sequence starts a new chunk.
 */
export function splitMouseChunks(buf: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = buf.indexOf(0x1b); i >= 0 && i < buf.length; i = buf.indexOf(0x1b, i + 1)) {
    if (buf[i + 1] === 0x5b && (buf[i + 2] === 0x3c || buf[i + 2] === 0x4d) && i > 0) starts.push(i);
  }
  if (starts.length === 0) {
    // A mouse sequence followed by keys in the same chunk: split after it too.
    return splitAfterMouse(buf);
  }
  const out: Buffer[] = [];
  let prev = 0;
  for (const s of starts) {
    out.push(...splitAfterMouse(buf.subarray(prev, s)));
    prev = s;
  }
  out.push(...splitAfterMouse(buf.subarray(prev)));
  return out.filter((b) => b.length > 0);
}

/** A chunk that starts with an SGR mouse sequence and has more after it: [sequence, rest]. */
function splitAfterMouse(buf: Buffer): Buffer[] {
  if (buf[0] === 0x1b && buf[1] === 0x5b && buf[2] === 0x3c) {
    for (let i = 3; i < buf.length; i++) {
      const c = buf[i]!;
      if (c === 0x4d || c === 0x6d) return i + 1 < buf.length ? [buf.subarray(0, i + 1), buf.subarray(i + 1)] : [buf];
      if (!(c >= 0x30 && c <= 0x3b)) break;
    }
  } else if (buf[0] === 0x1b && buf[1] === 0x5b && buf[2] === 0x4d && buf.length > 6) {
    return [buf.subarray(0, 6), buf.subarray(6)];
  }
  return [buf];
}

export type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; isRaw?: boolean; setRawMode?: (mode: boolean) => unknown };

/**
 * Wraps the terminal input so each mouse sequence arrives in its own chunk. Raw mode is delegated to the real
 * input. `detach()` stops reading from it.
 */
export function mouseSplittingInput(src: TtyInput): TtyInput & { detach(): void } {
  const out = new PassThrough() as unknown as PassThrough & TtyInput & { detach(): void };
  out.isTTY = src.isTTY ?? true;
  out.isRaw = false;
  out.setRawMode = (mode: boolean) => {
    src.setRawMode?.(mode);
    out.isRaw = mode;
    return out;
  };
  const onData = (chunk: Buffer | string) => {
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    for (const part of splitMouseChunks(buf)) out.write(part);
  };
  src.on("data", onData);
  const origResume = out.resume.bind(out);
  const origPause = out.pause.bind(out);
  out.resume = () => {
    src.resume();
    return origResume();
  };
  out.pause = () => {
    src.pause();
    return origPause();
  };
  out.detach = () => {
    src.removeListener("data", onData);
    src.pause();
  };
  return out;
}

/** Mouse on: button presses, releases and the wheel, SGR encoding (no motion events: they cost CPU). */
export function setMouse(screen: Screen, on: boolean): void {
  const program = screen.program as unknown as { setMouse(o: Record<string, boolean>, enable: boolean): void; disableMouse(): void; _currentMouse?: unknown };
  if (on) program.setMouse({ vt200Mouse: true, sgrMouse: true, utfMouse: false }, true);
  else if (program._currentMouse) program.disableMouse();
}

// ---- the screen ----

export interface CreateScreenOptions {
  input: TtyInput;
  output: NodeJS.WritableStream;
  /** Terminal name; default from $TERM, mapped by pickTerminal. */
  terminal?: string;
  title?: string;
}

/**
 * blessed/lib/colors.js builds its 8-colour fallback table (ccolors) by calling its own `match` with the palette cut
 * to 8 entries, and `match` caches by RGB: every exact palette colour (#8a8a8a, #87d7ff…) is then cached as its
 * nearest basic colour, so dim text and "stopped" come out yellow on a 256-colour terminal. Dropping that cache
 * once makes `match` search the full palette again; the 8-colour table itself is already built and stays right.
 */
export function patchColorMatch(): void {
  const colors = (blessed as unknown as { colors: { _cache: Record<number, number>; _chatrixFixed?: boolean } }).colors;
  if (colors._chatrixFixed) return;
  colors._cache = {};
  colors._chatrixFixed = true;
}

/** OSC 52: asks the terminal to put `text` on the system clipboard (works over ssh; tmux needs set-clipboard on). */
export function osc52(text: string): string {
  return `\x1b]52;c;${Buffer.from(text, "utf8").toString("base64")}\x07`;
}

/** A blessed screen with the fallbacks applied; nothing is written to stderr while it is built. */
export function createScreen(o: CreateScreenOptions): Screen {
  patchColorMatch();
  patchEmojiWidth();
  patchSurrogateClipping();
  patchContentGuard();
  const terminal = pickTerminal(o.terminal ?? process.env.TERM, process.env.COLORTERM);
  // Unicode box lines instead of the DEC alternate character set on UTF-8 terminals (tmux captures, PuTTY).
  const acsWas = process.env.NCURSES_NO_UTF8_ACS;
  const locale = process.env.LC_ALL || process.env.LC_CTYPE || process.env.LANG || "";
  if (acsWas === undefined && (locale === "" || /utf-?8/i.test(locale))) process.env.NCURSES_NO_UTF8_ACS = "1";
  const quiet = console.error;
  console.error = () => undefined; // tput prints terminfo compile errors here
  try {
    return blessed.screen({
      input: o.input as unknown as NodeJS.WritableStream,
      output: o.output as unknown as NodeJS.ReadableStream,
      terminal,
      fullUnicode: true,
      smartCSR: true,
      warnings: false,
      autoPadding: true,
      dockBorders: false,
      title: o.title,
      ignoreLocked: ["C-c"],
    } as blessed.Widgets.IScreenOptions);
  } finally {
    console.error = quiet;
    if (acsWas === undefined) delete process.env.NCURSES_NO_UTF8_ACS;
  }
}

// ---- render coalescing ----

/**
 * blessed has no render coalescing and every render costs about a millisecond. Views mark themselves dirty and
 * ask for a frame: `soon()` (after input: next turn of the event loop) or `later()` (data changes: at most
 * `maxHz` frames per second). Either way there is at most one frame per turn.
 */
export class RenderScheduler {
  private immediate?: NodeJS.Immediate;
  private timer?: NodeJS.Timeout;
  private lastFrame = 0;
  private stopped = false;
  frames = 0;
  /** Total time spent in frames (ms), for the benchmark. */
  frameTime = 0;
  lastFrameMs = 0;

  constructor(
    private readonly frame: () => void,
    private readonly maxHz = 5,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A frame on the next turn (keys: the operator is waiting). */
  soon(): void {
    if (this.stopped || this.immediate) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.run();
    });
  }

  /** A frame within 1/maxHz seconds (data changes). */
  later(): void {
    if (this.stopped || this.immediate || this.timer) return;
    const wait = Math.max(0, this.lastFrame + 1000 / this.maxHz - this.now());
    if (wait === 0) {
      this.soon();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, wait);
  }

  /** Renders now (tests, resize). */
  flush(): void {
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.run();
  }

  stop(): void {
    this.stopped = true;
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
  }

  private run(): void {
    if (this.stopped) return;
    const t0 = this.now();
    this.frame();
    const t1 = this.now();
    this.lastFrame = t1;
    this.lastFrameMs = t1 - t0;
    this.frameTime += t1 - t0;
    this.frames++;
  }
}

// ---- stdout / stderr while the screen is up ----

type WriteFn = typeof process.stdout.write;

/**
 * While the screen is up nothing may write to stdout or stderr: a stray console.log (a library, a warning)
 * would corrupt the display. This sends such writes, and console.*, to `sink` (the log panel and file) and
 * returns the real stdout write for the screen itself. `release()` puts everything back.
 */
export class StdioGuard {
  readonly realStdoutWrite: (s: string) => boolean;
  private readonly saved: { out: WriteFn; err: WriteFn; console: Record<string, unknown> };
  private partial = { stdout: "", stderr: "" };
  private active = false;

  constructor(private readonly sink: (stream: "stdout" | "stderr", line: string) => void) {
    const out = process.stdout.write;
    this.saved = { out, err: process.stderr.write, console: {} };
    this.realStdoutWrite = (s: string) => out.call(process.stdout, s);
  }

  engage(): void {
    if (this.active) return;
    this.active = true;
    const capture = (stream: "stdout" | "stderr"): WriteFn =>
      ((chunk: unknown, enc?: unknown, cb?: unknown) => {
        const text =
          typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString("utf8") : String(chunk);
        const all = this.partial[stream] + text;
        const lines = all.split("\n");
        this.partial[stream] = lines.pop() ?? "";
        for (const l of lines) if (l.trim()) this.safeSink(stream, l);
        const done = typeof enc === "function" ? enc : cb;
        if (typeof done === "function") process.nextTick(done as () => void);
        return true;
      }) as WriteFn;
    process.stdout.write = capture("stdout");
    process.stderr.write = capture("stderr");
    for (const m of ["log", "info", "warn", "error", "debug", "trace", "dir"] as const) {
      this.saved.console[m] = console[m];
      (console as unknown as Record<string, unknown>)[m] = (...args: unknown[]) =>
        this.safeSink(m === "log" || m === "info" || m === "dir" ? "stdout" : "stderr", format(...args));
    }
  }

  release(): void {
    if (!this.active) return;
    this.active = false;
    process.stdout.write = this.saved.out;
    process.stderr.write = this.saved.err;
    for (const [m, f] of Object.entries(this.saved.console)) (console as unknown as Record<string, unknown>)[m] = f;
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.partial[stream].trim()) this.safeSink(stream, this.partial[stream]);
      this.partial[stream] = "";
    }
  }

  private sinking = false;
  private safeSink(stream: "stdout" | "stderr", line: string): void {
    if (this.sinking) return; // a sink that itself writes must not loop
    this.sinking = true;
    try {
      this.sink(stream, line);
    } catch {
      /* never let logging break the screen */
    } finally {
      this.sinking = false;
    }
  }
}

// ---- restoring the terminal ----

/** Mouse off, cursor on, normal screen, attributes reset: written raw in case blessed's own teardown failed. */
export const RESTORE_SEQUENCE = "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1004l\x1b[0m\x1b[?25h\x1b[?1049l";

/** Tears the screen down and leaves the terminal as it was. Safe to call more than once and from a crash. */
export function restoreTerminal(screen: Screen | undefined, write: (s: string) => void, input?: TtyInput): void {
  try {
    if (screen && !(screen as unknown as { destroyed?: boolean }).destroyed) screen.destroy();
  } catch {
    /* fall through to the raw sequence */
  }
  try {
    write(RESTORE_SEQUENCE);
  } catch {
    /* the terminal may be gone */
  }
  try {
    if (input?.isRaw) input.setRawMode?.(false);
  } catch {
    /* ditto */
  }
}

export interface ProcessGuards {
  /** SIGTERM, SIGINT, SIGHUP: restore and stop cleanly. */
  onSignal: (signal: NodeJS.Signals) => void;
  /**
   * Uncaught exception: restore, report, exit non-zero. (Unhandled rejections are not crashes: runCli logs
   * them, and the log panel shows them.)
   */
  onFatal: (error: unknown) => void;
  /** Process exit (whatever the cause): last chance to restore synchronously. */
  onExit: () => void;
}

/** Installs process handlers; returns a function that removes them. */
export function installProcessGuards(g: ProcessGuards): () => void {
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  const sig = (s: NodeJS.Signals) => g.onSignal(s);
  const fatal = (e: unknown) => g.onFatal(e);
  const exit = () => g.onExit();
  for (const s of signals) process.on(s, sig);
  process.on("uncaughtException", fatal);
  process.on("exit", exit);
  return () => {
    for (const s of signals) process.removeListener(s, sig);
    process.removeListener("uncaughtException", fatal);
    process.removeListener("exit", exit);
  };
}
