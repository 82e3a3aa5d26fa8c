// Keeps the README true: every config key and every command must be documented in it.
import test from "ava";
import { readFileSync } from "node:fs";
import "../src/polyfill.js";
import { SCHEMA, ROOM_SCHEMA, TEMPLATE_SCHEMA } from "../src/config/schema.js";
import { commandList } from "../src/commands/registry.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

test("every config key is in the README's configuration section", (t) => {
  const missing: string[] = [];
  for (const [section, keys] of Object.entries(SCHEMA)) for (const key of Object.keys(keys)) if (!readme.includes(`[${section}] ${key}`)) missing.push(`[${section}] ${key}`);
  for (const key of [...Object.keys(ROOM_SCHEMA), ...Object.keys(TEMPLATE_SCHEMA)]) if (!new RegExp(`^${key} =`, "m").test(readme)) missing.push(key);
  t.deepEqual(missing, []);
});

test("every command is in the README's command table", (t) => {
  const missing = commandList().map((c) => c.name).filter((n) => !readme.includes(`\`${n}`));
  t.deepEqual(missing, []);
});
