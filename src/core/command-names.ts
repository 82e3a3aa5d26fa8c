// The names of the chat commands, declared in core so core services (aliases may not shadow a command) know them
// without importing the commands. The registry's commands are typed by this list, and a test checks they match it.
export const COMMAND_NAMES = [
  "help",
  "ping",
  "info",
  "admins",
  "rooms",
  "projects",
  "templates",
  "run",
  "status",
  "stop",
  "logs",
  "log",
  "tasks",
  "history",
  "approve",
  "deny",
  "confirm",
  "reject",
  "subscribe",
  "unsubscribe",
  "aliases",
  "verify",
  "exit",
  "pet",
  "scold",
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];
