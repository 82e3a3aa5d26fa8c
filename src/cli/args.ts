import { parseArgs } from "node:util";
import { LOG_LEVELS, type LogLevelName } from "../config/schema.js";

export interface CliArgs {
  command: "run" | "check-config" | "example-config" | "help" | "version";
  config?: string;
  headless: boolean;
  demo: boolean;
  readOnly: boolean;
  logLevel?: LogLevelName;
}

export const USAGE = `Usage:
  chatrixcd [--config PATH] [--headless] [--demo] [--read-only] [--log-level LEVEL]
  chatrixcd check-config [--config PATH]
  chatrixcd example-config          print a documented example config
  chatrixcd --version [--config PATH]  the version, then the config file, state dir, log file and audit file
  chatrixcd --help

Options:
  --config PATH      config file (default: ./chatrixcd.ini, then $XDG_CONFIG_HOME/chatrixcd/chatrixcd.ini)
  --headless         run without the console, logging to stdout (for systemd and containers)
  --demo             use the embedded Semaphore-compatible server with a seeded project
  --read-only        hide every action that changes something in the console
  --log-level LEVEL  one of ${LOG_LEVELS.join(", ")} (overrides [bot] log_level)

With no config file and no --headless, the console starts on the embedded demo.`;

export class UsageError extends Error {}

export function parseCli(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        headless: { type: "boolean" },
        demo: { type: "boolean" },
        "read-only": { type: "boolean" },
        "log-level": { type: "string" },
        version: { type: "boolean", short: "V" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
  const { values: v, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  const sub = positionals[0];
  if (sub !== undefined && sub !== "check-config" && sub !== "example-config")
    throw new UsageError(`unknown command ${JSON.stringify(sub)}: expected check-config or example-config`);
  const level = v["log-level"];
  if (level !== undefined && !LOG_LEVELS.includes(level as LogLevelName))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, not ${JSON.stringify(level)}`);
  return {
    command: v.help ? "help" : v.version ? "version" : ((sub as CliArgs["command"] | undefined) ?? "run"),
    config: v.config,
    headless: !!v.headless,
    demo: !!v.demo,
    readOnly: !!v["read-only"],
    logLevel: level as LogLevelName | undefined,
  };
}
