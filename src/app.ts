import { join } from "node:path";
import { Store } from "./core/store.js";
import { Operations } from "./core/operations.js";
import { Logger, errorText } from "./log/logger.js";
import { routeSdkLogging } from "./log/sdk.js";
import type { LoadedConfig } from "./config/load.js";
import { MatrixBot } from "./matrix/bot.js";
import type { LoginPrompter } from "./matrix/login.js";
import { SemaphoreClient } from "./semaphore/client.js";
import { startSemaphoreServer, type SemaphoreServer, type SemaphoreServerOptions } from "./emulator/index.js";
import { TaskTracker } from "./semaphore/tracker.js";
import { startHttpEndpoint, type HttpEndpoint } from "./http/server.js";

export interface AppOptions {
  demo?: boolean;
  /** Re-reads the config (same path and options) for reloadConfig. */
  reload?: () => LoadedConfig;
  requestShutdown?: (reason: string) => void;
  /** Options for the embedded demo server (tests make it fast). */
  demoServer?: SemaphoreServerOptions;
}

/** The engine with everything wired: store, operations, Semaphore client (embedded server in demo) and Matrix bot. */
export class App {
  readonly store = new Store();
  readonly ops: Operations;
  matrix?: MatrixBot;
  demoServer?: SemaphoreServer;
  /** The health and metrics endpoint, when [bot] http_listen is set. */
  http?: HttpEndpoint;
  private stopped = false;

  constructor(readonly config: LoadedConfig, readonly logger: Logger, private readonly opts: AppOptions = {}) {
    this.ops = new Operations({ store: this.store, logger, config, auditFile: join(config.values.bot.state_dir, "audit.jsonl"), reload: opts.reload, requestShutdown: opts.requestShutdown });
  }

  async start(): Promise<void> {
    const log = this.logger.child("app");
    const v = this.config.values;
    this.logger.redactor.add(...this.config.secrets);
    routeSdkLogging(this.logger);
    // First, so health reads "starting" while Semaphore and Matrix come up.
    if (v.bot.http_listen) this.http = await startHttpEndpoint(this, v.bot.http_listen, this.logger.child("http"));

    let url = v.semaphore.url;
    let token = v.semaphore.api_token;
    if (this.opts.demo && !url) {
      this.demoServer = await startSemaphoreServer({ seed: "demo", ...this.opts.demoServer });
      url = this.demoServer.url;
      token = this.demoServer.adminToken;
      this.logger.redactor.add(token);
      log.info(`demo: embedded Semaphore-compatible server on ${url}`);
    }
    if (url) {
      this.ops.semaphore = new SemaphoreClient({
        url, token,
        timeoutMs: v.semaphore.timeout * 1000,
        maxConcurrent: v.semaphore.max_concurrent_requests,
        caFile: v.semaphore.ca_file || undefined,
        tlsVerify: v.semaphore.tls_verify,
        onRequest: (info) => this.ops.metrics.onSemaphoreRequest(info),
      });
      this.store.setConnection({ semaphore: "connecting" });
      this.ops.semaphore.info().then(
        (info) => { this.store.setConnection({ semaphoreVersion: info.version }); log.info(`Semaphore ${info.version} at ${url}`); },
        (e) => log.warn(`Semaphore at ${url} is not answering yet: ${errorText(e)}`),
      );
      this.ops.tracker = new TaskTracker({
        client: this.ops.semaphore, store: this.store, log: this.logger.child("tracker"),
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

  /** SSO logins wait for the operator: the store shows the prompt, and ops.answerLoginPrompt (console, stdin) answers. */
  private loginPrompter(): LoginPrompter {
    return {
      ask: (req, signal) => new Promise<string>((resolve, reject) => {
        const done = () => { this.ops.loginPromptHandler = undefined; this.store.setLoginPrompt(undefined); };
        this.ops.loginPromptHandler = (text) => { done(); resolve(text); };
        this.store.setLoginPrompt({ ...req, since: Date.now() });
        signal.addEventListener("abort", () => { done(); reject(new Error("login prompt cancelled")); }, { once: true });
      }),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.http?.close();
    await this.matrix?.stop().catch(() => undefined);
    await this.ops.stopServices().catch(() => undefined);
    await this.ops.tracker?.stop().catch(() => undefined);
    this.ops.semaphore?.close();
    await this.demoServer?.stop().catch(() => undefined);
  }
}
