// The help dialog (?): the keymap's keys and mouse, then every command the console can run (the chat grammar's,
// read-only ones only when the console is read-only, and the console's own).
import { commandList } from "../../src/commands/registry.js";
import type { ViewContext } from "../context.js";
import type { Keymap } from "../keymap.js";
import { LOCAL_COMMANDS } from "../widgets/command-bar.js";
import { TextDialog, type Modals } from "./dialogs.js";

export interface HelpCommand {
  usage: string;
  summary: string;
}

/** The commands the help lists: chat commands as `:name usage` (hidden ones never), then the console's own. */
export function helpCommands(readOnly: boolean): HelpCommand[] {
  const cmds = commandList()
    .filter((c) => !c.hidden && (!readOnly || c.permission === "read"))
    .map((c) => ({ usage: `:${c.name}${c.usage ? ` ${c.usage}` : ""}`, summary: c.summary }));
  for (const c of LOCAL_COMMANDS) cmds.push({ usage: c.usage, summary: c.summary });
  return cmds;
}

/** At most 110 columns, and 6 fewer than the screen. */
export function helpDialog(modals: Modals, ctx: ViewContext, keymap: Keymap, screenWidth: number): TextDialog {
  const width = Math.min(110, screenWidth - 6);
  const lines = keymap.helpLines(ctx.theme(), width, helpCommands(ctx.readOnly()));
  return new TextDialog(modals, ctx, { title: "Help: keys, mouse, commands", lines, width });
}
