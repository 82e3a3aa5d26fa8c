// Keeps the README true: every config key, every command and every console key binding must be documented in it.
import test from "ava";
import { readFileSync } from "node:fs";
import "../src/polyfill.js";
import { SCHEMA, ROOM_SCHEMA, TEMPLATE_SCHEMA } from "../src/config/schema.js";
import { commandList } from "../src/commands/registry.js";
import { KEYMAP } from "../screens/keymap.js";
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

/** How the README writes a blessed key name: S-r → R, C-d → Ctrl-d, escape → Esc, pagedown → PgDn. */
function readmeKey(k: string): string {
  const named: Record<string, string> = {
    enter: "Enter",
    escape: "Esc",
    tab: "Tab",
    "S-tab": "Shift-Tab",
    home: "Home",
    end: "End",
    pagedown: "PgDn",
    pageup: "PgUp",
    up: "arrows",
    down: "arrows",
    left: "←",
    right: "→",
    space: "Space",
  };
  if (named[k]) return named[k]!;
  if (/^S-[a-z]$/.test(k)) return k.slice(2).toUpperCase();
  if (/^C-[a-z]$/.test(k)) return `Ctrl-${k.slice(2)}`;
  return k;
}

test("every console key binding is in the README's keys table", (t) => {
  const section = readme.slice(readme.indexOf("### Keys"), readme.indexOf("## Chat commands"));
  t.true(section.length > 100, "the README has a Keys section before Chat commands");
  const missing: string[] = [];
  for (const b of KEYMAP) {
    const k = readmeKey(b.keys[0]!);
    const shown =
      k === "arrows"
        ? /arrows/.test(section)
        : /^[1-9]$/.test(k)
          ? section.includes(`\`${k}\``) || /`1`–`\d`/.test(section)
          : section.includes(`\`${k}\``) || section.includes(`\`${k}/`) || section.includes(`/\`${k}\``);
    if (!shown) missing.push(`${b.keys.join(",")} (${b.scope}: ${b.description})`);
  }
  t.deepEqual(missing, []);
});

test("the README's config and command tables are exactly what the declarations generate (npm run docs)", (t) => {
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
