// Issue 13 item 5: the bot's state files have one home. Every persister (room settings, approvals, status cards,
// tracked tasks) keeps an unreadable file aside as <name>.unreadable-<time> with one clear warning, instead of
// overwriting it at the next save; the tracked projects of subscriptions are saved once, by the room settings.
import test from "ava";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fakeEngine, type FakeEngine } from "./helpers-chat/fake-engine.js";
import { ALICE, BOB, OPS_ROOM } from "./helpers-chat/ops.js";
import { CardManager } from "../src/matrix/cards.js";
import { TaskTracker } from "../src/semaphore/tracker.js";
import { SemaphoreClient } from "../src/semaphore/client.js";
import { Store } from "../src/core/store.js";
import { Logger } from "../src/log/logger.js";

const INI = `
[room "${OPS_ROOM}"]
run = ${ALICE}
approve = ${BOB}

[template "Infrastructure/Full backup"]
approvals_required = 1
approvers = ${BOB}
`;

const BROKEN = ["{ not json", JSON.stringify({ version: 99, what: "a newer format" })];

/** Writes the broken file, runs the persister through a load and a save, and returns what the logger said. */
interface Case {
  name: string;
  file: string;
  run(dir: string, file: string): Promise<string[]>;
}

const engineIn = (dir: string): FakeEngine => fakeEngine({ users: [ALICE, BOB], ini: INI, persist: true, stateDir: dir });
const logOf = (e: FakeEngine) => e.ops.logger.ring.toArray().map((l) => `${l.level} ${l.message}`);

const cases: Case[] = [
  {
    name: "room settings",
    file: "rooms.json",
    async run(dir) {
      const e = engineIn(dir);
      try {
        await e.ops.roomSettings.setLog(OPS_ROOM, true);
        return logOf(e);
      } finally {
        await e.close();
      }
    },
  },
  {
    name: "approvals",
    file: "approvals.json",
    async run(dir) {
      const e = engineIn(dir);
      try {
        const run = await e.ops.tasks.resolveRun(e.actor(ALICE), { project: "1", template: "Full backup" });
        await e.ops.approvals.create(e.actor(ALICE), run);
        return logOf(e);
      } finally {
        await e.close();
      }
    },
  },
  {
    name: "status cards",
    file: "cards.json",
    async run(dir, file) {
      const e = engineIn(dir);
      try {
        const ports = { send: async () => "$x", roomName: () => undefined };
        const cards = new CardManager({ ops: e.ops, ports, log: e.ops.logger.child("cards"), stateFile: file });
        cards.start();
        await cards.stop();
        return logOf(e);
      } finally {
        await e.close();
      }
    },
  },
  {
    name: "tracked tasks",
    file: "tracked-tasks.json",
    async run(_dir, file) {
      const logger = new Logger({ level: "debug" });
      const client = new SemaphoreClient({ url: "http://127.0.0.1:9", token: "t", retries: 0 });
      const tracker = new TaskTracker({ client, store: new Store(), log: logger.child("tracker"), stateFile: file, pollIntervalMs: 60_000 });
      await tracker.start();
      tracker.track(1, 5);
      await tracker.stop();
      client.close();
      return logger.ring.toArray().map((l) => `${l.level} ${l.message}`);
    },
  },
];

for (const c of cases) {
  for (const [n, broken] of BROKEN.entries()) {
    test(`${c.name}: an unreadable ${c.file} (${n === 0 ? "not JSON" : "unknown format"}) is kept aside with one warning, not overwritten`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), "chatrixcd-state-"));
      const file = join(dir, c.file);
      writeFileSync(file, broken);
      const log = await c.run(dir, file);
      const kept = readdirSync(dir).filter((f) => f.startsWith(`${c.file}.unreadable-`));
      t.is(kept.length, 1, `the unreadable file is kept aside; directory: ${readdirSync(dir).join(", ")}`);
      t.is(readFileSync(join(dir, kept[0]!), "utf8"), broken, "with its content untouched");
      const warnings = log.filter((l) => l.includes(file) && l.startsWith("warn"));
      t.is(warnings.length, 1, warnings.join("\n"));
      t.true(warnings[0]!.includes(kept[0]!), `the warning names the kept file: ${warnings[0]}`);
      t.true(existsSync(file), "a fresh state file is written");
      t.notThrows(() => JSON.parse(readFileSync(file, "utf8")));
    });
  }
}

test("subscriptions have one owner: a restarted tracker does not bring back a project from tracked-tasks.json", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "chatrixcd-state-"));
  const file = join(dir, "tracked-tasks.json");
  const logger = new Logger({ level: "debug" });
  const client = new SemaphoreClient({ url: "http://127.0.0.1:9", token: "t", retries: 0 });
  const make = () => new TaskTracker({ client, store: new Store(), log: logger.child("tracker"), stateFile: file, pollIntervalMs: 60_000 });
  try {
    const first = make();
    await first.start();
    first.watchProject(7); // a room subscribed, then unsubscribed: rooms.json (the owner) no longer has it
    first.track(1, 5);
    await first.stop();
    t.false("projects" in JSON.parse(readFileSync(file, "utf8")), "the tracker does not save subscriptions");
    // A file written by an older version (with projects) still loads: its tasks resume, its projects are ignored.
    writeFileSync(file, JSON.stringify({ version: 1, tasks: [{ projectId: 1, taskId: 5 }], projects: [7] }));
    const second = make();
    await second.start();
    t.deepEqual(second.watchedProjects(), [], "subscriptions come from rooms.json only");
    t.true(second.isTracked(1, 5));
    await second.stop();
  } finally {
    client.close();
  }
});

test("room settings round-trip through a restart: log switch and subscriptions, from rooms.json alone", async (t) => {
  const e = engineIn(mkdtempSync(join(tmpdir(), "chatrixcd-state-")));
  await e.ops.roomSettings.setLog(OPS_ROOM, false);
  await e.ops.roomSettings.subscribe(OPS_ROOM, { projectId: 1, projectName: "Infrastructure", filter: "failures", by: ALICE, at: "2025-01-01T00:00:00Z" });
  await e.close();
  const again = e.restart();
  try {
    t.is(again.ops.roomSettings.logSetting(OPS_ROOM), false);
    t.deepEqual(
      again.ops.roomSettings.subscriptions(OPS_ROOM).map((s) => [s.projectId, s.filter, s.by]),
      [[1, "failures", ALICE]],
    );
    t.deepEqual(again.ops.roomSettings.watchedProjects(), [1]);
    t.deepEqual(
      again.ops.logger.ring.toArray().filter((l) => l.level === "warn" || l.level === "error"),
      [],
    );
  } finally {
    await again.close();
  }
});
