// Where this process keeps things, as k9s `info` shows them: `chatrixcd --version` prints these lines after the
// version and `:info` at the console adds them to the bot's info (local paths, so never in chat).
import type { LoadedConfig } from "../config/load.js";
import { auditFilePath } from "../core/audit.js";

/**
 * The embedded demo's Semaphore starts empty every run, so its state dir (unless one was chosen) is a temp dir made
 * at start and removed at exit: kept state would bring back the last run's tasks as ghosts.
 */
export function demoStateIsTemporary(cfg: Pick<LoadedConfig, "values" | "sources">): boolean {
  return !cfg.values.semaphore.url && cfg.sources["bot.state_dir"]?.source === "default";
}

export interface PathFacts {
  /** The config file read; undefined: none (defaults and environment variables). */
  configFile?: string;
  /** Why the config file cannot be used (check-config says more); shown next to it. */
  configProblem?: string;
  /** undefined: a temp dir made at start (the demo). */
  stateDir?: string;
  /** "": no log file. */
  logFile: string;
  /** undefined: no audit log. */
  auditFile?: string;
}

/** "Label:  value" lines, aligned. */
export function pathLines(f: PathFacts): string[] {
  const temp = "a temp dir made at start, removed at exit (the demo; set [bot] state_dir to keep state)";
  return [
    `Config file:  ${f.configFile ? `${f.configFile}${f.configProblem ? ` (${f.configProblem})` : ""}` : "none (defaults and environment variables)"}`,
    `State dir:    ${f.stateDir ?? temp}`,
    `Log file:     ${f.logFile || "none (the console's Logs panel only; set [bot] log_file)"}`,
    `Audit file:   ${f.auditFile ?? (f.stateDir ? "none" : "audit.jsonl in that temp dir")}`,
  ];
}

/** What a run with these arguments would use, for `--version` (nothing is created). */
export function pathFactsFor(cfg: LoadedConfig, demo: boolean): PathFacts {
  const errors = cfg.issues.filter((i) => i.severity === "error").length;
  const stateDir = demo && demoStateIsTemporary(cfg) ? undefined : cfg.values.bot.state_dir;
  return {
    configFile: cfg.path,
    configProblem: errors ? `not usable: ${errors} error${errors > 1 ? "s" : ""}; see chatrixcd check-config --config ${cfg.path}` : undefined,
    stateDir,
    logFile: cfg.values.bot.log_file,
    auditFile: stateDir && auditFilePath(stateDir),
  };
}
