// Keeps the module layering true at run time: no import cycles, src/ never imports screens/, and core never imports
// the chat commands. Reads the compiled JavaScript (what Node loads: type-only imports are gone there); dynamic
// import() is left out, since it runs after every module has loaded and cannot make a load-order cycle.
import test from "ava";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const distRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = resolve(distRoot, "..");

export type Graph = Map<string, string[]>;

const STATIC_IMPORT = /^\s*(?:import|export)\s+(?:[^;'"]*?\sfrom\s+)?["']([^"']+)["']/gm;

/** The relative modules a compiled file loads when it is loaded (static import/export … from). */
export function staticImports(js: string): string[] {
  return [...js.matchAll(STATIC_IMPORT)].map((m) => m[1]!).filter((s) => s.startsWith("."));
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The runtime graph of dist/src and dist/screens, keyed by source path ("src/core/operations"); stale outputs skipped. */
function buildGraph(): Graph {
  const graph: Graph = new Map();
  const key = (file: string) => relative(distRoot, file).replace(/\.js$/, "");
  for (const top of ["src", "screens"]) {
    for (const file of walk(join(distRoot, top)).filter((f) => f.endsWith(".js"))) {
      if (!existsSync(join(repoRoot, `${key(file)}.ts`))) continue; // left over from a moved or deleted source
      const deps = staticImports(readFileSync(file, "utf8")).map((s) => key(resolve(dirname(file), s)));
      graph.set(key(file), deps);
    }
  }
  return graph;
}

/** Every cycle, each as the path of modules that closes it (first module repeated at the end). */
export function findCycles(graph: Graph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** Imports that break the layering: src → screens, src/core → src/commands. */
export function layerViolations(graph: Graph): string[] {
  const out: string[] = [];
  for (const [from, deps] of graph) {
    for (const to of deps) {
      if (from.startsWith("src/") && to.startsWith("screens/")) out.push(`${from} → ${to} (src/ must not import screens/)`);
      if (from.startsWith("src/core/") && to.startsWith("src/commands/")) out.push(`${from} → ${to} (core must not import commands/)`);
    }
  }
  return out;
}

test("the checker finds a cycle, a layer break and reads only runtime imports (synthetic input)", (t) => {
  const g: Graph = new Map([
    ["src/core/a", ["src/core/b"]],
    ["src/core/b", ["src/commands/c"]],
    ["src/commands/c", ["src/core/a"]],
    ["src/util/x", ["screens/y"]],
    ["screens/y", []],
  ]);
  t.deepEqual(findCycles(g), [["src/commands/c", "src/core/a", "src/core/b", "src/commands/c"]]);
  t.deepEqual(layerViolations(g), ["src/core/b → src/commands/c (core must not import commands/)", "src/util/x → screens/y (src/ must not import screens/)"]);
  const js = [
    `import { a } from "./a.js";`,
    `export { b } from "../b.js";`,
    `import "./side.js";`,
    `import fs from "node:fs";`,
    `const later = await import("./lazy.js");`,
    `export * from './star.js';`,
    "",
  ].join("\n");
  t.deepEqual(staticImports(js), ["./a.js", "../b.js", "./side.js", "./star.js"]);
});

test("the runtime import graph of src/ and screens/ has no cycle", (t) => {
  const graph = buildGraph();
  t.true(graph.size > 50, "the compiled sources were found");
  t.deepEqual(
    findCycles(graph).map((c) => c.join(" → ")),
    [],
  );
});

test("src/ does not import screens/, and src/core does not import src/commands", (t) => {
  const graph = buildGraph();
  t.true(graph.has("src/core/operations") && graph.has("screens/console"));
  t.deepEqual(layerViolations(graph), []);
  // Type-only imports vanish from the JavaScript; core must not name the commands' types either.
  const typeOnly = walk(join(repoRoot, "src/core")).filter((f) => f.endsWith(".ts") && /from\s+["']\.\.\/commands\//.test(readFileSync(f, "utf8")));
  t.deepEqual(
    typeOnly.map((f) => relative(repoRoot, f)),
    [],
  );
});
