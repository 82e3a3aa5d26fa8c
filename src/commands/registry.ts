import type { CommandSpec } from "./types.js";
import { ping } from "./builtin/ping.js";
import { help } from "./builtin/help.js";

// The one list of commands. Adding a command means adding its module here; help, parsing and the console's
// completion all read this list.
const COMMANDS: CommandSpec[] = [help, ping];

export function commandList(): readonly CommandSpec[] { return COMMANDS; }

export function findCommand(name: string): CommandSpec | undefined {
  const n = name.toLowerCase();
  return COMMANDS.find((c) => c.name === n);
}
