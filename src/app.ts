import { join } from "node:path";
import { readFileSync } from "node:fs";
import { EventEmitter } from "node:events";
import { Store } from "./core/store.js";
import { Operations } from "./core/operations.js";
import { auditFilePath } from "./core/audit.js";
import type { Logger } from "./log/logger.js";
import { errorText } from "./log/logger.js";
import { routeSdkLogging } from "./log/sdk.js";
import type { LoadedConfig } from "./config/load.js";
import { MatrixBot } from "./matrix/bot.js";
import type { LoginPrompter } from "./matrix/login.js";
import { SemaphoreClient } from "./semaphore/client.js";
// Types only: the embedded server is loaded on demand (--demo), so a real deployment never loads it.
import type { SemaphoreServer, SemaphoreServerOptions } from "./emulator/index.js";
import { TaskTracker } from "./semaphore/tracker.js";
import { startHttpEndpoint, type HttpEndpoint } from "./http/server.js";
import { userMessage } from "./core/operations.js";
import { watchFile } from "./util/watch-file.js";

export interface AppOptions {
  demo?: boolean;
  /** Re-reads the config (same path and options) for reloadConfig. With it, a saved config file is applied at once. */
  reload?: () => LoadedConfig;
  requestShutdown?: (reason: string) => void;
  /** Options for the embedded demo server (tests make it fast). */
  demoServer?: SemaphoreServerOptions;
  /** How many finished tasks keep their output in memory (default: the console's FINISHED_OUTPUTS_CONSOLE). */
  finishedOutputs?: number;
}

/**
 * Finished tasks whose output stays in memory. The console's task view opens them at once; without the console only
 * `logs` reads them (its last lines), and evicted output is asked of Semaphore again — so the headless bot keeps few,
 * and does not grow by a few hundred kB with every task until it has seen 50.
 */
export const FINISHED_OUTPUTS_CONSOLE = 50;
export const FINISHED_OUTPUTS_HEADLESS = 5;

export interface ReloadResult {
  ok: boolean;
  problems: string[];
  source: string;
}

/** The config file's content, or why it cannot be read (a deleted file is reloaded too: the refusal says why). */
const readText = (path: string): string => {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    return `\0${userMessage(e)}`;
  }
};

/** The engine with everything wired: store, operations, Semaphore client (embedded server in demo) and Matrix bot. */
export class App extends EventEmitter<{ reloaded: [ReloadResult] }> {
  readonly store: Store;
  readonly ops: Operations;
  matrix?: MatrixBot;
  demoServer?: SemaphoreServer;
  /** The health and metrics endpoint, when [bot] http_listen is set. */
  http?: HttpEndpoint;
  private stopped = false;
  private stopWatchingConfig?: () => Promise<void>;
  /** The config file's content at the last reload (or start): a save that changes nothing is not a reload. */
  private configText?: string;

  constructor(
    readonly config: LoadedConfig,
    readonly logger: Logger,
    private readonly opts: AppOptions = {},
  ) {
    super();
    this.store = new Store(undefined, opts.finishedOutputs ?? FINISHED_OUTPUTS_CONSOLE);
    if (config.path && opts.reload) this.configText = readText(config.path);
    this.ops = new Operations({
      store: this.store,
      logger,
      config,
      auditFile: auditFilePath(config.values.bot.state_dir),
      reload: opts.reload,
      requestShutdown: opts.requestShutdown,
    });
  }

  async start(): Promise<void> {
    const log = this.logger.child("app");
    const v = this.config.values;
    this.logger.redactor.add(...this.config.secrets);
    routeSdkLogging(this.logger);
    // Like the aliases and messages files, a saved config file is applied at once (editors that save by renaming a
    // temporary file over it included: the directory is watched).
    const path = this.config.path;
    if (path && this.opts.reload) {
      this.stopWatchingConfig = watchFile(path, () => {
        const text = readText(path);
        if (text === this.configText) return;
        this.reload("config file saved");
      });
    }
    // First, so health reads "starting" while Semaphore and Matrix come up.
    if (v.bot.http_listen) this.http = await startHttpEndpoint(this, v.bot.http_listen, this.logger.child("http"));

    let url = v.semaphore.url;
    let token = v.semaphore.api_token;
    if (this.opts.demo && !url) {
      const { startSemaphoreServer } = await import("./emulator/index.js");
      this.demoServer = await startSemaphoreServer({ seed: "demo", ...this.opts.demoServer });
      url = this.demoServer.url;
      token = this.demoServer.adminToken;
      this.logger.redactor.add(token);
      log.info(`demo: embedded Semaphore-compatible server on ${url}`);
    }
    if (url) {
      this.ops.semaphore = new SemaphoreClient({
        url,
        token,
        timeoutMs: v.semaphore.timeout * 1000,
        maxConcurrent: v.semaphore.max_concurrent_requests,
        caFile: v.semaphore.ca_file || undefined,
        tlsVerify: v.semaphore.tls_verify,
        onRequest: (info) => this.ops.metrics.onSemaphoreRequest(info),
      });
      this.store.setConnection({ semaphore: "connecting" });
      this.ops.semaphore.info().then(
        (info) => {
          this.store.setConnection({ semaphoreVersion: info.version });
          log.info(`Semaphore ${info.version} at ${url}`);
        },
        (e) => log.warn(`Semaphore at ${url} is not answering yet: ${errorText(e)}`),
      );
      this.ops.tracker = new TaskTracker({
        client: this.ops.semaphore,
        store: this.store,
        log: this.logger.child("tracker"),
        stateFile: join(v.bot.state_dir, "tracked-tasks.json"),
        pollIntervalMs: v.semaphore.poll_interval * 1000,
      });
      await this.ops.tracker.start();
    }

    // Aliases, personality lines, room settings, approvals and subscriptions (file watchers included).
    this.ops.startServices();

    if (v.matrix.homeserver) {
      const storeDir = v.matrix.store_path || join(v.bot.state_dir, "matrix");
      this.matrix = new MatrixBot({ ops: this.ops, log: this.logger.child("matrix"), storeDir, prompt: this.loginPrompter() });
      this.ops.chat = this.matrix;
      await this.matrix.start();
    } else {
      this.store.setConnection({ matrix: "not_configured" });
      log.info("Matrix is not configured ([matrix] homeserver is empty): console only");
    }
  }

  /**
   * Re-reads and applies the config for a trigger that has no one to answer (file saved, SIGHUP): the reload of
   * ops.reloadConfig, which the console's R calls too. Never throws; what happened is logged and emitted.
   */
  reload(source: string): ReloadResult {
    if (this.config.path) this.configText = readText(this.config.path);
    let result: ReloadResult;
    try {
      result = { ...this.ops.reloadConfig({ kind: "console", user: source }), source };
    } catch (e) {
      const why = userMessage(e);
      this.logger.log("error", "config", `config reload refused (${source}): ${why}`);
      result = { ok: false, problems: [`error: ${why}`], source };
    }
    this.emit("reloaded", result);
    return result;
  }

  /** SSO logins wait for the operator: the store shows the prompt, and ops.answerLoginPrompt (console, stdin) answers. */
  private loginPrompter(): LoginPrompter {
    return {
      ask: (req, signal) =>
        new Promise<string>((resolve, reject) => {
          const done = () => {
            this.ops.loginPromptHandler = undefined;
            this.store.setLoginPrompt(undefined);
          };
          this.ops.loginPromptHandler = (text) => {
            done();
            resolve(text);
          };
          this.store.setLoginPrompt({ ...req, since: Date.now() });
          signal.addEventListener(
            "abort",
            () => {
              done();
              reject(new Error("login prompt cancelled"));
            },
            { once: true },
          );
        }),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.stopWatchingConfig?.();
    await this.http?.close();
    await this.matrix?.stop().catch(() => undefined);
    await this.ops.stopServices().catch(() => undefined);
    await this.ops.tracker?.stop().catch(() => undefined);
    this.ops.semaphore?.close();
    await this.demoServer?.stop().catch(() => undefined);
  }
}
