// screens/sgr.ts: blessed tags to blessed's own SGR codes, converted once per distinct tag string.
import test from "ava";
import { SgrCache } from "../screens/sgr.js";

test("opening tags become the codes blessed gives for them ('-' read as a space); closing tags, text and unknown tags add nothing", (t) => {
  const asked: string[] = [];
  const codes: Record<string, string> = { bold: "\x1b[1m", "red fg": "\x1b[31m", "#808080 fg": "\x1b[38;5;244m" };
  const sgr = new SgrCache((p) => {
    asked.push(p);
    return codes[p] ?? null;
  });
  t.is(sgr.convert("{bold}{red-fg}"), "\x1b[1m\x1b[31m");
  t.is(sgr.convert("{#808080-fg}text{/bold}{blink-sparkle}"), "\x1b[38;5;244m");
  t.is(sgr.convert("plain"), "");
  t.deepEqual(asked, ["bold", "red fg", "#808080 fg", "blink sparkle"]);
});

test("the same tag string is converted once", (t) => {
  let calls = 0;
  const sgr = new SgrCache(() => {
    calls++;
    return "\x1b[2m";
  });
  for (let i = 0; i < 5; i++) t.is(sgr.convert("{dim}"), "\x1b[2m");
  t.is(calls, 1);
});
