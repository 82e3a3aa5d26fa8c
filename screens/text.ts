// Text helpers for the console: display width (the same rules blessed uses, after the emoji patch in
// terminal.ts), fitting to columns, tag escaping, sanitising untrusted text, and ANSI handling for task output.
import blessed from "blessed";

interface Unicode {
  strWidth(s: string): number;
  charWidth(s: string, i?: number): number;
}
const unicode = (blessed as unknown as { unicode: Unicode }).unicode;

/** Display width in terminal cells, as blessed computes it. */
export function width(s: string): number {
  // Fast path: printable ASCII is one cell per character.
  if (/^[\x20-\x7e]*$/.test(s)) return s.length;
  return unicode.strWidth(s);
}

/** Escapes blessed tag braces in untrusted text. */
export function esc(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === "{" ? "{open}" : "{close}"));
}

// ---- the one sanitizer: nothing hostile reaches the terminal ----

/**
 * Escape sequences as a terminal parses them (ECMA-48), in 7-bit (ESC …) and 8-bit (C1) form: CSI up to its final
 * byte (captured, so SGR can be kept); OSC, DCS, SOS, PM and APC strings up to BEL or ST, or, unterminated, up to
 * the end of the line (a terminal would swallow that text too); any other ESC sequence; a lone ESC.
 */
const SEQUENCE = /(?:\x1b\[|\x9b)([0-?]*)([ -/]*)([@-~]?)|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x9c|\x1b\\)?|\x1b[ -/]*[0-~]?/g;
/**
 * What is left after the sequences: C0 controls (tab and newline were replaced before), DEL, C1, bidi controls. ESC
 * is not here: SEQUENCE consumed every ESC but the SGR sequences kept on purpose.
 */
const UNSAFE = /[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** Fast path: text without any of these needs no work (nearly every cell the console draws). */
const SUSPECT = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

export interface StripOptions {
  /** Keep line breaks (as "\n"); otherwise they become spaces. */
  newlines?: boolean;
  /** Keep SGR colour sequences in the form blessed understands (ESC [ digits ; m). */
  sgr?: boolean;
  /** What a tab becomes (default one space). */
  tab?: string;
}

/**
 * The one sanitizer for everything the console draws: drops every escape sequence (but SGR when asked), every
 * control character and bidi override, so untrusted text can neither drive the terminal (titles, clipboard,
 * cursor) nor reorder what the operator reads. Everything else (sanitize, cleanAnsi, stripAnsi and the guard on
 * blessed's setContent in terminal.ts) is built on it.
 */
export function stripControls(s: string, o: StripOptions = {}): string {
  if (!SUSPECT.test(s)) return s;
  return s
    .replace(SEQUENCE, (m, params: string | undefined, inter: string, final: string) =>
      o.sgr && final === "m" && !inter && m.charCodeAt(0) === 0x1b && /^[\d;]*$/.test(params!) ? m : "",
    )
    .replace(/\r\n?|\n|[\u2028\u2029]/g, o.newlines ? "\n" : " ")
    .replace(/\t/g, o.tab ?? " ")
    .replace(UNSAFE, "");
}

const ZWJ_SEQ = /\u200d\p{Extended_Pictographic}\ufe0f?/gu;
const REGIONAL_PAIR = /([\u{1F1E6}-\u{1F1FF}])([\u{1F1E6}-\u{1F1FF}])/gu;
/** Anything the emoji rules below change: zero-width characters, variation selectors, flags, skin tones. */
const EMOJI_FIX = /[\u200b-\u200d\u2060-\u2064\ufe0e\ufe0f\u{1F1E6}-\u{1F1FF}\u{1F3FB}-\u{1F3FF}]/u;

/**
 * Makes untrusted one-line text (room names, messages, task names) safe to draw: stripControls, newlines become
 * spaces, and no emoji sequences whose width terminals disagree on (ZWJ sequences keep their first emoji, flags
 * become their letters, VS16 and skin tones are dropped).
 */
export function sanitize(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s)) return s;
  const t = stripControls(s);
  if (!EMOJI_FIX.test(t)) return t;
  return t
    .replace(ZWJ_SEQ, "")
    .replace(/[\ufe0e\ufe0f\u200b-\u200d\u2060-\u2064]/g, "")
    .replace(/[\u{1F3FB}-\u{1F3FF}]/gu, "")
    .replace(
      REGIONAL_PAIR,
      (_m, a: string, b: string) => `[${String.fromCharCode(a.codePointAt(0)! - 0x1f1e6 + 65)}${String.fromCharCode(b.codePointAt(0)! - 0x1f1e6 + 65)}]`,
    )
    .replace(/[\u{1F1E6}-\u{1F1FF}]/gu, "");
}

/** Truncates plain text to at most `cols` cells, ending with "…" when cut. */
export function truncate(s: string, cols: number): string {
  if (cols <= 0) return "";
  if (width(s) <= cols) return s;
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = width(ch);
    if (w + cw > cols - 1) break;
    out += ch;
    w += cw;
  }
  return out + "…";
}

/** Truncates or pads plain text to exactly `cols` cells. */
export function fit(s: string, cols: number, align: "left" | "right" = "left"): string {
  const t = truncate(s, cols);
  const pad = " ".repeat(Math.max(0, cols - width(t)));
  return align === "left" ? t + pad : pad + t;
}

/** Pads plain text on the right to `cols` cells (no truncation). */
export function padEnd(s: string, cols: number): string {
  return s + " ".repeat(Math.max(0, cols - width(s)));
}

// ---- ANSI (task output) ----

const SGR = /\x1b\[[0-9;:]*m/y;

/** Plain text of a line: every escape sequence (colours too) and control character dropped; newlines and tabs kept. */
export const stripAnsi = (s: string): string => stripControls(s, { newlines: true, tab: "\t" });

/** Task output: keeps colour (SGR) sequences, drops everything else (stripControls); tabs become spaces. */
export function cleanAnsi(s: string): string {
  let out = s.replace(/\r\n/g, "\n");
  // A carriage return overwrites the line: keep what is after the last one (progress bars).
  const cr = out.lastIndexOf("\r");
  if (cr >= 0) out = out.slice(cr + 1);
  return stripControls(out, { newlines: true, sgr: true, tab: "    " });
}

/** A piece of an ANSI line: either an SGR code or visible text. */
type Piece = { sgr: string } | { text: string };

function pieces(line: string): Piece[] {
  const out: Piece[] = [];
  let i = 0;
  let text = "";
  while (i < line.length) {
    if (line.charCodeAt(i) === 0x1b) {
      SGR.lastIndex = i;
      const m = SGR.exec(line);
      if (m) {
        if (text) {
          out.push({ text });
          text = "";
        }
        out.push({ sgr: m[0] });
        i += m[0].length;
        continue;
      }
    }
    text += line[i];
    i++;
  }
  if (text) out.push({ text });
  return out;
}

/** Visible width of a line that may contain SGR codes. */
export function ansiWidth(line: string): number {
  return width(line.replace(/\x1b\[[0-9;:]*m/g, ""));
}

/**
 * Cuts an ANSI line into visual rows of at most `cols` cells. With `wrap` false, returns one row starting at
 * column `offset`. Each row re-opens the colours active at its start and ends with a reset, so rows can be
 * drawn independently.
 */
export function ansiRows(line: string, cols: number, wrap: boolean, offset = 0): string[] {
  cols = Math.max(1, cols);
  const ps = pieces(line);
  const rows: string[] = [];
  let active = "";
  let row = "";
  let rowOpen = "";
  let w = 0;
  let skip = wrap ? 0 : offset;
  let hasSgr = false;
  /** Just after the last space of the row: where a word wrap breaks it. */
  let brk: { at: number; w: number; active: string } | undefined;
  const end = () => (hasSgr ? "\x1b[0m" : "");
  for (const p of ps) {
    if ("sgr" in p) {
      hasSgr = true;
      if (/^\x1b\[0?m$/.test(p.sgr)) active = "";
      else active += p.sgr;
      row += p.sgr;
      continue;
    }
    for (const ch of p.text) {
      const cw = width(ch);
      if (skip > 0) {
        skip -= cw;
        continue;
      }
      if (w + cw > cols) {
        if (!wrap) return [rowOpen + row + end()];
        if (brk && brk.w >= cols / 3 && ch !== " ") {
          // Break after the last space; the word being written moves to the next row.
          rows.push(rowOpen + row.slice(0, brk.at) + end());
          rowOpen = brk.active;
          row = row.slice(brk.at);
          w -= brk.w;
        } else {
          rows.push(rowOpen + row + end());
          rowOpen = active;
          row = "";
          w = 0;
        }
        brk = undefined;
        if (ch === " " && w === 0) continue;
      }
      row += ch;
      w += cw;
      if (ch === " ") brk = { at: row.length, w, active };
    }
  }
  if (w > 0 || rows.length === 0) rows.push(rowOpen + row + end());
  return rows;
}

/** "3s", "2m05s", "1h04m": the same formatter chat uses. */
export { formatDuration as duration } from "../src/util/text.js";

/** "just now", "5m ago", "3h ago", "2d ago". */
export function ago(epochMs: number | undefined, now: number): string {
  if (!epochMs) return "-";
  const s = Math.max(0, Math.floor((now - epochMs) / 1000));
  if (s < 10) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 172800) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function clock(d: Date): string {
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}:${String(d.getSeconds()).padStart(2, "0")}`;
}

/**
 * A filter as typed after `/`: case-insensitive regular expression when it is one, else a plain substring;
 * a leading `!` inverts it. Empty matches everything.
 */
export interface Filter {
  text: string;
  test(s: string): boolean;
}

export function makeFilter(text: string): Filter {
  const inverse = text.startsWith("!");
  const body = inverse ? text.slice(1) : text;
  if (!body) return { text, test: () => true };
  let re: RegExp | undefined;
  try {
    re = new RegExp(body, "i");
  } catch {
    re = undefined;
  }
  const lower = body.toLowerCase();
  const base = re ? (s: string) => re!.test(s) : (s: string) => s.toLowerCase().includes(lower);
  return { text, test: inverse ? (s) => !base(s) : base };
}

/** Word-wraps plain text to `cols` cells. */
export function wrapPlain(text: string, cols: number): string[] {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    if (width(para) <= cols) {
      out.push(para);
      continue;
    }
    let line = "";
    for (const word of para.split(/(\s+)/)) {
      if (width(line + word) <= cols) {
        line += word;
        continue;
      }
      if (line.trim()) out.push(line.trimEnd());
      line = word.trimStart();
      while (width(line) > cols) {
        out.push(truncate(line, cols).slice(0, -1));
        line = line.slice(Math.max(1, cols - 1));
      }
    }
    out.push(line.trimEnd());
  }
  return out;
}
