import { parseCli, USAGE, UsageError, type CliArgs } from "./args.js";
import { locateConfig } from "../config/locate.js";
import { loadConfig, formatIssue, type LoadedConfig } from "../config/load.js";
import { exampleConfig } from "../config/example.js";
import { Logger, crashText } from "../log/logger.js";
import { App, FINISHED_OUTPUTS_CONSOLE, FINISHED_OUTPUTS_HEADLESS } from "../app.js";
import { LoginError } from "../matrix/login.js";
import { readLoginAnswers } from "../matrix/sso.js";
import { VERSION } from "../version.js";
import { demoStateIsTemporary, pathFactsFor, pathLines } from "./paths.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ConsoleContext {
  args: CliArgs;
  /** Called by the console when it has restored the terminal and wants the process to end. */
  exit: (code: number) => Promise<never>;
}

/** A front end that owns the terminal. The console lives in screens/ and is handed in by the entry point. */
export type ConsoleFrontEnd = (app: App, ctx: ConsoleContext) => Promise<void>;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** Runs the CLI. Returns the exit code for one-shot commands; for the bot it returns only when the bot stops. */
export async function runCli(argv: string[], frontEnd: { console?: ConsoleFrontEnd } = {}, io: Io = stdio): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCli(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`chatrixcd: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (args.command === "help") {
    io.out(`chatrixcd ${VERSION}: Matrix chat-ops for Semaphore UI\n\n${USAGE}\n`);
    return 0;
  }
  if (args.command === "example-config") {
    io.out(exampleConfig());
    return 0;
  }

  const located = locateConfig(args.config);
  if (args.command === "version") {
    // The bare version first (scripts read that line), then where a run with these arguments keeps things.
    const demo = args.demo || !located.path;
    io.out(`${VERSION}\n${pathLines(pathFactsFor(loadConfig(located.path, { demo }), demo)).join("\n")}\n`);
    return 0;
  }
  if (args.command === "check-config") {
    if (!located.path) {
      io.err(`error: no config file found (looked for ${located.tried.join(", ")}). Pass --config PATH.\n`);
      return 2;
    }
    const cfg = loadConfig(located.path);
    for (const i of cfg.issues) io.out(formatIssue(i) + "\n");
    const errors = cfg.issues.filter((i) => i.severity === "error").length;
    const warnings = cfg.issues.length - errors;
    io.out(
      cfg.ok
        ? `${located.path}: valid${warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""})` : ""}\n`
        : `${located.path}: ${errors} error${errors > 1 ? "s" : ""}, ${warnings} warning${warnings === 1 ? "" : "s"}\n`,
    );
    return cfg.ok ? 0 : 2;
  }

  // No config file: the console opens on the embedded demo; headless has nothing to run.
  let demo = args.demo;
  if (!located.path && !demo) {
    if (args.headless) {
      io.err(
        `error: no config file found (looked for ${located.tried.join(", ")}). Create one from chatrixcd.ini.example, pass --config PATH, or use --demo.\n`,
      );
      return 2;
    }
    demo = true;
  }
  // The embedded demo Semaphore starts empty every time: state kept in ./.chatrixcd-state would bring back its
  // last run's tasks as ghosts. Unless a state dir was chosen, the demo's state lives and dies with it.
  let demoStateDir: string | undefined;
  const load = (): LoadedConfig => {
    const cfg = loadConfig(located.path, { demo });
    if (demo && demoStateIsTemporary(cfg)) {
      demoStateDir ??= mkdtempSync(join(tmpdir(), "chatrixcd-demo-"));
      cfg.values.bot.state_dir = demoStateDir;
    }
    if (args.readOnly) cfg.values.console.read_only = true;
    if (args.logLevel) cfg.values.bot.log_level = args.logLevel;
    return cfg;
  };
  const cfg = load();
  const errors = cfg.issues.filter((i) => i.severity === "error");
  if (errors.length) {
    for (const i of cfg.issues) io.err(formatIssue(i) + "\n");
    if (demoStateDir) rmSync(demoStateDir, { recursive: true, force: true });
    io.err(
      `chatrixcd: not starting: ${errors.length} configuration error${errors.length > 1 ? "s" : ""}. ` +
        `Fix them, then check with: chatrixcd check-config${located.path ? ` --config ${located.path}` : ""}\n`,
    );
    return 2;
  }

  const useConsole = !args.headless && !!frontEnd.console && !!process.stdout.isTTY;
  if (!args.headless && !useConsole) io.err("chatrixcd: no terminal for the console; running headless\n");
  const logger = new Logger({ level: cfg.values.bot.log_level, file: cfg.values.bot.log_file || undefined, echo: useConsole ? undefined : process.stdout });
  logger.redactor.add(...cfg.secrets);
  if (demoStateDir) logger.log("info", "app", `demo: state in ${demoStateDir} (removed at exit)`);
  const removeDemoState = () => {
    if (demoStateDir) rmSync(demoStateDir, { recursive: true, force: true });
  };
  for (const i of cfg.issues) logger.log("warn", "config", formatIssue(i));

  // A rejected promise nobody awaited (inside a library, typically) is logged, not a reason to take the bot down.
  process.on("unhandledRejection", (e) => {
    const err = e as Error;
    logger.log(err?.name === "AbortError" ? "debug" : "error", "app", `unhandled rejection: ${err?.stack ?? String(e)}`);
  });

  // Headless (the console installs its own guard, which also restores the terminal): Node's default report would
  // print the error's properties unmasked.
  if (!useConsole) {
    process.on("uncaughtException", (e) => {
      const text = crashText(e, logger.redactor);
      logger.log("error", "app", `crash: ${text}`);
      process.stderr.write(`chatrixcd: crashed:\n${text}\n`);
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 3000).unref();
      void logger.close().finally(() => process.exit(1));
    });
  }

  let resolveStop!: (code: number) => void;
  const stopped = new Promise<number>((r) => {
    resolveStop = r;
  });
  const app = new App(cfg, logger, {
    demo,
    reload: located.path ? load : undefined,
    requestShutdown: () => void shutdown(0),
    finishedOutputs: useConsole ? FINISHED_OUTPUTS_CONSOLE : FINISHED_OUTPUTS_HEADLESS,
  });
  let shuttingDown = false;
  const shutdown = async (code: number): Promise<never> => {
    if (!shuttingDown) {
      shuttingDown = true;
      logger.log("info", "app", "shutting down");
      await app.stop();
      await logger.close();
      removeDemoState();
      resolveStop(code);
    }
    return new Promise<never>(() => undefined);
  };

  if (useConsole) {
    // The console takes the terminal first, so start-up progress and errors show in its panels.
    await frontEnd.console!(app, { args, exit: shutdown });
    app.start().catch((e) => logger.log("error", "app", e instanceof LoginError ? e.message : `start failed: ${(e as Error).stack ?? e}`));
    return stopped;
  }

  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void shutdown(0));
  // SIGHUP re-reads the config (systemctl reload), as a saved file and R in the console do.
  process.on("SIGHUP", () => {
    app.reload("SIGHUP");
  });
  // SSO login headless: the operator pastes the login token (or the redirect URL) on stdin.
  const stopReading =
    cfg.values.matrix.login_method === "sso" ? readLoginAnswers(process.stdin, (line) => app.ops.answerLoginPrompt({ kind: "console" }, line)) : undefined;
  try {
    await app.start();
  } catch (e) {
    stopReading?.();
    io.err(`chatrixcd: ${e instanceof LoginError ? e.message : `could not start: ${(e as Error).message}`}\n`);
    await app.stop();
    await logger.close();
    removeDemoState();
    return 1;
  }
  stopReading?.();
  logger.log("info", "app", `chatrixcd ${VERSION} running headless${demo ? " on the embedded demo" : ""}; stop with Ctrl-C or SIGTERM`);
  return stopped;
}
