// Pure parts of the console: the compat layer (terminal names, mouse chunk splitting, render coalescing,
// stdio guard), text helpers (width, ANSI, sanitising, filters), the line editor and the scrolling text view.
import { computeLayout } from "../screens/layout.js";
import test from "ava";
import { pickTerminal, splitMouseChunks, RenderScheduler, StdioGuard, patchEmojiWidth } from "../screens/terminal.js";
import { ansiRows, cleanAnsi, fit, makeFilter, sanitize, truncate, width, duration, stripAnsi } from "../screens/text.js";
import { LineEditor, History } from "../screens/widgets/line-editor.js";
import { ScrollText } from "../screens/widgets/scroll-text.js";
import { ListView } from "../screens/widgets/list-view.js";
import { configRows } from "../screens/panels/config-panel.js";
import { fieldsFor, requestFrom } from "../screens/dialogs/run-wizard.js";
import { loadConfig } from "../src/config/load.js";

patchEmojiWidth();

test("terminal names: 256-colour screen/tmux map to xterm-256color, unknown to xterm", (t) => {
  t.is(pickTerminal("screen-256color"), "xterm-256color");
  t.is(pickTerminal("tmux-256color"), "xterm-256color");
  t.is(pickTerminal("screen"), "xterm");
  t.is(pickTerminal("xterm-256color"), "xterm-256color");
  t.is(pickTerminal(undefined), "xterm");
  t.is(pickTerminal("dumb"), "xterm");
  t.is(pickTerminal("xterm-kitty"), "xterm-256color");
  t.is(pickTerminal("linux"), "linux");
});

test("mouse chunks: every mouse report starts its own chunk", (t) => {
  const parts = (s: string) => splitMouseChunks(Buffer.from(s)).map((b) => b.toString());
  t.deepEqual(parts("\x1b[<0;3;5M\x1b[<0;3;5m"), ["\x1b[<0;3;5M", "\x1b[<0;3;5m"]);
  t.deepEqual(parts("j\x1b[<0;3;5Mk"), ["j", "\x1b[<0;3;5M", "k"]);
  t.deepEqual(parts("abc"), ["abc"]);
  t.deepEqual(parts("\x1b[A"), ["\x1b[A"]);
  t.deepEqual(parts("\x1b[M !!\x1b[M#!!"), ["\x1b[M !!", "\x1b[M#!!"]);
});

test("render scheduler: one frame per turn, data frames at most maxHz", async (t) => {
  let frames = 0;
  const s = new RenderScheduler(() => {
    frames++;
  }, 5);
  for (let i = 0; i < 50; i++) s.later();
  await new Promise((r) => setTimeout(r, 30));
  t.is(frames, 1);
  for (let i = 0; i < 50; i++) s.later();
  await new Promise((r) => setTimeout(r, 100));
  t.is(frames, 1, "the next data frame waits for 200 ms after the last");
  s.soon();
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  t.is(frames, 2, "a key frame comes at once");
  s.stop();
});

test.serial("stdio guard: writes and console output go to the sink while engaged", (t) => {
  const got: string[] = [];
  const g = new StdioGuard((stream, line) => got.push(`${stream}:${line}`));
  g.engage();
  try {
    process.stdout.write("hello\nwor");
    process.stdout.write("ld\n");
    console.error("oops %d", 3);
    console.log("x");
  } finally {
    g.release();
  }
  t.deepEqual(got, ["stdout:hello", "stdout:world", "stderr:oops 3", "stdout:x"]);
});

test("text: widths, fitting, sanitising", (t) => {
  t.is(width("abc"), 3);
  t.is(width("日本"), 4);
  t.is(width("🚀"), 2);
  t.is(width("✅"), 2);
  t.is(fit("hello world", 8), "hello w…");
  t.is(fit("ab", 4), "ab  ");
  t.is(fit("ab", 4, "right"), "  ab");
  t.is(width(fit("日本語テキスト", 7)), 7);
  t.is(truncate("x", 0), "");
  t.is(sanitize("a\nb\x07c"), "a bc");
  t.is(sanitize("👩‍💻 team"), "👩 team");
  t.is(sanitize("🇩🇪"), "[DE]");
  t.is(sanitize("❤️"), "❤");
  t.is(duration(65_000), "1m05s");
  t.is(duration(3 * 3600_000 + 60_000), "3h01m");
});

test("ANSI: colours kept across wrapped rows, cursor movement dropped", (t) => {
  t.is(cleanAnsi("a\x1b[2Kb\rprogress 100%"), "progress 100%");
  t.is(cleanAnsi("\x1b]0;title\x07ok\tx"), "ok    x");
  const rows = ansiRows("\x1b[32mabcdef\x1b[0mgh", 4, true);
  t.deepEqual(rows.map(stripAnsi), ["abcd", "efgh"]);
  t.true(rows[1]!.startsWith("\x1b[32m"), "second row re-opens the colour");
  t.deepEqual(ansiRows("abcdefgh", 4, false, 2).map(stripAnsi), ["cdef"]);
  t.deepEqual(ansiRows("", 4, true), [""]);
});

test("filters: regex or substring, case-insensitive, ! inverts", (t) => {
  t.true(makeFilter("dep.*web").test("Deploy web"));
  t.true(makeFilter("(").test("a ( b"), "invalid regex falls back to a substring");
  t.false(makeFilter("!deploy").test("Deploy web"));
  t.true(makeFilter("").test("anything"));
});

test("line editor and history", (t) => {
  const e = new LineEditor();
  for (const c of "run 1") e.key(c, { name: c });
  t.is(e.value, "run 1");
  e.key(undefined, { full: "C-w" });
  t.is(e.value, "run ");
  e.key(undefined, { full: "home" });
  e.key("x", { name: "x" });
  t.is(e.value, "xrun ");
  e.key(undefined, { full: "C-u" });
  t.is(e.value, "run ");
  t.false(e.key("\r", { name: "enter", full: "enter" }));
  const h = new History(["a", "b"]);
  t.is(h.up("draft"), "b");
  t.is(h.up("b"), "a");
  t.is(h.up("a"), undefined);
  t.is(h.down(), "b");
  t.is(h.down(), "draft");
  h.add("c");
  h.add("c");
  t.deepEqual([...h.entries], ["a", "b", "c"]);
});

test("scroll text: follows the end, scrolling up pauses, reaching the end resumes", (t) => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
  const v = new ScrollText({
    get length() {
      return lines.length;
    },
    get: (i) => lines[i]!,
  });
  t.deepEqual(v.render(20, 3), ["line 97", "line 98", "line 99"]);
  v.scroll(-2);
  t.false(v.follow);
  lines.push("line 100");
  t.deepEqual(v.render(20, 3), ["line 95", "line 96", "line 97"]);
  v.scroll(10);
  t.true(v.follow);
  t.deepEqual(v.render(20, 3), ["line 98", "line 99", "line 100"]);
  v.home();
  t.deepEqual(v.render(20, 2), ["line 0", "line 1"]);
  v.highlight = /line 1$/;
  t.true(v.render(20, 2)[1]!.includes("\x1b[7m"));
  lines.splice(0, 50);
  v.shifted(50);
  t.is(v.topLine, 0);
});

test("list view: columns drop by priority when narrow; selection follows the row", (t) => {
  const list = new ListView<{ id: string; a: string }>({
    key: (r) => r.id,
    columns: [
      { title: "Id", width: 4, priority: 9, value: (r) => r.id },
      { title: "Long", width: 30, priority: 1, value: (r) => r.a },
    ],
  });
  const theme = { name: "mono", text: { heading: "", dim: "", selected: "", selectedDim: "" } } as never;
  list.setRows([
    { id: "a", a: "x" },
    { id: "b", a: "y" },
  ]);
  const narrow = list.render(20, 5, true, theme, 0);
  t.notRegex(narrow[0]!, /Long/);
  list.select(1);
  list.setRows([
    { id: "c", a: "z" },
    { id: "a", a: "x" },
    { id: "b", a: "y" },
  ]);
  t.is(list.selected?.id, "b");
  t.is(list.rowAt(1), 0);
});

test("config rows: every key with its source; secrets masked", (t) => {
  const cfg = loadConfig(undefined, { demo: true, env: { CHATRIXCD_MATRIX_PASSWORD: "hunter2hunter2" } });
  const rows = configRows(cfg);
  const pw = rows.find((r) => r.id === "matrix.password")!;
  t.is(pw.source, "env");
  t.is(pw.sourceLong, "env CHATRIXCD_MATRIX_PASSWORD");
  t.notRegex(pw.value, /hunter2/);
  t.is(rows.find((r) => r.id === "bot.command_prefix")!.source, "default");
});

test("run form: survey answers and parameters become the run request", (t) => {
  const tpl = {
    name: "x",
    survey_vars: [
      { name: "domain", title: "Domain", required: true, type: "", values: [], default_value: null },
      {
        name: "ca",
        title: "CA",
        required: true,
        type: "enum",
        values: [
          { name: "A", value: "a" },
          { name: "B", value: "b" },
        ],
        default_value: "b",
      },
    ],
    allow_override_branch_in_task: true,
    allow_override_args_in_task: false,
  } as never;
  const fields = fieldsFor(tpl);
  t.deepEqual(
    fields.map((f) => f.name),
    ["domain", "ca", "limit", "tags", "skipTags", "branch", "dryRun", "diff", "debug"],
  );
  fields[0]!.editor!.set("example.org");
  fields.find((f) => f.name === "tags")!.editor!.set("web, db");
  fields.find((f) => f.name === "dryRun")!.bool = true;
  const req = requestFrom(fields);
  t.deepEqual(req.vars, { domain: "example.org", ca: "b" });
  t.deepEqual(req.tags, ["web", "db"]);
  t.true(req.dryRun);
  t.is(req.branch, undefined);
});

test("layout: four panels from 100x28, one with tabs below it or when zoomed; nothing overlaps", (t) => {
  const full = computeLayout(160, 48, "tasks", false);
  t.false(full.single);
  t.deepEqual(Object.keys(full.panels).sort(), ["config", "logs", "rooms", "tasks"]);
  const rects = Object.values(full.panels);
  for (const a of rects)
    for (const b of rects) {
      if (a === b) continue;
      t.false(a!.left < b!.left + b!.width && b!.left < a!.left + a!.width && a!.top < b!.top + b!.height && b!.top < a!.top + a!.height, "no overlap");
    }
  t.deepEqual(full.view, { left: 0, top: 1, width: 160, height: 46 });
  const small = computeLayout(80, 24, "logs", false);
  t.true(small.compact && small.single);
  t.deepEqual(Object.keys(small.panels), ["logs"]);
  t.deepEqual(small.view, { left: 0, top: 2, width: 80, height: 21 });
  t.deepEqual(Object.keys(computeLayout(160, 48, "rooms", true).panels), ["rooms"]);
});
