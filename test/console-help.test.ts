// screens/dialogs/help.ts: the help lists the chat grammar's commands (read-only ones when read-only) and the
// console's own.
import test from "ava";
import { helpCommands } from "../screens/dialogs/help.js";
import { commandList } from "../src/commands/registry.js";
import { LOCAL_COMMANDS } from "../screens/widgets/command-bar.js";

test("every visible chat command as :name usage, then the console's own commands; hidden ones never", (t) => {
  const listed = helpCommands(false).map((c) => c.usage);
  const visible = commandList().filter((c) => !c.hidden);
  t.true(visible.length > 0);
  t.deepEqual(
    listed.slice(0, visible.length),
    visible.map((c) => `:${c.name}${c.usage ? ` ${c.usage}` : ""}`),
  );
  t.deepEqual(
    listed.slice(visible.length),
    LOCAL_COMMANDS.map((c) => c.usage),
  );
  for (const hidden of commandList().filter((c) => c.hidden))
    t.false(
      listed.some((u) => u.split(" ")[0] === `:${hidden.name}`),
      hidden.name,
    );
});

test("read-only: only commands that read are listed (the console's own stay)", (t) => {
  const all = helpCommands(false);
  const ro = helpCommands(true);
  const mutating = commandList().filter((c) => !c.hidden && c.permission !== "read");
  t.true(mutating.length > 0, "there are mutating commands to hide");
  for (const c of mutating)
    t.false(
      ro.some((h) => h.usage.split(" ")[0] === `:${c.name}`),
      c.name,
    );
  t.is(ro.length, all.length - mutating.length);
  for (const l of LOCAL_COMMANDS)
    t.true(
      ro.some((h) => h.usage === l.usage),
      l.name,
    );
});
