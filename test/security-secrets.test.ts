// No secret (Matrix password and access token, Semaphore API token, crypto storage key, a secret survey answer) in
// the log file, the console's buffers (log ring, everything drawn on the terminal, the store it renders), chat
// messages, the audit log or the state files, after a session that goes through the paths most likely to echo
// them: info, errors from Semaphore (401 with a revoked token, an HTML 502), a run with a secret survey variable, the
// console's config and log panels. Found by searching (as is, JSON-escaped, URL-encoded, 16-character slices).
// Crash output too: a real headless process dies of an uncaught exception that carries its secrets. State, crypto
// and log files are 0600, even a log file that existed with a looser mode.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { RawClient, isReplyTo, type RawEvent } from "./harness/cs-client.js";
import { writeBotConfig } from "./harness/bot.js";
import { loadConfig, formatIssue } from "../src/config/load.js";
import { Logger } from "../src/log/logger.js";
import { App } from "../src/app.js";
import "../src/polyfill.js";
import { startSemaphoreServer } from "../src/emulator/index.js";
import { startFaultProxy } from "./helpers-prove/fault-proxy.js";
import { leaks, walk, readText, type Secret } from "./helpers-prove/secrets.js";
import { fakeStreams } from "./console-helpers.js";
import { Console } from "../screens/console.js";
import { keyDef } from "../src/config/schema.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const isEditOf = (id: string) => (e: RawEvent) => e.content?.["m.relates_to"]?.rel_type === "m.replace" && e.content["m.relates_to"].event_id === id;

synapseTest("no secret in the log file, the console's buffers, chat, the audit log or state files; files are 0600", async (t) => {
  t.timeout(180_000);
  const hs = requireSynapse();
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const [botU, a] = await Promise.all([hs.registerUser(uniqueLocalpart("secbot"), password), hs.registerUser(uniqueLocalpart("alice"), "pw-alice")]);
  const alice = new RawClient(hs.url, a!.accessToken, a!.userId);
  const server = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 5, seed: "demo", schedules: false });
  const proxy = await startFaultProxy(server.url);
  const storageKey = randomBytes(32).toString("base64");
  const surveySecret = `survey-${randomBytes(10).toString("hex")}`;
  server.addTemplate(1, {
    name: "Set DB password",
    surveyVars: [{ name: "db_password", title: "Database password", required: true, type: "", description: "", values: null }],
    scenario: { lines: ["setting the password", "done"] },
  });
  const apiToken = server.tokens["runner"]!;
  const bot = writeBotConfig({
    homeserver: hs.url,
    userId: botU!.userId,
    password,
    admins: [alice.userId],
    semaphore: { url: proxy.url, token: apiToken },
    extra: `[matrix]\n${keyDef("matrix", "storage_key") ? `storage_key = ${storageKey}\n` : ""}\n[bot]\nshow_host_info = true\n`,
  });
  // A log file left behind with a looser mode (created by hand, by an older version, by logrotate...).
  const logFile = join(bot.stateDir, "bot.log");
  writeFileSync(logFile, "", { mode: 0o644 });
  chmodSync(logFile, 0o644);
  const config = loadConfig(bot.path, { env: {} });
  t.true(config.ok, config.issues.map(formatIssue).join("\n"));
  const logger = new Logger({ level: "debug", file: logFile });
  const app = new App(config, logger, {});
  const io = fakeStreams(160, 48);
  let con: Console | undefined;
  try {
    await app.start();
    con = new Console(app, { input: io.input, output: io.output, terminal: "xterm-256color", tickMs: 0, historyFile: "", exit: () => undefined });
    const rows = () => (con!.screen as unknown as { lines: Array<Array<[number, string]>> }).lines.map((r) => r.map((c) => c[1]).join("")).join("\n");
    const screens: string[] = [];
    const keys = async (...k: string[]) => {
      for (const s of k) {
        io.input.write(s);
        await sleep(15);
        con!.scheduler.flush();
      }
      screens.push(rows());
    };

    const roomId = await alice.createRoom({ invite: [botU!.userId], name: "secrets" });
    await alice.waitForMembership(roomId, botU!.userId, "join");
    const ask = async (body: string, re: RegExp, what: string) => {
      const id = await alice.send(roomId, body);
      const r = await alice.waitFor(roomId, (e) => isReplyTo(id)(e) && e.sender === botU!.userId, 30_000, what);
      t.regex(r.content.body, re, what);
      return r;
    };
    await ask("!cd ping", /Pong/, "ping");
    await ask("!cd info", /ChatrixCD/, "info");
    await ask("!cd admins", /Admins/, "admins");
    await ask("!cd rooms", /secrets/, "rooms");
    await ask("!cd projects", /Infrastructure/, "projects");
    const prompt = await ask(`!cd run 1 "Set DB password" db_password=${surveySecret}`, /Run Set DB password/, "run prompt");
    const yes = await alice.send(roomId, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: prompt.event_id } } });
    const card = await alice.waitFor(roomId, (e) => isReplyTo(yes)(e) && e.sender === botU!.userId, 30_000, "card");
    await alice.waitFor(roomId, (e) => isEditOf(card.event_id)(e) && /success/.test(e.content["m.new_content"]?.body ?? ""), 30_000, "card final");
    // Semaphore rejects the token: REST and websocket get 401.
    await proxy.mode("401");
    proxy.dropWebsockets();
    await ask("!cd projects", /rejected the API token \(401\)/, "401 reply");
    await proxy.mode("pass");
    server.faults.setHtml502(true);
    await ask("!cd templates 1", /HTML page instead of Semaphore's JSON/, "502 reply");
    server.faults.setHtml502(false);
    await ask("!cd rooms join !nosuchroom:localhost", /Could not join/, "join error");
    // The console: every panel, the config panel scrolled to the end, the log panel, the : bar.
    await keys("1", "2", "3");
    for (let i = 0; i < 8; i++) await keys("\x1b[6~");
    await keys("4");
    for (let i = 0; i < 60; i++) await keys("j");
    await keys("\r", "\x1b", ":", "i", "n", "f", "o", "\r");
    await sleep(300);
    await keys("3", "G");
    await sleep(3500); // cards and thread flushed
    const session = JSON.parse(readFileSync(join(bot.stateDir, "matrix", "session.json"), "utf8")) as { accessToken: string };
    const secrets: Secret[] = [
      { name: "Matrix password", value: password },
      { name: "Semaphore API token", value: apiToken },
      { name: "Matrix access token", value: session.accessToken },
      { name: "storage key", value: storageKey },
    ];
    const userSecrets: Secret[] = [...secrets, { name: "secret survey answer", value: surveySecret }];
    // Chat: everything the bot sent (alice's own messages hold the survey answer she typed).
    const events = (await alice.messages(roomId, 1000)).filter((e) => e.sender === botU!.userId);
    const found: string[] = [
      ...leaks(JSON.stringify(events), userSecrets, "chat"),
      ...leaks(
        logger.ring
          .toArray()
          .map((e) => e.message)
          .join("\n"),
        userSecrets,
        "the log ring (console log panel)",
      ),
      ...leaks(io.written(), userSecrets, "the terminal output"),
      ...leaks(screens.join("\n"), userSecrets, "the console screens"),
      ...leaks(
        JSON.stringify({
          tasks: [...app.store.tasks.values()],
          out: [...app.store.tasks.keys()].map((k) => app.store.output(k)),
          conn: app.store.connection,
          rooms: [...app.store.rooms.values()],
        }),
        userSecrets,
        "the store",
      ),
    ];
    await con.shutdown(0).catch(() => undefined);
    con.restore();
    con = undefined;
    await app.stop();
    await logger.close();
    found.push(...leaks(readText(logFile), userSecrets, "the log file"), ...leaks(readText(join(bot.stateDir, "audit.jsonl")), userSecrets, "the audit log"));
    // State files: nothing but session.json may hold a bot secret (the INI is the operator's own file).
    const files = walk(bot.stateDir).filter((f) => !f.isDir);
    for (const f of files) {
      if (f.path.endsWith("chatrixcd.ini") || f.path.endsWith("session.json")) continue;
      found.push(...leaks(readText(f.path), secrets, f.path.slice(bot.stateDir.length + 1)));
    }
    t.deepEqual(found, []);
    t.true(
      logger.ring.toArray().some((e) => /401/.test(e.message)),
      "the 401 was logged (the search covered an error path)",
    );
    const loose = files.filter((f) => f.mode & 0o077).map((f) => `${f.path.slice(bot.stateDir.length + 1)} ${f.mode.toString(8)}`);
    t.deepEqual(loose, [], "state, crypto and log files must be 0600");
    t.log(
      `searched ${events.length} chat events, ${logger.ring.size} log entries, ${io.written().length} bytes of terminal output, ${files.length} state ` +
        `files: ${files.map((f) => `${f.path.slice(bot.stateDir.length + 1)} ${f.mode.toString(8)}`).join(", ")}`,
    );
    t.true(files.some((f) => f.path.endsWith("crypto-store.bin")) || !app.config.values.matrix.encryption, "the crypto store was written (and checked)");
  } finally {
    con?.restore();
    await app.stop().catch(() => undefined);
    await logger.close();
    await proxy.close();
    await server.stop();
  }
});

/** Runs the real CLI in a child process; resolves with its exit code and everything it printed. */
function runBot(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      rej(new Error(`the bot did not exit within ${timeoutMs} ms; output:\n${out.slice(-3000)}`));
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      setTimeout(() => res({ code, signal, out }), 100);
    });
  });
}

synapseTest("crash output and start-up failures show no secret", async (t) => {
  t.timeout(120_000);
  const hs = requireSynapse();
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const botU = await hs.registerUser(uniqueLocalpart("crashbot"), password);
  const server = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 5, seed: "demo", schedules: false });
  const storageKey = randomBytes(32).toString("base64");
  const apiToken = server.tokens["runner"]!;
  const extra = keyDef("matrix", "storage_key") ? `[matrix]\nstorage_key = ${storageKey}\n` : "";
  try {
    const { path, stateDir } = writeBotConfig({ homeserver: hs.url, userId: botU.userId, password, semaphore: { url: server.url, token: apiToken }, extra });
    const crash = await runBot([
      "--import",
      join(root, "dist/test/helpers-prove/crash-hook.js"),
      join(root, "dist/screens/main.js"),
      "--headless",
      "--config",
      path,
    ]);
    const session = JSON.parse(readFileSync(join(stateDir, "matrix", "session.json"), "utf8")) as { accessToken: string };
    const secrets: Secret[] = [
      { name: "Matrix password", value: password },
      { name: "Semaphore API token", value: apiToken },
      { name: "Matrix access token", value: session.accessToken },
      { name: "storage key", value: storageKey },
    ];
    t.not(crash.code, 0, "a crash must end the process with a failure code");
    t.regex(crash.out, /request failed: POST/, "the crash is reported");
    t.deepEqual([...leaks(crash.out, secrets, "crash output"), ...leaks(readText(join(stateDir, "bot.log")), secrets, "the log file after the crash")], []);
    t.is(statSync(join(stateDir, "bot.log")).mode & 0o777, 0o600);

    // Start-up failures: a wrong password, and a Semaphore that rejects the token.
    const wrong = `wrong-${randomBytes(12).toString("hex")}`;
    const bad = writeBotConfig({
      homeserver: hs.url,
      userId: botU.userId,
      password: wrong,
      semaphore: { url: server.url, token: "revoked0token0revoked0token0revoked0tok=" },
    });
    const failed = await runBot([join(root, "dist/screens/main.js"), "--headless", "--config", bad.path]);
    t.is(failed.code, 1);
    t.regex(failed.out, /refused the credentials/);
    t.deepEqual(
      leaks(
        failed.out + readText(join(bad.stateDir, "bot.log")),
        [
          { name: "the wrong password", value: wrong },
          { name: "the rejected token", value: "revoked0token0revoked0token0revoked0tok=" },
        ],
        "start-up failure output",
      ),
      [],
    );
  } finally {
    await server.stop();
  }
});
