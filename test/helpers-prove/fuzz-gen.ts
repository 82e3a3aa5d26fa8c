// A seeded generator of hostile chat messages for the command path: real command names (any case) with random
// arguments, stray quotes, HTML and markdown carrying the canary, zero-width and right-to-left characters, combining
// marks, emoji and lone surrogates, control characters and ANSI, huge numbers, 64 kB bodies, and plain noise.
// Same seed, same messages: a failure is reproduced by its seed and index.
import { CANARY } from "./html-check.js";
import { mulberry32 } from "../../src/util/random.js";

/** Seeded, so a failure can be replayed with the same seed. */
export const rng = mulberry32;

export class Gen {
  readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
}

/** Every tag carries the canary, so one that turns into markup is recognisable (see html-check.ts). */
export const HTML_BITS = [
  `<script>alert('${CANARY}')</script>`,
  `<img src=x onerror="${CANARY}()">`,
  `<img src="x" onerror=alert(1) title=${CANARY}>`,
  `<a href="javascript:${CANARY}()">click</a>`,
  `<b title="${CANARY}">bold</b>`,
  `<font color="${CANARY}">x</font>`,
  `<span data-mx-color="#${CANARY}">c</span>`,
  `</code></pre><i class=${CANARY}>`,
  `<svg onload=${CANARY}>`,
  `<iframe src=${CANARY}>`,
  `<!--${CANARY}-->`,
  `<![CDATA[${CANARY}]]>`,
  `<mx-reply data-${CANARY}=1>`,
  `<style>${CANARY}{}</style>`,
  `<table id=${CANARY}><tr><td>`,
  `<a href=https://${CANARY}.example/ onclick=x>l</a>`,
  `<br ${CANARY}>`,
  `<p style="${CANARY}">`,
  `<${CANARY}>`,
  `</b>`,
  `</a>`,
  `<`,
  `>`,
  `&lt;b&gt;`,
  `&amp;`,
  `&#60;script&#62;`,
  `&`,
  `&nbsp;`,
  `"><img src=x onerror=${CANARY}>`,
  `'><b title=${CANARY}>`,
];

const MARKDOWN = ["**bold**", "__u__", "`code`", "```\nfence\n```", "[x](javascript:alert(1))", "> quote", "# h1", "* item", "~~s~~", "||spoiler||"];
const ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"];
const BIDI = ["\u202e", "\u202d", "\u202b", "\u202a", "\u200f", "\u200e", "\u2066", "\u2067", "\u2068", "\u2069", "\u061c"];
const ODD = [
  "\u0000",
  "\u0007",
  "\u001b[31m",
  "\u001b[0m",
  "\u001b]0;title\u0007",
  "\r",
  "\t",
  "\v",
  "\f",
  "\u0085",
  "\u2028",
  "\u2029",
  "\ud800",
  "\udfff",
  "\uffff",
  "\ufffe",
  "\u0301\u0301\u0301",
  "e\u0301",
  "🏳️‍🌈",
  "👍🏽",
  "𝕏",
  "𐍈",
  "\u{1F600}",
  "ﷺ",
  "Ꙭ",
  "ǅ",
  "ß",
  "İ",
  "ﬃ",
];
const QUOTES = [`"`, `'`, `\\`, `\\"`, `""`, `''`, `"unterminated`, `'half`, `“smart”`, `‘x’`, "`", `\\\\"`];
const WORDS = [
  "1",
  "2",
  "3",
  "0",
  "-1",
  "#7",
  "r1",
  "R2",
  "#r3",
  "99999999999999999999",
  "1e9",
  "0x1f",
  "NaN",
  "Infinity",
  "Infrastructure",
  "Deploy",
  "Deploy web",
  "Full",
  "Run",
  "Terraform",
  "Rotate",
  "here",
  "all",
  "failures",
  "finished",
  "on",
  "off",
  "join",
  "part",
  "add",
  "remove",
  "yes",
  "no",
  "--tags",
  "--skip-tags",
  "--limit",
  "--args",
  "--branch",
  "--dry-run",
  "--diff",
  "--debug",
  "--force",
  "-f",
  "--user",
  "--tags=web,db",
  "--args=-e x=1",
  "cert_domain=a.example",
  "validity_days=30",
  "ca=internal",
  "password=hunter2",
  "token=abc",
  "x=",
  "=x",
  "=",
  "!cd",
  "@alice:test",
  "!ops:test",
  "#alias:test",
  "!nosuch:test",
  "*",
  ",",
  ",,",
  "..",
  "../../etc/passwd",
  "%s%s%n",
  "${x}",
  "$(id)",
  "`id`",
  "null",
  "undefined",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
];

function unicodeChar(g: Gen): string {
  const ranges: Array<[number, number]> = [
    [0x20, 0x7e],
    [0xa0, 0x24f],
    [0x370, 0x3ff],
    [0x400, 0x4ff],
    [0x590, 0x5ff],
    [0x600, 0x6ff],
    [0x900, 0x97f],
    [0x3040, 0x30ff],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0xe000, 0xf8ff],
    [0x1f300, 0x1faff],
    [0x10000, 0x1007f],
    [0xe0000, 0xe007f],
    [0x0, 0x1f],
  ];
  const [lo, hi] = g.pick(ranges);
  return String.fromCodePoint(lo + g.int(hi - lo + 1));
}

function noise(g: Gen, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += unicodeChar(g);
  return s;
}

/** One argument-ish token. */
export function token(g: Gen): string {
  switch (g.int(10)) {
    case 0:
      return g.pick(HTML_BITS);
    case 1:
      return g.pick(MARKDOWN);
    case 2:
      return g.pick(WORDS) + g.pick(ZERO_WIDTH);
    case 3:
      return g.pick(BIDI) + g.pick(WORDS) + g.pick(BIDI);
    case 4:
      return g.pick(ODD) + g.pick(WORDS);
    case 5:
      return g.pick(QUOTES) + g.pick(WORDS) + (g.chance(0.5) ? g.pick(QUOTES) : "");
    case 6:
      return noise(g, 1 + g.int(12));
    case 7:
      return `"${g.pick(WORDS)} ${g.pick(HTML_BITS)}"`;
    default:
      return g.pick(WORDS);
  }
}

function spaces(g: Gen): string {
  return g.pick([" ", " ", " ", "  ", "\t", "\n", " \u00a0", "\u3000", "\u2003", " \u200b "]);
}

/** A 64 kB body (give or take a few bytes) of one flavour of nastiness. */
export function hugeBody(g: Gen, bytes = 64 * 1024): string {
  const unit = g.pick([`<script>${CANARY}</script>`, `"`, "&", "\u202e\u200b", "💥", "a", "<b title=" + CANARY + ">x\n", `' OR 1=1 --`, noise(g, 8)]);
  let s = "";
  while (Buffer.byteLength(s) < bytes) s += unit;
  return s;
}

export interface FuzzMessage {
  body: string;
  /** An m.in_reply_to to attach (answers to prompts use it sometimes). */
  asReply?: boolean;
}

/**
 * One message. Most are prefixed commands (that is where the code is); some are bare answers (yes/no, emoji) that
 * may settle a pending confirmation; some are noise that must be ignored.
 */
export function message(g: Gen, commands: readonly string[], prefix = "!cd"): FuzzMessage {
  const roll = g.r();
  if (roll < 0.004) return { body: `${prefix} ${g.pick(commands)} ${hugeBody(g)}` };
  if (roll < 0.006) return { body: hugeBody(g) };
  if (roll < 0.05)
    return {
      body: g.pick([
        "yes",
        "no",
        "y",
        "n",
        "ok",
        "cancel",
        "👍",
        "👎",
        "👍🏽",
        "yes please",
        "> <@bot:x> prompt\n\nyes",
        `${prefix} yes`,
        `${prefix} no`,
        "YES!",
        "nope",
      ]),
      asReply: g.chance(0.3),
    };
  if (roll < 0.09) return { body: `${noise(g, g.int(40))}${g.chance(0.5) ? g.pick(HTML_BITS) : ""}` };
  if (roll < 0.11)
    return {
      body: `${g.pick([prefix.toUpperCase(), prefix + "x", " " + prefix, prefix + "\u200b", "\u202e" + prefix, prefix + "\n"])}${spaces(g)}${g.pick(commands)}`,
    };
  const name = g.chance(0.9) ? g.pick(commands) : token(g);
  const cased = g.chance(0.2) ? name.toUpperCase() : g.chance(0.1) ? name.replace(/^./, (c) => c.toUpperCase()) : name;
  const n = g.chance(0.15) ? g.int(40) : g.int(5);
  let body = `${prefix}${spaces(g)}${cased}`;
  for (let i = 0; i < n; i++) body += spaces(g) + token(g);
  return { body };
}
