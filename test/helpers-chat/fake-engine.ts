// An Operations engine over the in-process Semaphore emulator (no network, no Matrix), for race and approval tests
// that must control every await themselves. The config is a real file read by the real loader.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Operations, type Actor } from "../../src/core/operations.js";
import { Store } from "../../src/core/store.js";
import { Logger } from "../../src/log/logger.js";
import { loadConfig, formatIssue } from "../../src/config/load.js";
import { runCommandLine } from "../../src/commands/dispatch.js";
import "../../src/commands/registry.js";
import type { Reply } from "../../src/commands/types.js";
import { emulatedSemaphore, RecordingClient, type EmulatorOptions } from "../helpers-semaphore.js";
import type { SemaphoreServer } from "../../src/emulator/index.js";
import { ADMIN, OPS_ROOM } from "./ops.js";

export interface FakeEngine {
  ops: Operations;
  /** The real client over the emulator; it records every call (see test/helpers-semaphore.ts). */
  semaphore: RecordingClient;
  stateDir: string;
  cmd(line: string, user: string, room?: string): Promise<Reply>;
  actor(user: string, room?: string): Actor;
  /** A new Operations over the same state dir and config, as after a restart. */
  restart(): FakeEngine;
  close(): Promise<void>;
}

/**
 * `ini` is appended after [semaphore] and [bot] (admin_users = ADMIN, allowed_users = `users`). `persist` keeps
 * approvals.json in the state dir; without it nothing touches the disk, so every await is a microtask.
 */
export function fakeEngine(o: {
  users: string[];
  ini: string;
  persist?: boolean;
  matrix?: string;
  stateDir?: string;
  /** Of the emulator this engine starts (not with `emulator`: a restart's engine talks to the same one). */
  semaphore?: EmulatorOptions;
  emulator?: Promise<SemaphoreServer>;
}): FakeEngine {
  const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), "chatrixcd-fake-"));
  const configPath = join(stateDir, "chatrixcd.ini");
  writeFileSync(
    configPath,
    `[semaphore]
url = http://semaphore.invalid
api_token = fake-token-123456

[bot]
state_dir = ${stateDir}
admin_users = ${ADMIN}
allowed_users = ${o.users.join(", ")}
confirm_timeout = 30
default_room_access = read
${o.matrix ? `\n[matrix]\n${o.matrix}\n` : ""}
${o.ini}
`,
  );
  const config = loadConfig(configPath, { env: {} });
  if (!config.ok) throw new Error(config.issues.map(formatIssue).join("\n"));
  const logger = new Logger({ level: "debug", echo: process.env.CHATRIXCD_TEST_DEBUG ? process.stderr : undefined });
  const semaphore = o.emulator ? new RecordingClient(o.emulator) : emulatedSemaphore(o.semaphore);
  const ops = new Operations({ store: new Store(), logger, config, stateDir: o.persist ? stateDir : undefined });
  ops.semaphore = semaphore;
  ops.startServices();
  const actor = (user: string, room = OPS_ROOM): Actor => ({ kind: "chat", userId: user, roomId: room });
  return {
    ops,
    semaphore,
    stateDir,
    actor,
    cmd: (line, user, room) => runCommandLine({ actor: actor(user, room), ops, prefix: "!cd" }, line),
    restart: () => fakeEngine({ ...o, stateDir, emulator: semaphore.emulator }), // Semaphore keeps running
    async close() {
      await ops.stopServices();
      await logger.close();
      if (!o.stateDir && !o.persist) {
        rmSync(stateDir, { recursive: true, force: true }); // a persisted one may be restarted (with the same Semaphore)
        if (!o.emulator) await (await semaphore.emulator).stop();
      }
    },
  };
}
