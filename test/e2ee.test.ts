// End-to-end encrypted rooms against a real Synapse: a matrix-js-sdk peer (Rust crypto) and a matrix-nio peer
// (libolm) talk to the bot in encrypted rooms; everything the bot sends there is encrypted on the wire; the crypto
// store survives restarts (same device, same keys, nothing undecryptable); undecryptable events are counted and
// their keys requested.
import { readFileSync, statSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { RawClient } from "./harness/cs-client.js";
import { startTestBot, type TestBot } from "./harness/bot.js";
import { NioPeer } from "./harness/nio.js";
import { JsPeer, type PeerEvent } from "./helpers-e2ee/js-peer.js";
import { startSemaphoreServer } from "../src/emulator/index.js";

const PASSWORD = "correct horse battery staple";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const replyTo = (id: string) => (e: PeerEvent) => e.relation?.["m.in_reply_to"]?.event_id === id;

async function users(n: string[]) {
  const hs = requireSynapse();
  const made = await Promise.all(n.map((p) => hs.registerUser(uniqueLocalpart(p), PASSWORD)));
  return { hs, made };
}

/** nio's view of the bot's reply to `eventId` (waitFor consumes other replies on the way). */
async function nioReplyTo(nio: NioPeer, roomId: string, sender: string, eventId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await nio.waitFor(roomId, { sender, timeoutMs: Math.max(1000, deadline - Date.now()) });
    if ((e.relates_to as any)?.["m.in_reply_to"]?.event_id === eventId) return e;
  }
}

/** Every event the bot sent in the room, as the server stores it (no decryption). */
async function botWireEvents(observer: RawClient, roomId: string, botUserId: string) {
  return (await observer.messages(roomId, 500)).filter((e) => e.sender === botUserId && e.type !== "m.room.member");
}

synapseTest("encrypted room with a matrix-js-sdk peer: commands decrypted, replies encrypted both ways; info reports encryption", async (t) => {
  const {
    hs,
    made: [botU, a],
  } = await users(["bot", "alice"]);
  const bot = await startTestBot({ homeserver: hs.url, userId: botU!.userId, password: PASSWORD, admins: [a!.userId] });
  const alice = await JsPeer.login(hs.url, a!.userId, PASSWORD);
  try {
    t.true(bot.app.store.crypto.enabled);
    const roomId = await alice.createRoom({ invite: [botU!.userId], encrypted: true, name: "secret ops" });
    await alice.waitForJoin(roomId, botU!.userId);
    const cmd = await alice.send(roomId, "!cd ping");
    const pong = await alice.waitFor(replyTo(cmd), 20_000, "pong");
    t.regex(pong.content.body, /Pong/);
    t.is(pong.wireType, "m.room.encrypted");
    t.is(pong.content.msgtype, "m.notice");
    const info = await alice.send(roomId, "!cd info");
    const infoReply = await alice.waitFor(replyTo(info), 20_000, "info");
    t.regex(infoReply.content.body, new RegExp(`Encryption: enabled \\(device ${bot.app.matrix!.client!.getDeviceId()}`));
    t.regex(infoReply.content.body, /0 undecryptable/);
    const wire = await botWireEvents(new RawClient(hs.url, a!.accessToken, a!.userId), roomId, botU!.userId);
    t.true(wire.length >= 2);
    t.true(
      wire.every((e) => e.type === "m.room.encrypted"),
      `bot events on the wire: ${wire.map((e) => e.type).join(", ")}`,
    );
    t.is(bot.app.store.crypto.undecryptable, 0);
    t.true(bot.app.store.rooms.get(roomId)?.encrypted);
    // The quiet-sync filter sits in the real SDK's sync path: syncs that brought the crypto layer nothing skipped it.
    t.true((bot.app.matrix!.crypto!.quietSyncs?.skipped ?? 0) > 0, `skipped: ${bot.app.matrix!.crypto!.quietSyncs?.skipped}`);
  } finally {
    await alice.stop();
    await bot.stop();
  }
});

synapseTest("encrypted room with a matrix-nio (libolm) peer: nio's command is decrypted, the reply decrypts in nio", async (t) => {
  const {
    hs,
    made: [botU, a],
  } = await users(["bot", "alice"]);
  const bot = await startTestBot({ homeserver: hs.url, userId: botU!.userId, password: PASSWORD, admins: [a!.userId] });
  const nio = await NioPeer.login({ homeserver: hs.url, userId: a!.userId, password: PASSWORD, encryption: true });
  try {
    const roomId = await nio.createRoom({ invite: [botU!.userId], encrypted: true, name: "nio secret" });
    await nio.waitForMember(roomId, botU!.userId, "join");
    const cmdId = await nio.send(roomId, "!cd ping");
    const reply = await nio.waitFor(roomId, { sender: botU!.userId, contains: "Pong", timeoutMs: 20_000 });
    t.true(reply.decrypted, "nio decrypted the bot's reply");
    t.is(reply.msgtype, "m.notice");
    t.is((reply.relates_to as any)?.["m.in_reply_to"]?.event_id, cmdId);
    const info = await nio.send(roomId, "!cd info");
    const infoReply = await nio.waitFor(roomId, { sender: botU!.userId, contains: "Encryption", timeoutMs: 20_000 });
    t.true(infoReply.decrypted);
    t.is((infoReply.relates_to as any)?.["m.in_reply_to"]?.event_id, info);
    t.is((await nio.stats()).undecryptable, 0, "nio could decrypt everything");
    t.is(bot.app.store.crypto.undecryptable, 0, "the bot could decrypt everything");
  } finally {
    await nio.quit();
    await bot.stop();
  }
});

synapseTest(
  "encrypted room: confirmation by 👍 reaction, status card edited in place, output in its thread, confirmation by reply — all encrypted",
  async (t) => {
    const {
      hs,
      made: [botU, a],
    } = await users(["bot", "alice"]);
    const server = await startSemaphoreServer({ tickMs: 30, lineDelayMs: 5, seed: "demo" });
    const bot = await startTestBot({
      homeserver: hs.url,
      userId: botU!.userId,
      password: PASSWORD,
      admins: [a!.userId],
      semaphore: { url: server.url, token: server.tokens["runner"]! },
    });
    const alice = await JsPeer.login(hs.url, a!.userId, PASSWORD);
    try {
      const roomId = await alice.createRoom({ invite: [botU!.userId], encrypted: true });
      await alice.waitForJoin(roomId, botU!.userId);
      const cmd = await alice.send(roomId, "!cd run 1 Deploy");
      const prompt = await alice.waitFor(replyTo(cmd), 20_000, "prompt");
      t.regex(prompt.content.body, /Run Deploy web/);
      await alice.react(roomId, prompt.eventId, "👍");
      const isCard = (e: PeerEvent) => e.sender === botU!.userId && !e.relation?.rel_type && /Deploy web #\d+: /.test(e.content.body ?? "");
      const card = await alice.waitFor(isCard, 20_000, "card");
      const editOf = (id: string) => (e: PeerEvent) => e.relation?.rel_type === "m.replace" && e.relation.event_id === id;
      await alice.waitFor((e) => editOf(card.eventId)(e) && /success/.test(e.content["m.new_content"]?.body ?? ""), 40_000, "card edited to success");
      await alice.waitFor((e) => editOf(prompt.eventId)(e) && /Confirmed by/.test(e.content["m.new_content"]?.body ?? ""), 20_000, "prompt edited");
      const thread = await alice.waitFor((e) => e.relation?.rel_type === "m.thread" && e.relation.event_id === card.eventId, 20_000, "output in the thread");
      t.is(thread.wireType, "m.room.encrypted");
      // and a confirmation by reply, in the same room
      const cmd2 = await alice.send(roomId, "!cd run 1 Deploy");
      const prompt2 = await alice.waitFor(replyTo(cmd2), 20_000, "second prompt");
      const yes = await alice.send(roomId, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: prompt2.eventId } } });
      await alice.waitFor((e) => e.sender === botU!.userId && replyTo(yes)(e) && /Deploy web #\d+: /.test(e.content.body ?? ""), 20_000, "second card");
      await sleep(500);
      const wire = await botWireEvents(new RawClient(hs.url, a!.accessToken, a!.userId), roomId, botU!.userId);
      t.true(wire.length >= 6, `${wire.length} bot events`);
      t.true(
        wire.every((e) => e.type === "m.room.encrypted"),
        `bot events on the wire: ${[...new Set(wire.map((e) => e.type))].join(", ")}`,
      );
      // relations stay in the clear, so the server can aggregate edits and threads
      t.true(wire.some((e) => e.content["m.relates_to"]?.rel_type === "m.replace"));
      t.true(wire.some((e) => e.content["m.relates_to"]?.rel_type === "m.thread"));
      t.false(
        alice.events.some((e) => e.undecryptable),
        "alice decrypted everything",
      );
      t.is(bot.app.store.crypto.undecryptable, 0);
    } finally {
      await alice.stop();
      await bot.stop();
      await server.stop();
    }
  },
);

synapseTest(
  "restart with the persisted crypto store: same device and keys, old sessions still decrypt, nothing undecryptable (js-sdk and nio peers, storage key)",
  async (t) => {
    const {
      hs,
      made: [botU, a, b],
    } = await users(["bot", "alice", "bob"]);
    const storageKey = Buffer.alloc(32, 7).toString("base64");
    const extra = `[matrix]\nstorage_key = ${storageKey}\n`;
    const bot = await startTestBot({ homeserver: hs.url, userId: botU!.userId, password: PASSWORD, admins: [a!.userId, b!.userId], extra });
    const alice = await JsPeer.login(hs.url, a!.userId, PASSWORD);
    const nio = await NioPeer.login({ homeserver: hs.url, userId: b!.userId, password: PASSWORD, encryption: true });
    let again: TestBot | undefined;
    try {
      const roomId = await alice.createRoom({ invite: [botU!.userId, b!.userId], encrypted: true });
      await alice.waitForJoin(roomId, botU!.userId);
      await nio.join(roomId);
      await alice.waitForJoin(roomId, b!.userId);
      const c1 = await alice.send(roomId, "!cd ping");
      await alice.waitFor(replyTo(c1), 20_000, "pong before restart");
      const n1 = await nio.send(roomId, "!cd ping");
      await nioReplyTo(nio, roomId, botU!.userId, n1);
      const device = bot.app.matrix!.client!.getDeviceId();
      const ed25519 = bot.app.store.crypto.ed25519;
      await bot.stop();

      const file = join(bot.stateDir, "matrix", "crypto-store.bin");
      t.is(statSync(file).mode & 0o777, 0o600, "the crypto store is private");
      const sync = JSON.parse(readFileSync(join(bot.stateDir, "matrix", "sync.json"), "utf8"));
      t.truthy(sync.cryptoGeneration, "the sync file records the crypto store saved with it");
      const raw = readFileSync(file);
      t.true(raw.includes(Buffer.from("ciphertext")), "with a storage key, the store's records are encrypted");
      t.false(raw.includes(Buffer.from("eyJwaWNrbGUi")), 'no record in the clear (base64 of {"pickle")');

      // Commands sent while the bot is down: the peers reuse their megolm sessions, whose keys only the old store has.
      const down = await alice.send(roomId, "!cd ping");
      again = await startTestBot({
        homeserver: hs.url,
        userId: botU!.userId,
        password: PASSWORD,
        admins: [a!.userId, b!.userId],
        stateDir: bot.stateDir,
        extra,
      });
      t.is(again.app.matrix!.client!.getDeviceId(), device, "same device");
      t.is(again.app.store.crypto.ed25519, ed25519, "same identity key");
      await alice.waitFor(replyTo(down), 20_000, "pong to the command sent while down");
      const c2 = await alice.send(roomId, "!cd ping");
      await alice.waitFor(replyTo(c2), 20_000, "pong after restart");
      const n2 = await nio.send(roomId, "!cd ping");
      const r2 = await nioReplyTo(nio, roomId, botU!.userId, n2);
      t.regex(r2.body ?? "", /Pong/);
      t.true(r2.decrypted);
      // a brand-new device of alice after the restart
      const alice2 = await JsPeer.login(hs.url, a!.userId, PASSWORD, { deviceName: "alice-2" });
      try {
        const c3 = await alice2.send(roomId, "!cd ping");
        await alice2.waitFor(replyTo(c3), 20_000, "pong to the new device");
      } finally {
        await alice2.stop();
      }
      t.is(again.app.store.crypto.undecryptable, 0, "zero undecryptable messages after the restart");
      t.is((await nio.stats()).undecryptable, 0);
      const log = readFileSync(join(bot.stateDir, "bot.log"), "utf8");
      t.regex(log, /crypto store restored, encrypted at rest/);
      t.false(log.includes(storageKey), "the storage key is never logged");
    } finally {
      await nio.quit();
      await alice.stop();
      await again?.stop();
    }
  },
);

synapseTest("a saved session whose crypto store is gone is not reused: the bot logs in afresh as a new device and says why", async (t) => {
  const {
    hs,
    made: [botU, a],
  } = await users(["bot", "alice"]);
  const bot = await startTestBot({ homeserver: hs.url, userId: botU!.userId, password: PASSWORD, admins: [a!.userId] });
  const oldDevice = bot.app.matrix!.client!.getDeviceId()!;
  const oldToken = bot.app.matrix!.client!.getAccessToken()!;
  await bot.stop();
  rmSync(join(bot.stateDir, "matrix", "crypto-store.bin"));
  const again = await startTestBot({ homeserver: hs.url, userId: botU!.userId, password: PASSWORD, admins: [a!.userId], stateDir: bot.stateDir });
  const alice = await JsPeer.login(hs.url, a!.userId, PASSWORD);
  try {
    const device = again.app.matrix!.client!.getDeviceId();
    t.not(device, oldDevice, "a new device");
    const log = readFileSync(join(bot.stateDir, "bot.log"), "utf8");
    t.regex(
      log,
      new RegExp(`there is no crypto store .*but device ${oldDevice} already has encryption keys on the homeserver.*logging in afresh as a new device`),
    );
    const res = await fetch(`${hs.url}/_matrix/client/v3/account/whoami`, { headers: { Authorization: `Bearer ${oldToken}` } });
    t.is(res.status, 401, "the old device was logged out");
    const roomId = await alice.createRoom({ invite: [botU!.userId], encrypted: true });
    await alice.waitForJoin(roomId, botU!.userId);
    const c = await alice.send(roomId, "!cd ping");
    await alice.waitFor(replyTo(c), 20_000, "pong from the new device");
    t.is(again.app.store.crypto.undecryptable, 0);
    t.true(existsSync(join(bot.stateDir, "matrix", "crypto-store.bin")));
  } finally {
    await alice.stop();
    await again.stop();
  }
});

synapseTest("an undecryptable command is counted, reported in info, and its key requested from the bot's other devices", async (t) => {
  const {
    hs,
    made: [botU, a],
  } = await users(["bot", "alice"]);
  const bot = await startTestBot({ homeserver: hs.url, userId: botU!.userId, password: PASSWORD, admins: [a!.userId] });
  const alice = await JsPeer.login(hs.url, a!.userId, PASSWORD);
  // another device of the bot's account, to see the key request
  const botOther = await JsPeer.login(hs.url, botU!.userId, PASSWORD, { deviceName: "bot-other" });
  const keyRequests: Array<Record<string, any>> = [];
  botOther.client.on(
    "toDeviceEvent" as never,
    ((ev: any) => {
      if (ev.getType() === "m.room_key_request") keyRequests.push(ev.getContent());
    }) as never,
  );
  try {
    // The OlmMachine asks only when one of the account's other devices is verified (only those would answer). In
    // real use an operator verifies it (`verify`); here the test marks it directly.
    const api = bot.app.matrix!.crypto!.crypto!;
    const deadline0 = Date.now() + 10_000;
    while (!(await api.getUserDeviceInfo([botU!.userId], true)).get(botU!.userId)?.has(botOther.deviceId) && Date.now() < deadline0) await sleep(100);
    await api.setDeviceVerified(botU!.userId, botOther.deviceId, true);
    const roomId = await alice.createRoom({ invite: [botU!.userId], encrypted: true });
    await alice.waitForJoin(roomId, botU!.userId);
    // an encrypted event whose megolm session was never shared with the bot: one from a room it is not in
    const elsewhere = await alice.createRoom({ encrypted: true });
    const secret = await alice.send(elsewhere, "!cd ping");
    const rawAlice = new RawClient(hs.url, a!.accessToken, a!.userId);
    const original = await rawAlice.waitFor(elsewhere, (e) => e.event_id === secret, 10_000, "the encrypted original");
    t.is(original.type, "m.room.encrypted");
    t.is(original.content.algorithm, "m.megolm.v1.aes-sha2");
    const utdId = (
      await rawAlice.call<{ event_id: string }>("PUT", `/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/utd-${Date.now()}`, original.content)
    ).event_id;
    const deadline = Date.now() + 15_000;
    while (bot.app.store.crypto.undecryptable < 1 && Date.now() < deadline) await sleep(100);
    t.is(bot.app.store.crypto.undecryptable, 1);
    t.is(bot.app.store.crypto.waitingForKeys, 1);
    t.is(bot.app.store.crypto.lastUndecryptable?.eventId, utdId);
    t.regex(bot.app.store.crypto.lastUndecryptable!.reason, /MEGOLM_UNKNOWN_INBOUND_SESSION_ID/);
    const info = await alice.send(roomId, "!cd info");
    t.regex((await alice.waitFor(replyTo(info), 20_000, "info")).content.body, /1 undecryptable \(1 still waiting for keys\)/);
    while (!keyRequests.length && Date.now() < deadline + 5000) await sleep(100);
    t.true(
      keyRequests.some((k) => k.action === "request" && k.body?.session_id === original.content.session_id && k.body?.room_id === roomId),
      `key requests seen: ${JSON.stringify(keyRequests)}`,
    );
    const log = readFileSync(join(bot.stateDir, "bot.log"), "utf8");
    t.regex(log, new RegExp(`could not decrypt ${utdId.replace(/[$.+]/g, "\\$&")} from ${a!.userId.replace(/[.]/g, "\\.")}.*the key was requested`));
  } finally {
    await botOther.stop();
    await alice.stop();
    await bot.stop();
  }
});
