// Who may do what, failing closed (issue 12 items 2–6): empty user lists mean nobody, a room sees only the projects
// a policy grants it, room aliases are trusted only through the homeserver directory, `rooms` shows a non-admin only
// their own room, and strangers get one refusal per window. Real MatrixBot intake over the fake client, real
// Operations over the in-process Semaphore-compatible server.
import test from "ava";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSemaphoreServer } from "../src/emulator/index.js";
import { SemaphoreClient } from "../src/semaphore/client.js";
import { Operations } from "../src/core/operations.js";
import { Permissions, nobodyMayUseTheBot, RefusalLimiter } from "../src/core/permissions.js";
import { Store } from "../src/core/store.js";
import { Logger } from "../src/log/logger.js";
import { loadConfig, formatIssue } from "../src/config/load.js";
import "../src/commands/registry.js";
import { fakeMatrix, type FakeMatrix } from "./helpers-prove/fake-matrix.js";

const ADMIN = "@admin:test";
const ALICE = "@alice:test";
const STRANGER = "@stranger:evil.test";
const OPS = "!ops:test";
const NEW_ROOM = "!new:test";
const DM = "!dm:test";
const EVIL = "!evil:test";

interface Rig {
  ops: Operations;
  m: FakeMatrix;
  logger: Logger;
  stateDir: string;
  close(): Promise<void>;
  client: Record<string, any>;
}

/** An engine whose whole [bot] section is given (the shared helper fixes admin_users and allowed_users). */
async function rig(bot: string, rest = "", directory: Record<string, string> = {}): Promise<Rig> {
  const server = await startSemaphoreServer({ tickMs: 30, lineDelayMs: 3, seed: "demo", schedules: false });
  const stateDir = mkdtempSync(join(tmpdir(), "chatrixcd-perm-"));
  const path = join(stateDir, "chatrixcd.ini");
  writeFileSync(path, `[semaphore]\nurl = ${server.url}\napi_token = ${server.adminToken}\n\n[bot]\nstate_dir = ${stateDir}\n${bot}\n${rest}\n`);
  const config = loadConfig(path, { env: {} });
  if (!config.ok) throw new Error(config.issues.map(formatIssue).join("\n"));
  const logger = new Logger({ level: "debug" });
  const reload = () => loadConfig(path, { env: {} });
  const ops = new Operations({ store: new Store(), logger, config, auditFile: join(stateDir, "audit.jsonl"), stateDir, reload });
  ops.semaphore = new SemaphoreClient({ url: server.url, token: server.adminToken, timeoutMs: 5000, retries: 0 });
  ops.startServices();
  const m = fakeMatrix(ops, stateDir);
  const client = (m.bot as unknown as { client: Record<string, any> }).client;
  client.getRoomIdForAlias = async (alias: string) => {
    const id = directory[alias];
    if (!id) throw Object.assign(new Error(`M_NOT_FOUND: Room alias ${alias} not found`), { errcode: "M_NOT_FOUND", httpStatus: 404 });
    return { room_id: id, servers: ["test"] };
  };
  const close = async () => {
    await m.stop();
    await ops.stopServices();
    ops.semaphore?.close();
    await server.stop();
    await logger.close();
  };
  return { ops, m, logger, stateDir, client, close };
}

const said = (m: FakeMatrix, eventId: string) =>
  m
    .repliesTo(eventId)
    .map((s) => String(s.content.body))
    .join("\n");
const audit = (r: Rig) => {
  const file = join(r.stateDir, "audit.jsonl");
  return existsSync(file)
    ? readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
};

/** Delivers an invite from `inviter` to `roomId`; returns whether the bot joined (true) or rejected it (false). */
async function invite(r: Rig, roomId: string, inviter: string): Promise<boolean> {
  const calls: string[] = [];
  const { joinRoom, leave } = r.client;
  r.client.joinRoom = async (id: string) => {
    calls.push(`join ${id}`);
    return joinRoom(id);
  };
  r.client.leave = async (id: string) => {
    calls.push(`leave ${id}`);
    return leave(id);
  };
  const room = { roomId, getMyMembership: () => "invite", getMember: () => ({ events: { member: { getSender: () => inviter } } }) };
  try {
    await (r.m.bot as unknown as { onMembership(room: object, membership: string): Promise<void> }).onMembership(room, "invite");
  } finally {
    r.client.joinRoom = joinRoom;
    r.client.leave = leave;
  }
  if (calls.includes(`join ${roomId}`)) return true;
  if (calls.includes(`leave ${roomId}`)) return false;
  throw new Error(`the invite to ${roomId} was neither accepted nor rejected: ${calls.join(", ")}`);
}

// ---- item 2: empty means nobody ----

test("empty admin_users and allowed_users: nobody may use the bot, a stranger's invite and `projects` are refused", async (t) => {
  const r = await rig("default_room_access = read");
  try {
    t.false(r.ops.permissions.isAllowedUser(STRANGER));
    t.false(await invite(r, NEW_ROOM, STRANGER), "the stranger's invite is rejected");
    const cmd = await r.m.message(NEW_ROOM, STRANGER, "!cd projects");
    const reply = said(r.m, cmd);
    t.notRegex(reply, /Infrastructure|Internal tools/, "no project is listed to a stranger");
    t.regex(reply, /not on this bot's list of allowed users/);
    t.true(nobodyMayUseTheBot(r.ops.config.values), "the helper check-config calls says nobody can use this bot");
  } finally {
    await r.close();
  }
});

test("nobodyMayUseTheBot is false once anyone is listed", (t) => {
  const cfg = loadConfig(undefined, { demo: true, env: { CHATRIXCD_BOT_ALLOWED_USERS: ALICE } });
  t.false(nobodyMayUseTheBot(cfg.values));
  t.true(new Permissions(cfg.values, []).isAllowedUser(ALICE));
  t.false(new Permissions(cfg.values, []).isAllowedUser(STRANGER));
});

// ---- item 3: a room sees only what a policy grants it ----

const LIMITED = `admin_users = ${ADMIN}\nallowed_users = ${ALICE}\ndefault_room_access = read`;
const OPS_LIMITED_TO_TOOLS = `[room "${OPS}"]\nprojects = Internal tools\nrun = ${ALICE}\nread = *\n`;

test("a user limited to one project cannot read every project by inviting the bot to a new room or a DM", async (t) => {
  const r = await rig(LIMITED, OPS_LIMITED_TO_TOOLS);
  try {
    const inOps = said(r.m, await r.m.message(OPS, ALICE, "!cd projects"));
    t.regex(inOps, /Internal tools/);
    t.notRegex(inOps, /Infrastructure/, "the ops room is limited to Internal tools");
    t.true(await invite(r, NEW_ROOM, ALICE), "an allowed user may invite the bot");
    for (const room of [NEW_ROOM, DM]) {
      const list = said(r.m, await r.m.message(room, ALICE, "!cd projects"));
      t.notRegex(list, /Infrastructure|Internal tools/, `no project is visible in ${room}, which has no section`);
      const tpl = said(r.m, await r.m.message(room, ALICE, "!cd templates 1"));
      t.notRegex(tpl, /Deploy web/, `templates of project 1 are not readable in ${room}`);
      t.true(r.ops.mayUseProject({ kind: "chat", userId: ALICE, roomId: room }, { id: 1, name: "Infrastructure" }) === false);
    }
    // Admins see everything everywhere; the console sees everything.
    t.regex(said(r.m, await r.m.message(NEW_ROOM, ADMIN, "!cd projects")), /Infrastructure/);
    t.true(r.ops.mayUseProject({ kind: "console" }, { id: 1, name: "Infrastructure" }));
  } finally {
    await r.close();
  }
});

test("[bot] default_room_projects grants rooms without a section exactly those projects", async (t) => {
  const r = await rig(`${LIMITED}\ndefault_room_projects = Internal tools`, OPS_LIMITED_TO_TOOLS);
  try {
    const list = said(r.m, await r.m.message(NEW_ROOM, ALICE, "!cd projects"));
    t.regex(list, /Internal tools/);
    t.notRegex(list, /Infrastructure/);
  } finally {
    await r.close();
  }
});

// ---- item 4: aliases are trusted only through the homeserver directory ----

const ALIAS_POLICY = `[room "#ops:test"]\nprojects = *\nrun = ${ALICE}\nread = *\n`;

test("a room whose own state claims a policy's alias gets nothing; the directory's room gets the policy", async (t) => {
  const r = await rig(`admin_users = ${ADMIN}\nallowed_users = ${ALICE}\ndefault_room_access = none\nallowed_rooms = "#ops:test"`, ALIAS_POLICY, {
    "#ops:test": OPS,
  });
  try {
    // The forger's room state says it is #ops:test (canonical_alias and alt_aliases are set by the room itself).
    const getRoom = r.client.getRoom;
    r.client.getRoom = (id: string) =>
      id === EVIL ? { ...getRoom(id), getCanonicalAlias: () => "#ops:test", getAltAliases: () => ["#ops:test"] } : getRoom(id);
    await r.ops.resolveRoomAliases();
    const evil = said(r.m, await r.m.message(EVIL, ALICE, "!cd projects"));
    t.notRegex(evil, /Infrastructure|Internal tools/, "the forged alias grants nothing");
    t.false(r.ops.permissions.isAllowedRoom(EVIL), "a forged alias does not make a room allowed");
    t.is(r.ops.authorize({ kind: "chat", userId: ALICE, roomId: EVIL }, "run").allowed, false);
    t.regex(said(r.m, await r.m.message(OPS, ALICE, "!cd projects")), /Infrastructure/, "the room the directory names gets the policy");
    t.true(await invite(r, OPS, ALICE), "an invite to a room listed only by alias is accepted once resolved");
    t.false(await invite(r, EVIL, ALICE), "an invite to a room not in allowed_rooms is rejected");
  } finally {
    await r.close();
  }
});

test("an alias the directory does not know is a warning and grants nothing; a reload resolves again", async (t) => {
  const directory: Record<string, string> = {};
  const r = await rig(`admin_users = ${ADMIN}\nallowed_users = ${ALICE}\ndefault_room_access = none`, ALIAS_POLICY, directory);
  const warnings: string[] = [];
  r.logger.on("entry", (e: { level: string; message: string }) => {
    if (e.level === "warn") warnings.push(e.message);
  });
  try {
    const result = await r.ops.resolveRoomAliases();
    t.deepEqual(result.unresolved, ["#ops:test"]);
    t.true(
      warnings.some((w) => w.includes("#ops:test") && /grants nothing/.test(w)),
      warnings.join("\n"),
    );
    t.is(r.ops.authorize({ kind: "chat", userId: ALICE, roomId: OPS }, "run").allowed, false);
    directory["#ops:test"] = OPS;
    t.true(r.ops.reloadConfig({ kind: "console" }).ok);
    await r.ops.roomAliasesResolved;
    t.is(r.ops.authorize({ kind: "chat", userId: ALICE, roomId: OPS }, "run").allowed, true, "resolved on reload");
  } finally {
    await r.close();
  }
});

// ---- item 5: `rooms` shows a non-admin only their own room ----

test("rooms: a non-admin sees only their own room; admins and the console see all", async (t) => {
  const r = await rig(
    `admin_users = ${ADMIN}\nallowed_users = ${ALICE}\ndefault_room_access = read`,
    `${OPS_LIMITED_TO_TOOLS}\n[room "!secret:test"]\nprojects = Infrastructure\nrun = ${ADMIN}\n`,
  );
  try {
    for (const id of [OPS, "!secret:test", NEW_ROOM]) r.ops.store.upsertRoom({ roomId: id, name: `room ${id}`, encrypted: false, members: 3 });
    const mine = said(r.m, await r.m.message(OPS, ALICE, "!cd rooms"));
    t.regex(mine, /!ops:test/);
    t.notRegex(mine, /secret|!new:test|Infrastructure/, "other rooms and their policies are not shown");
    const admin = said(r.m, await r.m.message(OPS, ADMIN, "!cd rooms"));
    t.regex(admin, /!secret:test/);
    t.regex(admin, /!new:test/);
    t.is(r.ops.visibleRooms({ kind: "console" }).length, 3);
  } finally {
    await r.close();
  }
});

// ---- item 6: one refusal per stranger per window ----

test("a stranger's commands get one refusal per window, all counted, one audit line", async (t) => {
  const r = await rig(`admin_users = ${ADMIN}\nallowed_users = ${ALICE}`);
  try {
    let now = 1_000_000;
    r.ops.strangerRefusals.now = () => now;
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await r.m.message(OPS, STRANGER, `!cd projects ${i}`));
    t.is(ids.filter((id) => r.m.repliesTo(id).length > 0).length, 1, "one reply for 20 commands");
    t.is(r.ops.counters.refused, 20, "every refusal is counted");
    t.is(r.ops.metrics.commands.get({ command: "unknown", outcome: "refused", via: "chat" }), 20);
    await r.ops.audit.record({ kind: "console" }, "flush", "ok");
    t.is(audit(r).filter((a) => a.outcome === "refused" && a.who === STRANGER).length, 1, "one audit line");
    const other = await r.m.message(OPS, "@other:evil.test", "!cd ping");
    t.is(r.m.repliesTo(other).length, 1, "another stranger gets their one refusal");
    now += 5 * 60_000 + 1;
    const later = await r.m.message(OPS, STRANGER, "!cd ping");
    t.is(r.m.repliesTo(later).length, 1, "after the window, one more refusal");
  } finally {
    await r.close();
  }
});

test("RefusalLimiter stays bounded: when full of fresh entries it answers nobody new", (t) => {
  const limiter = new RefusalLimiter({ windowMs: 1000, maxEntries: 3 });
  let now = 0;
  limiter.now = () => now;
  t.deepEqual(
    ["a", "b", "c", "d", "a"].map((u) => limiter.shouldAnswer(u)),
    [true, true, true, false, false],
  );
  t.true(limiter.size <= 3);
  now = 1001;
  t.true(limiter.shouldAnswer("d"), "expired entries make room again");
  t.true(limiter.size <= 3);
});

test("status of a task started in another room does not name that room to a non-admin", async (t) => {
  const r = await rig(LIMITED, `${OPS_LIMITED_TO_TOOLS}\n[room "!secret:test"]\nprojects = *\nrun = ${ALICE}\n`);
  try {
    r.ops.store.upsertRoom({ roomId: "!secret:test", name: "Board of directors", encrypted: false, members: 3 });
    r.ops.store.upsertTask({
      projectId: 2,
      taskId: 9001,
      templateId: 6,
      templateName: "Rebuild search index",
      projectName: "Internal tools",
      status: "running",
      start: new Date().toISOString(),
      origin: { via: "chat", user: ADMIN, roomId: "!secret:test" },
    });
    const mine = said(r.m, await r.m.message(OPS, ALICE, "!cd status 9001"));
    t.regex(mine, /Rebuild search index/);
    t.notRegex(mine, /Board of directors|!secret:test/);
    t.regex(mine, /in another room/);
    t.regex(said(r.m, await r.m.message(OPS, ADMIN, "!cd status 9001")), /Board of directors/, "admins see where it came from");
  } finally {
    await r.close();
  }
});

test("subscribing a room to a project it may not see is refused with what to do: its cards would never be posted there", async (t) => {
  const r = await rig(`admin_users = ${ADMIN}\nallowed_users = ${ALICE}\ndefault_room_access = read`);
  try {
    const admin = { kind: "chat" as const, userId: ADMIN, roomId: NEW_ROOM };
    const err = await t.throwsAsync(r.ops.subscriptions.subscribe(admin, { project: "Infrastructure", filter: "all" }));
    t.regex(err!.message, /may not see Infrastructure/);
    t.regex(err!.message, /default_room_projects|\[room/);
    t.deepEqual(r.ops.roomSettings.subscriptions(NEW_ROOM), [], "nothing subscribed");
  } finally {
    await r.close();
  }
});
