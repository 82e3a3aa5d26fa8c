// An Operations engine over the in-process Semaphore-compatible server, for command tests that need no Matrix.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSemaphoreServer, type SemaphoreServer } from "../../src/emulator/index.js";
import { SemaphoreClient } from "../../src/semaphore/client.js";
import { TaskTracker } from "../../src/semaphore/tracker.js";
import { Operations, type Actor } from "../../src/core/operations.js";
import { Store } from "../../src/core/store.js";
import { Logger } from "../../src/log/logger.js";
import { loadConfig, formatIssue } from "../../src/config/load.js";
import { mergeIni } from "../harness/ini.js";
import { runCommandLine } from "../../src/commands/dispatch.js";
import "../../src/commands/registry.js";
import type { Reply } from "../../src/commands/types.js";

export const ADMIN = "@admin:test";
export const ALICE = "@alice:test";
export const BOB = "@bob:test";
export const CAROL = "@carol:test";
export const MALLORY = "@mallory:test";
export const OPS_ROOM = "!ops:test";
export const OTHER_ROOM = "!other:test";

export interface Engine {
  server: SemaphoreServer;
  ops: Operations;
  store: Store;
  logger: Logger;
  stateDir: string;
  configPath: string;
  tracker?: TaskTracker;
  /** Runs a command line as a chat user in a room (default alice in the ops room). */
  cmd(line: string, who?: { user?: string; room?: string }): Promise<Reply>;
  actor(user?: string, room?: string): Actor;
  close(): Promise<void>;
}

/** Default policy: admin is admin; alice may run/stop, bob and carol approve in the ops room. */
export const DEFAULT_INI = `
[room "${OPS_ROOM}"]
run = ${ALICE}, ${BOB}
stop = ${ALICE}
approve = ${BOB}, ${CAROL}
read = *
`;

export async function startEngine(opts: { ini?: string; tracker?: boolean; server?: SemaphoreServer; token?: string } = {}): Promise<Engine> {
  const server = opts.server ?? (await startSemaphoreServer({ tickMs: 30, lineDelayMs: 3, seed: "demo" }));
  const stateDir = mkdtempSync(join(tmpdir(), "chatrixcd-cmd-"));
  const configPath = join(stateDir, "chatrixcd.ini");
  writeFileSync(
    configPath,
    mergeIni(
      `[semaphore]
url = ${server.url}
api_token = ${opts.token ?? server.tokens["runner"]}

[bot]
state_dir = ${stateDir}
admin_users = ${ADMIN}
allowed_users = ${ALICE}, ${BOB}, ${CAROL}
confirm_timeout = 30
default_room_access = read
`,
      opts.ini ?? DEFAULT_INI,
    ),
  );
  const config = loadConfig(configPath, { env: {} });
  if (!config.ok) throw new Error(config.issues.map(formatIssue).join("\n"));
  const logger = new Logger({ level: "debug", echo: process.env.CHATRIXCD_TEST_DEBUG ? process.stderr : undefined });
  const store = new Store();
  const ops = new Operations({ store, logger, config, auditFile: join(stateDir, "audit.jsonl"), stateDir, reload: () => loadConfig(configPath, { env: {} }) });
  ops.semaphore = new SemaphoreClient({ url: server.url, token: opts.token ?? server.tokens["runner"]!, timeoutMs: 5000, retries: 0 });
  let tracker: TaskTracker | undefined;
  if (opts.tracker !== false) {
    tracker = new TaskTracker({ client: ops.semaphore, store, log: logger.child("tracker"), pollIntervalMs: 500, stateFile: join(stateDir, "tracked.json") });
    ops.tracker = tracker;
    await tracker.start();
  }
  ops.startServices();
  const actor = (user = ALICE, room = OPS_ROOM): Actor => ({ kind: "chat", userId: user, roomId: room });
  return {
    server,
    ops,
    store,
    logger,
    stateDir,
    configPath,
    tracker,
    actor,
    cmd: (line, who = {}) => runCommandLine({ actor: actor(who.user, who.room), ops, prefix: "!cd" }, line),
    async close() {
      await ops.stopServices();
      await tracker?.stop();
      ops.semaphore?.close();
      if (!opts.server) await server.stop();
      await logger.close();
    },
  };
}

export async function waitUntil<T>(fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
