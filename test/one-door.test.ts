// Operations are the only door: chat commands and the Matrix side parse, call one operation and format its result;
// permission checks, audit lines and state changes live in src/core. Also: the names core knows match the registry,
// and run arguments have one tokenizer.
import test from "ava";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { COMMAND_NAMES } from "../src/core/command-names.js";
import { commandNames } from "../src/commands/registry.js";
import { parseRunArgs } from "../src/commands/run-options.js";
import { splitArgs } from "../src/util/tokenize.js";
import { startEngine, ADMIN, ALICE, MALLORY, OPS_ROOM, OTHER_ROOM, type Engine } from "./helpers-chat/ops.js";
import type { Actor } from "../src/core/operations.js";
import type { AuditRecord } from "../src/core/audit.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

test("core's command names are exactly the registry's commands, in order", (t) => {
  t.deepEqual(commandNames(), [...COMMAND_NAMES]);
});

test("run arguments: one tokenizer, the same words from splitArgs and from chat's --args", (t) => {
  const text = `-e "x=1 2" --check 'a b' c\\ d`;
  const words = ["-e", "x=1 2", "--check", "a b", "c d"];
  t.deepEqual(splitArgs(text), words);
  const chat = parseRunArgs(["--args", text]);
  t.deepEqual(chat.ok ? chat.request.args : chat.error, words);
  t.deepEqual(splitArgs("  "), []);
  t.throws(() => splitArgs(`-e "x=1`), { message: /unbalanced double quote at character 4: close it with "/ });
});

/** Calls that decide, audit or change state: they belong in src/core (operations), never in commands or the Matrix side. */
const SIDE_DOORS: Array<[RegExp, string]> = [
  [/\baudit\.record\(/, "writes an audit line"],
  [/\.authorize\(|permissions\.check\(|\.require(Project)?\(/, "checks a permission"],
  [/permissions\.is(Admin|AllowedUser|AllowedRoom)\(|\bmayUse(Project|ProjectId|Template)\(/, "decides who may do or see what"],
  [/roomSettings\.(subscribe|unsubscribe|setLog|forgetRoom)\(|tracker\??\.watchProject\(|\baliases\.(add|remove)\(/, "changes state"],
  [/userId: ""/, "makes up an actor"],
];

/** Lines that may keep a match, each with why. Keep this short: a new entry needs a reason a reviewer accepts. */
const ALLOWED: Array<{ file: string; match: string; why: string }> = [];

function sideDoors(file: string, source: string): string[] {
  return source.split("\n").flatMap((line, i) =>
    SIDE_DOORS.filter(([re]) => re.test(line))
      .filter(() => !ALLOWED.some((a) => a.file === file && line.includes(a.match)))
      .map(([, what]) => `${file}:${i + 1} ${what}: ${line.trim().slice(0, 120)}`),
  );
}

test("the side-door scan flags each kind of call (synthetic input)", (t) => {
  const src = [
    'await ctx.ops.audit.record(ctx.actor, "x", "ok");',
    'ctx.ops.require(ctx.actor, "admin", "x");',
    'ops.authorize(a, "run")',
    "this.ops.permissions.isAllowedUser(u)",
    'ops.mayUseProjectId({ kind: "chat", userId: "", roomId }, 1)',
    "await ctx.ops.roomSettings.setLog(r, true);",
    "const ok = await ctx.ops.setRoomLog(ctx.actor, true);",
  ].join("\n");
  t.deepEqual(
    sideDoors("x.ts", src).map((l) => l.split(" ").slice(0, 2).join(" ")),
    ["x.ts:1 writes", "x.ts:2 checks", "x.ts:3 checks", "x.ts:4 decides", "x.ts:5 decides", "x.ts:5 makes", "x.ts:6 changes"],
  );
});

test("chat commands and the Matrix side hold no permission checks, audit writes or state changes of their own", (t) => {
  const files = ["src/commands", "src/matrix"].flatMap((d) => walk(join(repoRoot, d))).filter((f) => f.endsWith(".ts"));
  t.true(files.length > 20, "the sources were found");
  const found = files.flatMap((f) => sideDoors(relative(repoRoot, f), readFileSync(f, "utf8")));
  t.deepEqual(found, []);
});

const CONSOLE: Actor = { kind: "console" };
const audit = async (e: Engine): Promise<AuditRecord[]> => (await e.ops.audit.recent(100_000)).reverse();
/** An audit record without who, where and when: what two front ends must agree on. */
const what = ({ time: _t, who: _w, where: _r, ...rest }: AuditRecord) => rest;

test("a cancelled run, stop or exit prompt is audited the same from chat and from the console (cancelPrompt)", async (t) => {
  const e = await startEngine();
  try {
    const cancelled = async () => (await audit(e)).filter((r) => r.outcome === "cancelled");
    // chat: the prompts of the commands, answered no
    const runPrompt = await e.cmd("run 1 Full --limit web1 --dry-run");
    await runPrompt.confirm!.onCancel!();
    const exitPrompt = await e.cmd("exit", { user: ADMIN });
    await exitPrompt.confirm!.onCancel!();
    const fromChat = await cancelled();
    t.deepEqual(
      fromChat.map((r) => [r.action, r.who]),
      [
        ["run", ALICE],
        ["exit", ADMIN],
      ],
    );
    // console: its own dialogs call the operation with the same target
    const run = await e.ops.tasks.resolveRun(CONSOLE, { project: "1", template: "Full", limit: ["web1"], dryRun: true });
    await e.ops.cancelPrompt(CONSOLE, { kind: "run", run });
    await e.ops.cancelPrompt(CONSOLE, { kind: "exit" });
    await e.ops.cancelPrompt(CONSOLE, { kind: "stop", task: { projectId: 1, taskId: 7 }, force: true });
    const fromConsole = (await cancelled()).slice(2);
    t.deepEqual(
      fromConsole.map((r) => r.who),
      ["console", "console", "console"],
    );
    t.deepEqual(fromConsole.slice(0, 2).map(what), fromChat.map(what));
    t.deepEqual(what(fromConsole[2]!), { action: "stop --force", outcome: "cancelled", projectId: 1, taskId: 7 });
  } finally {
    await e.close();
  }
});

test("the invite policy is one operation: an allowed user, to an allowed room, with the reason when not", async (t) => {
  const e = await startEngine({ ini: `[bot]\nallowed_rooms = ${OPS_ROOM}\n` });
  try {
    t.true(e.ops.mayAcceptInvite(ALICE, OPS_ROOM).allowed);
    t.deepEqual(e.ops.mayAcceptInvite(MALLORY, OPS_ROOM), { allowed: false, reason: `${MALLORY} is not in [bot] allowed_users or admin_users` });
    t.deepEqual(e.ops.mayAcceptInvite(ADMIN, OTHER_ROOM), { allowed: false, reason: "the room is not in [bot] allowed_rooms" });
  } finally {
    await e.close();
  }
});

test("which rooms get a subscription's cards is the room's own grant (no made-up actor)", async (t) => {
  const e = await startEngine({ ini: `[room "${OPS_ROOM}"]\nrun = ${ALICE}\nread = *\nprojects = 2\n[bot]\ndefault_room_projects = 1\n` });
  try {
    t.false(e.ops.roomMaySeeProject(OPS_ROOM, 1), "the section's projects, not the defaults");
    t.true(e.ops.roomMaySeeProject(OPS_ROOM, 2));
    t.true(e.ops.roomMaySeeProject(OTHER_ROOM, 1), "a room without a section gets default_room_projects");
    t.false(e.ops.roomMaySeeProject(OTHER_ROOM, 2));
  } finally {
    await e.close();
  }
});

test("subscribe, log on/off, aliases and rooms part are operations: checked and audited, from chat and the console alike", async (t) => {
  const e = await startEngine();
  try {
    const sub = await e.ops.subscriptions.subscribe(e.actor(), { project: "1", filter: "failures" });
    t.is(sub.project.id, 1);
    t.is(e.ops.subscriptions.list(e.actor()).length, 1);
    await t.throwsAsync(e.ops.subscriptions.subscribe(CONSOLE, { project: "1", filter: "all" }), { message: /Subscriptions belong to a Matrix room/ });
    const none = 'This room has no subscription to a project matching "nosuch".';
    t.deepEqual(await e.ops.subscriptions.unsubscribe(e.actor(), "nosuch"), { ok: false, reason: none, listHint: true });
    const gone = await e.ops.subscriptions.unsubscribe(e.actor(), "1");
    t.true(gone.ok && gone.gone.length === 1);
    await e.ops.setRoomLog(e.actor(), true);
    await t.throwsAsync(e.ops.setRoomLog(e.actor(MALLORY), false), { message: /Not allowed to change this room's log setting/ });
    await t.throwsAsync(e.ops.setRoomLog(CONSOLE, false), { message: /setting of a Matrix room/ });
    await t.throwsAsync(e.ops.addAlias(e.actor(), "d", "run 1"), { message: /Not allowed to add aliases/ });
    t.deepEqual(await e.ops.addAlias(CONSOLE, "d", "run 1"), { shown: "run 1", replaced: undefined });
    t.true(await e.ops.removeAlias(CONSOLE, "d"));
    t.false(await e.ops.removeAlias(CONSOLE, "d"));
    await t.throwsAsync(e.ops.partRoom(e.actor(), "here"), { message: /Not allowed to leave rooms/ });
    await t.throwsAsync(e.ops.partRoom(CONSOLE, "!gone:test"), { message: /The bot is not in !gone:test\. See rooms\./ });
    const rows = (await audit(e)).map((r) => [r.action, r.outcome, r.who]);
    t.deepEqual(rows, [
      ["subscribe", "ok", ALICE],
      ["unsubscribe", "ok", ALICE],
      ["log on", "ok", ALICE],
      ["change this room's log setting", "refused", MALLORY],
      ["add aliases", "refused", ALICE],
      ["aliases add", "ok", "console"],
      ["aliases remove", "ok", "console"],
      ["leave rooms", "refused", ALICE],
    ]);
  } finally {
    await e.close();
  }
});
