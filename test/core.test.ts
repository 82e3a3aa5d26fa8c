import test from "ava";
import { tokenize } from "../src/util/tokenize.js";
import { stripPrefix } from "../src/commands/dispatch.js";
import { Redactor } from "../src/log/redact.js";
import { Logger, Ring } from "../src/log/logger.js";
import { Store } from "../src/core/store.js";
import { App, FINISHED_OUTPUTS_CONSOLE, FINISHED_OUTPUTS_HEADLESS } from "../src/app.js";
import { Permissions } from "../src/core/permissions.js";
import { loadConfig } from "../src/config/load.js";
import { closest } from "../src/util/text.js";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("tokenize: quotes, escapes and a clear error on unbalanced quotes", (t) => {
  t.deepEqual(tokenize(`run 1 2 --args "--foo bar" --tags 'a b'`), { ok: true, tokens: ["run", "1", "2", "--args", "--foo bar", "--tags", "a b"] });
  t.deepEqual(tokenize(`say "she said \\"hi\\""`), { ok: true, tokens: ["say", 'she said "hi"'] });
  t.deepEqual(tokenize(`a\\ b ""`), { ok: true, tokens: ["a b", ""] });
  t.deepEqual(tokenize("   "), { ok: true, tokens: [] });
  const bad = tokenize(`run "oops`);
  t.false(bad.ok);
  if (!bad.ok) t.regex(bad.error, /unbalanced double quote at character 5/);
});

test("stripPrefix needs the prefix followed by a space or the end", (t) => {
  t.is(stripPrefix("!cd ping", "!cd"), "ping");
  t.is(stripPrefix("  !CD   ping  ", "!cd"), "ping");
  t.is(stripPrefix("!cd", "!cd"), "");
  t.is(stripPrefix("!cdping", "!cd"), undefined);
  t.is(stripPrefix("hello !cd ping", "!cd"), undefined);
});

test("redactor masks configured secrets and token-like strings", (t) => {
  const r = new Redactor();
  r.add("hunter2hunter2", "abc"); // "abc" is too short to register
  const s = r.redact(
    "pw hunter2hunter2 tok syt_Ym90_abcdefghij_123 Authorization: Bearer abcdefgh12345678 " +
      '{"access_token":"zzzzzzzz"} abc kwofd61g93-yuqvex8efmhjkgnbxlo8mp1tin6spyhu=',
  );
  t.false(s.includes("hunter2hunter2"));
  t.false(s.includes("syt_Ym90"));
  t.false(s.includes("abcdefgh12345678"));
  t.false(s.includes("zzzzzzzz"));
  t.false(s.includes("kwofd61g93"));
  t.true(s.includes("abc"));
});

test("logger: level filter, bounded ring, file mode 0600, redaction applied everywhere", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "chatrixcd-log-"));
  const file = join(dir, "bot.log");
  const echoed: string[] = [];
  const logger = new Logger({
    level: "info",
    file,
    ringSize: 3,
    echo: {
      write: (s: string) => {
        echoed.push(s);
        return true;
      },
    } as unknown as NodeJS.WritableStream,
  });
  logger.redactor.add("s3cretvalue");
  const seen: string[] = [];
  logger.on("entry", (e) => seen.push(e.message));
  logger.log("debug", "t", "hidden");
  for (let i = 0; i < 5; i++) logger.log("info", "t", `line ${i} s3cretvalue`);
  await logger.close();
  t.is(seen.length, 5);
  t.deepEqual(
    logger.ring.toArray().map((e) => e.message),
    ["line 2 ‹redacted›", "line 3 ‹redacted›", "line 4 ‹redacted›"],
  );
  const content = readFileSync(file, "utf8");
  t.false(content.includes("s3cretvalue"));
  t.false(content.includes("hidden"));
  t.is(content.trim().split("\n").length, 5);
  t.false(echoed.join("").includes("s3cretvalue"));
  t.is(statSync(file).mode & 0o777, 0o600);
});

test("ring keeps the newest items in order", (t) => {
  const r = new Ring<number>(3);
  for (let i = 1; i <= 7; i++) r.push(i);
  t.deepEqual(r.toArray(), [5, 6, 7]);
  t.is(r.at(0), 5);
  t.is(r.at(3), undefined);
});

test("store emits only real changes", (t) => {
  const s = new Store();
  const events: string[] = [];
  s.on("task", (task, prev) => events.push(`${task.key}:${prev?.status ?? "-"}->${task.status}`));
  s.on("connection", (c) => events.push(`conn:${c.matrix}`));
  s.upsertTask({ projectId: 1, taskId: 7, status: "waiting" });
  s.upsertTask({ projectId: 1, taskId: 7, status: "waiting" });
  s.upsertTask({ projectId: 1, taskId: 7, status: "running" });
  s.setConnection({ matrix: "syncing" });
  s.setConnection({ matrix: "syncing" });
  t.deepEqual(events, ["1:7:-->waiting", "1:7:waiting->running", "conn:syncing"]);
  s.appendOutput(1, 7, [
    { time: "t", text: "a" },
    { time: "t", text: "b" },
  ]);
  t.is(s.tasks.get("1:7")!.outputLines, 2);
  t.deepEqual(
    s.output("1:7").map((l) => l.text),
    ["a", "b"],
  );
});

test("App: finishedOutputs bounds the finished tasks whose output stays in memory (the headless bot keeps fewer)", (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), "chatrixcd-app-"));
  const app = new App(loadConfig(undefined, { env: { CHATRIXCD_BOT_STATE_DIR: stateDir } }), new Logger({ level: "error" }), { finishedOutputs: 1 });
  for (const id of [1, 2]) {
    app.store.upsertTask({ projectId: 1, taskId: id, status: "running" });
    app.store.appendOutput(1, id, [{ time: "2026-12-05T00:00:00Z", text: `line ${id}` }]);
    app.store.upsertTask({ projectId: 1, taskId: id, status: "success" });
  }
  t.true(app.store.outputEvicted("1:1"), "the older finished task's output is dropped");
  t.is(app.store.output("1:2").length, 1);
  t.true(FINISHED_OUTPUTS_HEADLESS < FINISHED_OUTPUTS_CONSOLE);
});

test("store keeps output only for the newest finished tasks; running tasks keep theirs", (t) => {
  const store = new Store(100, 2);
  const line = (n: number) => [{ time: "2026-11-27T00:00:00Z", text: `line ${n}` }];
  for (let id = 1; id <= 4; id++) {
    store.upsertTask({ projectId: 1, taskId: id, status: "running" });
    store.appendOutput(1, id, line(id));
  }
  store.upsertTask({ projectId: 1, taskId: 1, status: "success" });
  store.upsertTask({ projectId: 1, taskId: 2, status: "error" });
  t.is(store.output("1:1").length, 1, "two finished tasks fit");
  store.upsertTask({ projectId: 1, taskId: 3, status: "stopped" });
  t.deepEqual(store.output("1:1"), [], "the oldest finished task's output is dropped");
  t.true(store.outputEvicted("1:1"));
  t.false(store.outputEvicted("1:2"));
  t.deepEqual(
    store.output("1:2").map((l) => l.text),
    ["line 2"],
  );
  t.deepEqual(
    store.output("1:4").map((l) => l.text),
    ["line 4"],
    "a running task keeps its output whatever its age",
  );
  t.is(store.outputCount("1:1"), 1, "the count of lines ever seen stays (cards continue by index)");
  store.appendOutput(1, 3, line(33));
  t.deepEqual(
    store.output("1:3").map((l) => l.text),
    ["line 3", "line 33"],
    "a late line of a kept finished task is added",
  );
});

test("permissions: admins everywhere, rooms without policy read-only, room policy lists", (t) => {
  const cfg = loadConfig(undefined, { demo: true, env: {} });
  cfg.values.bot.admin_users = ["@admin:x"];
  cfg.values.bot.allowed_users = ["@alice:x", "@bob:x"];
  t.is(cfg.values.bot.default_room_access, "none", "rooms without a policy are denied by default");
  t.false(new Permissions(cfg.values, []).check("@alice:x", "!other:x", "read").allowed);
  cfg.values.bot.default_room_access = "read";
  const p = new Permissions(cfg.values, [{ room: "!ops:x", projects: ["*"], templates: ["*"], run: ["@alice:x"], stop: ["*"], approve: [], read: ["*"] }]);
  t.true(p.check("@admin:x", "!any:x", "run").allowed);
  t.true(p.check("@alice:x", "!other:x", "read").allowed);
  t.false(p.check("@alice:x", "!other:x", "run").allowed);
  t.true(p.check("@alice:x", "!ops:x", "run").allowed);
  t.false(p.check("@bob:x", "!ops:x", "run").allowed);
  t.true(p.check("@bob:x", "!ops:x", "stop").allowed);
  t.false(p.check("@mallory:x", "!ops:x", "read").allowed);
  t.regex(p.check("@bob:x", "!ops:x", "run").reason, /not in run/);
  t.false(p.check("@alice:x", "!ops:x", "admin").allowed);
  t.true(p.isAllowedUser("@admin:x"));
  t.false(p.isAllowedUser("@mallory:x"));
});

test("closest suggests near misses only", (t) => {
  t.is(closest("comand_prefix", ["command_prefix", "log_file"]), "command_prefix");
  t.is(closest("zzzzzz", ["command_prefix", "log_file"]), undefined);
});
