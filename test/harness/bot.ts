// Starts a real ChatrixCD engine (App) for integration tests, configured through a real INI file.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../../src/polyfill.js";
import { App } from "../../src/app.js";
import { Logger } from "../../src/log/logger.js";
import { loadConfig, formatIssue } from "../../src/config/load.js";
import { mergeIni } from "./ini.js";

export interface TestBot {
  app: App;
  logger: Logger;
  stateDir: string;
  configPath: string;
  stop(): Promise<void>;
}

export interface TestBotOptions {
  homeserver: string;
  userId: string;
  password: string;
  admins?: string[];
  allowed?: string[];
  /** Reuse a state dir to simulate a restart. */
  stateDir?: string;
  /** Extra INI text appended to the file. */
  extra?: string;
  semaphore?: { url: string; token: string };
  demo?: boolean;
  start?: boolean;
}

export function writeBotConfig(o: TestBotOptions): { path: string; stateDir: string } {
  const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), "chatrixcd-bot-"));
  const path = join(stateDir, "chatrixcd.ini");
  writeFileSync(
    path,
    mergeIni(
      `[matrix]
homeserver = ${o.homeserver}
user_id = ${o.userId}
password = ${o.password}
max_command_age = 120

[bot]
state_dir = ${stateDir}
log_file = ${join(stateDir, "bot.log")}
log_level = debug
admin_users = ${(o.admins ?? []).join(", ")}
allowed_users = ${(o.allowed ?? []).join(", ")}
${o.semaphore ? `\n[semaphore]\nurl = ${o.semaphore.url}\napi_token = ${o.semaphore.token}\n` : ""}
`,
      o.extra ?? "",
    ),
    { mode: 0o600 },
  );
  return { path, stateDir };
}

export async function startTestBot(o: TestBotOptions): Promise<TestBot> {
  const { path, stateDir } = writeBotConfig(o);
  const cfg = loadConfig(path, { demo: o.demo ?? !o.semaphore, env: {} });
  if (!cfg.ok) throw new Error(`test bot config invalid:\n${cfg.issues.map(formatIssue).join("\n")}`);
  const logger = new Logger({ level: "debug", file: cfg.values.bot.log_file, echo: process.env.CHATRIXCD_TEST_DEBUG ? process.stderr : undefined });
  const app = new App(cfg, logger, { demo: o.demo ?? false, reload: () => loadConfig(path, { demo: o.demo ?? !o.semaphore, env: {} }) });
  if (o.start !== false) {
    try {
      await app.start();
    } catch (e) {
      await app.stop();
      await logger.close();
      throw e;
    }
  }
  return {
    app,
    logger,
    stateDir,
    configPath: path,
    async stop() {
      await app.stop();
      await logger.close();
    },
  };
}
