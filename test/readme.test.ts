// Keeps the README true: every config key, every command and every console key binding must be documented in it.
import test from "ava";
import { readFileSync } from "node:fs";
import "../src/polyfill.js";
import { SCHEMA, ROOM_SCHEMA, TEMPLATE_SCHEMA } from "../src/config/schema.js";
import { commandList } from "../src/commands/registry.js";
import { KEYMAP, HELP_ORDER } from "../screens/keymap.js";
import { TABLES, commandTable, readmeTable, withTables } from "./docs/readme-tables.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

test("every config key is in the README's configuration section", (t) => {
  const missing: string[] = [];
  for (const [section, keys] of Object.entries(SCHEMA))
    for (const key of Object.keys(keys)) if (!readme.includes(`[${section}] ${key}`)) missing.push(`[${section}] ${key}`);
  for (const key of [...Object.keys(ROOM_SCHEMA), ...Object.keys(TEMPLATE_SCHEMA)]) if (!new RegExp(`^${key} =`, "m").test(readme)) missing.push(key);
  t.deepEqual(missing, []);
});

test("every command is in the README's command table", (t) => {
  const missing = commandList()
    .map((c) => c.name)
    .filter((n) => !readme.includes(`\`${n}`));
  t.deepEqual(missing, []);
});

test("every console key binding is in the generated keys table: each binding's scope is one the table lists", (t) => {
  t.deepEqual(
    KEYMAP.filter((b) => !HELP_ORDER.includes(b.scope)).map((b) => `${b.keys.join(",")} (${b.scope})`),
    [],
  );
  t.true(
    readme.indexOf("<!-- table:keys") > readme.indexOf("### Keys") && readme.indexOf("<!-- table:keys") < readme.indexOf("## Chat commands"),
    "the keys table is in the Keys section",
  );
});

test("the README's config, command and keys tables are exactly what the declarations generate (npm run docs)", (t) => {
  for (const [name, make] of Object.entries(TABLES)) {
    const shown = readmeTable(readme, name);
    t.not(shown, undefined, `README.md has the markers of the ${name} table`);
    t.is(shown, make(), `the ${name} table is stale: run npm run docs`);
  }
  // The check can fail: a hand-edited row is a difference, and regenerating puts it back.
  const edited = readme.replace("| `ping` | read |", "| `ping` | admin |");
  t.not(readmeTable(edited, "commands"), commandTable());
  t.is(readmeTable(withTables(edited), "commands"), commandTable());
});
