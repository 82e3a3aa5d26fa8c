// Foundation integration tests against the real Synapse started by test/run-tests.ts.
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { RawClient, isReplyTo, type RawEvent } from "./harness/cs-client.js";
import { startTestBot, type TestBot } from "./harness/bot.js";
import { startTcpProxy } from "./harness/tcp-proxy.js";
import { NioPeer } from "./harness/nio.js";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const PASSWORD = "correct horse battery staple";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(opts: { allowAlice?: boolean } = {}) {
  const hs = requireSynapse();
  const botUser = await hs.registerUser(uniqueLocalpart("bot"), PASSWORD);
  const alice = await hs.registerUser(uniqueLocalpart("alice"), PASSWORD);
  const aliceClient = new RawClient(hs.url, alice.accessToken, alice.userId);
  return { hs, botUser, alice, aliceClient, admins: opts.allowAlice === false ? [] : [alice.userId] };
}

const pongsTo = (events: RawEvent[], eventId: string) => events.filter((e) => isReplyTo(eventId)(e) && /Pong/.test(e.content.body));

async function roomWithBot(aliceClient: RawClient, bot: TestBot, botUserId: string): Promise<string> {
  const roomId = await aliceClient.createRoom({ invite: [botUserId], name: "ops" });
  await aliceClient.waitForMembership(roomId, botUserId, "join");
  return roomId;
}

synapseTest("logs in with a password, saves the session and reuses the same device after a restart", async (t) => {
  const { hs, botUser, admins } = await setup();
  const bot = await startTestBot({ homeserver: hs.url, userId: botUser.userId, password: PASSWORD, admins });
  t.is(bot.app.store.connection.matrix, "syncing");
  const session = JSON.parse(readFileSync(join(bot.stateDir, "matrix", "session.json"), "utf8"));
  t.is(session.userId, botUser.userId);
  t.is(statSync(join(bot.stateDir, "matrix", "session.json")).mode & 0o777, 0o600);
  const firstDevice = bot.app.matrix!.client!.getDeviceId();
  await bot.stop();
  const again = await startTestBot({ homeserver: hs.url, userId: botUser.userId, password: PASSWORD, admins, stateDir: bot.stateDir });
  t.is(again.app.matrix!.client!.getDeviceId(), firstDevice);
  await again.stop();
  const log = readFileSync(join(bot.stateDir, "bot.log"), "utf8");
  t.false(log.includes(PASSWORD), "password must not be logged");
  t.false(log.includes(session.accessToken), "access token must not be logged");
});

synapseTest("a wrong password is a clear, non-retryable error", async (t) => {
  const { hs, botUser } = await setup();
  const err = await t.throwsAsync(startTestBot({ homeserver: hs.url, userId: botUser.userId, password: "wrong password!" }));
  t.regex(err!.message, /refused the credentials \(M_FORBIDDEN/);
  t.regex(err!.message, /Check \[matrix\] user_id and password/);
});

synapseTest("joins on invite from an allowed user, rejects an invite from anyone else", async (t) => {
  const { hs, botUser, alice, aliceClient } = await setup();
  const mallory = await hs.registerUser(uniqueLocalpart("mallory"), PASSWORD);
  const malloryClient = new RawClient(hs.url, mallory.accessToken, mallory.userId);
  const bot = await startTestBot({ homeserver: hs.url, userId: botUser.userId, password: PASSWORD, allowed: [alice.userId] });
  try {
    const good = await aliceClient.createRoom({ invite: [botUser.userId] });
    const bad = await malloryClient.createRoom({ invite: [botUser.userId] });
    await aliceClient.waitForMembership(good, botUser.userId, "join");
    await malloryClient.waitForMembership(bad, botUser.userId, "leave");
    t.is((await malloryClient.members(bad))[botUser.userId], "leave");
    t.truthy(bot.app.store.rooms.get(good));
    t.falsy(bot.app.store.rooms.get(bad));
  } finally {
    await bot.stop();
  }
});

synapseTest("!cd ping from a matrix-nio client (another implementation) is answered once, as an m.notice reply", async (t) => {
  const { hs, botUser, alice } = await setup();
  const bot = await startTestBot({ homeserver: hs.url, userId: botUser.userId, password: PASSWORD, admins: [alice.userId] });
  const nio = await NioPeer.login({ homeserver: hs.url, userId: alice.userId, password: PASSWORD });
  try {
    const roomId = await nio.createRoom({ invite: [botUser.userId], name: "nio room" });
    await nio.waitForMember(roomId, botUser.userId, "join");
    const cmdId = await nio.send(roomId, "!cd ping");
    const reply = await nio.waitFor(roomId, { sender: botUser.userId, contains: "Pong", timeoutMs: 15_000 });
    const cmd = (await nio.events(roomId)).find((e) => e.event_id === cmdId)!;
    // Both timestamps are the homeserver's, so this is the bot's answer time independent of nio's sync cadence.
    const answerMs = reply.origin_server_ts! - cmd.origin_server_ts!;
    t.log(`bot answered a matrix-nio ping in ${answerMs} ms (server timestamps)`);
    // (Speed is a benchmark's job: F1 in `npm run bench`; a timed assertion here only measures the machine's load.)
    t.is(reply.msgtype, "m.notice");
    t.is((reply.relates_to as any)?.["m.in_reply_to"]?.event_id, cmdId);
    await sleep(1500);
    const aliceRaw = new RawClient(hs.url, alice.accessToken, alice.userId);
    t.is(pongsTo(await aliceRaw.messages(roomId), cmdId).length, 1);
  } finally {
    await nio.quit();
    await bot.stop();
  }
});

synapseTest("a restarted bot does not re-answer old commands; a command sent while it was down is answered once", async (t) => {
  const { hs, botUser, alice, aliceClient } = await setup();
  const bot = await startTestBot({ homeserver: hs.url, userId: botUser.userId, password: PASSWORD, admins: [alice.userId] });
  const roomId = await roomWithBot(aliceClient, bot, botUser.userId);
  const first = await aliceClient.send(roomId, "!cd ping");
  await aliceClient.waitFor(roomId, isReplyTo(first), 15_000, "first pong");
  await bot.stop();

  const whileDown = await aliceClient.send(roomId, "!cd ping");
  const again = await startTestBot({ homeserver: hs.url, userId: botUser.userId, password: PASSWORD, admins: [alice.userId], stateDir: bot.stateDir });
  try {
    await aliceClient.waitFor(roomId, isReplyTo(whileDown), 15_000, "pong to the command sent while down");
    const after = await aliceClient.send(roomId, "!cd ping");
    await aliceClient.waitFor(roomId, isReplyTo(after), 15_000, "pong after restart");
    await sleep(1500);
    const events = await aliceClient.messages(roomId);
    t.is(pongsTo(events, first).length, 1, "the old command must not be answered again");
    t.is(pongsTo(events, whileDown).length, 1);
    t.is(pongsTo(events, after).length, 1);
  } finally {
    await again.stop();
  }
});

synapseTest("a restart that lost its saved sync (Synapse's stale cached sync replays old commands) still does not re-answer them", async (t) => {
  const { hs, botUser, alice, aliceClient } = await setup();
  const bot = await startTestBot({ homeserver: hs.url, userId: botUser.userId, password: PASSWORD, admins: [alice.userId] });
  const roomId = await roomWithBot(aliceClient, bot, botUser.userId);
  const first = await aliceClient.send(roomId, "!cd ping");
  await aliceClient.waitFor(roomId, isReplyTo(first), 15_000, "first pong");
  await bot.stop();
  const { rmSync } = await import("node:fs");
  rmSync(join(bot.stateDir, "matrix", "sync.json"), { force: true });
  const again = await startTestBot({ homeserver: hs.url, userId: botUser.userId, password: PASSWORD, admins: [alice.userId], stateDir: bot.stateDir });
  try {
    const after = await aliceClient.send(roomId, "!cd ping");
    await aliceClient.waitFor(roomId, isReplyTo(after), 15_000, "pong after restart");
    await sleep(1000);
    t.is(pongsTo(await aliceClient.messages(roomId), first).length, 1);
  } finally {
    await again.stop();
  }
});

synapseTest("a message sent while the homeserver is unreachable is delivered after it returns", async (t) => {
  const { hs, botUser, alice, aliceClient } = await setup();
  const proxy = await startTcpProxy(hs.port);
  const bot = await startTestBot({ homeserver: proxy.url, userId: botUser.userId, password: PASSWORD, admins: [alice.userId] });
  try {
    const roomId = await roomWithBot(aliceClient, bot, botUser.userId);
    await proxy.cut();
    const sent = bot.app.ops.say({ kind: "console" }, roomId, "said during the outage");
    await sleep(4000);
    t.not(bot.app.store.connection.matrix, "syncing", "the sync loop should have noticed the outage");
    await proxy.restore();
    const eventId = await sent;
    t.truthy(eventId);
    const got = await aliceClient.waitFor(roomId, (e) => e.content.body === "said during the outage", 40_000, "the delayed message");
    t.is(got.sender, botUser.userId);
    await sleep(500);
    t.is((await aliceClient.messages(roomId)).filter((e) => e.content.body === "said during the outage").length, 1);
  } finally {
    await bot.stop();
    await proxy.close();
  }
});

synapseTest("commands from users who are not allowed get a refusal, not an answer", async (t) => {
  const { hs, botUser, alice, aliceClient } = await setup();
  const eve = await hs.registerUser(uniqueLocalpart("eve"), PASSWORD);
  const eveClient = new RawClient(hs.url, eve.accessToken, eve.userId);
  const bot = await startTestBot({ homeserver: hs.url, userId: botUser.userId, password: PASSWORD, admins: [alice.userId] });
  try {
    const roomId = await roomWithBot(aliceClient, bot, botUser.userId);
    await aliceClient.invite(roomId, eve.userId);
    await eveClient.call("POST", `/join/${encodeURIComponent(roomId)}`, {});
    const cmd = await eveClient.send(roomId, "!cd ping");
    const reply = await aliceClient.waitFor(roomId, isReplyTo(cmd), 15_000, "refusal");
    t.regex(reply.content.body, /not on this bot's list of allowed users/);
    t.false(/Pong/.test(reply.content.body));
  } finally {
    await bot.stop();
  }
});
