import type { CommandSpec } from "./types.js";
import { ping } from "./builtin/ping.js";
import { helpCommand } from "./builtin/help.js";
import { info } from "./builtin/info.js";
import { admins, rooms } from "./builtin/admin.js";
import { exit } from "./builtin/exit.js";
import { projects, templates } from "./builtin/projects.js";
import { run } from "./builtin/run.js";
import { status, tasks, logs, history } from "./builtin/tasks.js";
import { stop } from "./builtin/stop.js";
import { approve, deny, confirm, reject } from "./builtin/approve.js";
import { subscribe, unsubscribe } from "./builtin/subscribe.js";
import { aliases } from "./builtin/aliases.js";
import { pet, scold, log } from "./builtin/misc.js";
import { verify } from "./builtin/verify.js";

// The one list of commands. Adding a command means adding its module here and its name to src/core/command-names.ts
// (for alias reservation; a test checks both agree); help, parsing and the console's completion read this list.
const help = helpCommand(() => COMMANDS);
const COMMANDS: CommandSpec[] = [
  help,
  ping,
  info,
  admins,
  rooms,
  projects,
  templates,
  run,
  status,
  stop,
  logs,
  log,
  tasks,
  history,
  approve,
  deny,
  confirm,
  reject,
  subscribe,
  unsubscribe,
  aliases,
  verify,
  exit,
  pet,
  scold,
];

export function commandList(): readonly CommandSpec[] {
  return COMMANDS;
}

export function commandNames(): string[] {
  return COMMANDS.map((c) => c.name);
}

export function findCommand(name: string): CommandSpec | undefined {
  const n = name.toLowerCase();
  return COMMANDS.find((c) => c.name === n);
}
