// Operations are the only door: chat commands and the Matrix side parse, call one operation and format its result;
// permission checks, audit lines and state changes live in src/core. Also: the names core knows match the registry,
// and run arguments have one tokenizer.
import test from "ava";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { COMMAND_NAMES } from "../src/core/command-names.js";
import { commandNames } from "../src/commands/registry.js";
import { parseRunArgs } from "../src/commands/run-options.js";
import { splitArgs } from "../src/util/tokenize.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

test("core's command names are exactly the registry's commands, in order", (t) => {
  t.deepEqual(commandNames(), [...COMMAND_NAMES]);
});

test("run arguments: one tokenizer, the same words from splitArgs and from chat's --args", (t) => {
  const text = `-e "x=1 2" --check 'a b' c\\ d`;
  const words = ["-e", "x=1 2", "--check", "a b", "c d"];
  t.deepEqual(splitArgs(text), words);
  const chat = parseRunArgs(["--args", text]);
  t.deepEqual(chat.ok ? chat.request.args : chat.error, words);
  t.deepEqual(splitArgs("  "), []);
  t.throws(() => splitArgs(`-e "x=1`), { message: /unbalanced double quote at character 4: close it with "/ });
});
