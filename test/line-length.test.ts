// Lines stay readable: prettier wraps code at 160 columns but never splits a string, a regex or a comment, so this
// keeps those under the same limit. Reads the TypeScript sources the compiled tests were built from.
import test from "ava";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const LIMIT = 160;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** "path:line (N columns)" for every line over the limit; columns are code points, as an editor counts them. */
export function longLines(files: Array<{ path: string; text: string }>, limit = LIMIT): string[] {
  return files.flatMap(({ path, text }) =>
    text.split("\n").flatMap((line, i) => {
      const cols = [...line].length;
      return cols > limit ? [`${path}:${i + 1} (${cols} columns)`] : [];
    }),
  );
}

test("longLines names the file, line and width of a line over the limit, and counts a wide character once", (t) => {
  t.deepEqual(longLines([{ path: "a.ts", text: `ok\n${"x".repeat(161)}\n${"→".repeat(160)}` }]), ["a.ts:2 (161 columns)"]);
});

test(`no line in src/, screens/ or test/ is over ${LIMIT} columns`, (t) => {
  const files = ["src", "screens", "test"].flatMap((top) =>
    sources(join(repoRoot, top)).map((f) => ({ path: relative(repoRoot, f), text: readFileSync(f, "utf8") })),
  );
  t.true(files.length > 100, `only ${files.length} source files found under ${repoRoot}`);
  t.deepEqual(longLines(files), []);
});
