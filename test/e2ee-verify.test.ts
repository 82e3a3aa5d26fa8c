// SAS (emoji) verification between the bot and a matrix-js-sdk client on a real Synapse: started from chat by an
// admin (emoji shown to that admin, confirmed only by them), a reported mismatch, and an incoming request answered
// through the operations the console uses. Nothing is trusted before a person confirmed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { startTestBot } from "./harness/bot.js";
import { JsPeer, type PeerEvent } from "./helpers-e2ee/js-peer.js";

const PASSWORD = "correct horse battery staple";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const replyTo = (id: string) => (e: PeerEvent) => e.relation?.["m.in_reply_to"]?.event_id === id;

async function until(pred: () => boolean | Promise<boolean>, ms = 15_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

synapseTest("verify from chat: an admin lists and starts, sees the emoji, only that admin confirms; a mismatch trusts nothing", async (t) => {
  const hs = requireSynapse();
  const [botU, a, b, m] = await Promise.all(["bot", "alice", "bob", "mallory"].map((p) => hs.registerUser(uniqueLocalpart(p), PASSWORD)));
  const bot = await startTestBot({ homeserver: hs.url, userId: botU!.userId, password: PASSWORD, admins: [a!.userId, b!.userId], allowed: [m!.userId] });
  const alice = await JsPeer.login(hs.url, a!.userId, PASSWORD);
  const bob = await JsPeer.login(hs.url, b!.userId, PASSWORD);
  const mallory = await JsPeer.login(hs.url, m!.userId, PASSWORD);
  const botDevice = bot.app.matrix!.client!.getDeviceId()!;
  try {
    const roomId = await alice.createRoom({ invite: [botU!.userId, b!.userId, m!.userId], encrypted: true });
    await alice.waitForJoin(roomId, botU!.userId);
    await bob.join(roomId);
    await mallory.join(roomId);
    await alice.waitForJoin(roomId, m!.userId);
    const ping = await alice.send(roomId, "!cd ping");
    await alice.waitFor(replyTo(ping), 20_000, "pong");
    const ask = async (who: JsPeer, line: string) => {
      const id = await who.send(roomId, line);
      return (await alice.waitFor(replyTo(id), 20_000, line)).content.body as string;
    };

    t.regex(await ask(mallory, "!cd verify list"), /Not allowed to use verify: only admin_users/, "admins only");
    const listed = await ask(alice, "!cd verify list");
    t.regex(listed, new RegExp(`${a!.userId.replace(/[.]/g, "\\.")} ${alice.deviceId}`));
    t.regex(listed, new RegExp(`${m!.userId.replace(/[.]/g, "\\.")} ${mallory.deviceId}`));

    const started = alice.acceptSas();
    t.regex(await ask(alice, `!cd verify start ${a!.userId} ${alice.deviceId}`), /Verification v1 requested .*only you can confirm/);
    const peer = await started;
    const emojiPost = await alice.waitFor(
      (e) => e.sender === botU!.userId && /Verification v1 with/.test(e.content.body ?? "") && /Emoji:/.test(e.content.body ?? ""),
      20_000,
      "the emoji in the room",
    );
    for (const [emoji, name] of peer.sas.sas.emoji!) t.true(emojiPost.content.body.includes(`${emoji} ${name}`), `${emoji} ${name} shown in the room`);
    t.deepEqual(emojiPost.content["m.mentions"]?.user_ids, [a!.userId], "the admin who asked is mentioned");
    const state = bot.app.store.verifications.get("v1")!;
    t.is(state.phase, "sas");
    t.deepEqual(state.decimals, peer.sas.sas.decimal);
    t.false(await alice.isVerified(botU!.userId, botDevice));
    t.false(
      (await bot.app.ops.verificationDevices({ kind: "console" }, [a!.userId])).find((d) => d.deviceId === alice.deviceId)!.verified,
      "not trusted before confirmation",
    );

    t.regex(await ask(bob, "!cd verify confirm v1"), /Only .*alice.*, who started it, can answer verification v1/, "another admin cannot confirm");
    await t.throwsAsync(bot.app.ops.confirmVerification({ kind: "console" }, "v1", true), { message: /Only .*alice.*who started it/ });
    t.regex(await ask(mallory, "!cd verify confirm v1"), /Not allowed/);
    t.regex(await ask(alice, "!cd verify confirm v1"), /Confirmed v1/);
    await peer.sas.confirm();
    await peer.done;
    await until(() => bot.app.store.verifications.get("v1")?.phase === "done", 15_000, "v1 done");
    t.true(await alice.isVerified(botU!.userId, botDevice), "alice's client now trusts the bot's device");
    t.true((await bot.app.ops.verificationDevices({ kind: "console" }, [a!.userId])).find((d) => d.deviceId === alice.deviceId)!.verified);
    await alice.waitFor((e) => e.sender === botU!.userId && /Verification v1 done/.test(e.content.body ?? ""), 20_000, "done notice");
    await until(() => (bot.app.store.rooms.get(roomId)?.trust?.verified ?? 0) === 1, 15_000, "room trust summary");
    t.deepEqual(bot.app.store.rooms.get(roomId)!.trust, { devices: 3, verified: 1 });
    const info = await ask(alice, "!cd info");
    t.regex(info, /1 of 3 member devices verified/);
    t.regex(await ask(alice, "!cd rooms"), /encrypted: yes \(1 of 3 devices verified\)/);

    // a mismatch: bob's device, reported by bob
    const started2 = bob.acceptSas();
    await ask(bob, `!cd verify start ${b!.userId} ${bob.deviceId}`);
    const peer2 = await started2;
    await until(() => bot.app.store.verifications.get("v2")?.phase === "sas", 15_000, "v2 sas");
    t.regex(await ask(bob, "!cd verify pending"), /v2: .* · sas · started by .*bob[\s\S]*Emoji: /);
    t.regex(await ask(bob, "!cd verify mismatch v2"), /Reported a mismatch for v2/);
    await t.throwsAsync(peer2.done);
    await until(() => bot.app.store.verifications.get("v2")?.phase === "mismatch", 15_000, "v2 mismatch");
    t.false(await bob.isVerified(botU!.userId, botDevice));
    t.false(
      (await bot.app.ops.verificationDevices({ kind: "console" }, [b!.userId])).find((d) => d.deviceId === bob.deviceId)!.verified,
      "a mismatch trusts nothing",
    );
    t.regex(await ask(bob, "!cd verify confirm v2"), /v2 is mismatch, not waiting for an emoji comparison/);
  } finally {
    await Promise.all([alice.stop(), bob.stop(), mallory.stop()]);
    await bot.stop();
  }
});

synapseTest("an incoming verification request: shown with emoji and numbers in the store for the console, confirmed only at the console", async (t) => {
  const hs = requireSynapse();
  const [botU, a] = await Promise.all(["bot", "alice"].map((p) => hs.registerUser(uniqueLocalpart(p), PASSWORD)));
  const bot = await startTestBot({ homeserver: hs.url, userId: botU!.userId, password: PASSWORD, admins: [a!.userId] });
  const alice = await JsPeer.login(hs.url, a!.userId, PASSWORD);
  const botDevice = bot.app.matrix!.client!.getDeviceId()!;
  try {
    // (a device is known to the other side's crypto once they share a room)
    const roomId = await alice.createRoom({ invite: [botU!.userId], encrypted: true });
    await alice.waitForJoin(roomId, botU!.userId);
    // a round trip first: then each side knows the other's device
    const ping = await alice.send(roomId, "!cd ping");
    await alice.waitFor(replyTo(ping), 20_000, "pong");
    const seen: string[] = [];
    bot.app.store.on("verification", (v) => seen.push(v.phase));
    const peer = await alice.startSas(botU!.userId, botDevice);
    await until(() => [...bot.app.store.verifications.values()].some((v) => v.phase === "sas"), 15_000, "the SAS in the store");
    const v = [...bot.app.store.verifications.values()].find((x) => x.phase === "sas")!;
    t.is(v.origin, "incoming");
    t.is(v.otherUserId, a!.userId);
    t.is(v.otherDeviceId, alice.deviceId);
    t.deepEqual(v.emoji, peer.sas.sas.emoji);
    t.deepEqual(v.decimals, peer.sas.sas.decimal);
    t.deepEqual(
      bot.app.store.activeVerifications().map((x) => x.id),
      [v.id],
    );
    await t.throwsAsync(bot.app.ops.confirmVerification({ kind: "chat", userId: a!.userId, roomId: "!x:localhost" }, v.id, true), {
      message: /Only the operator at the console/,
    });
    await bot.app.ops.confirmVerification({ kind: "console" }, v.id, true);
    await peer.sas.confirm();
    await peer.done;
    await until(() => bot.app.store.verifications.get(v.id)?.phase === "done", 15_000, "done");
    t.true(await alice.isVerified(botU!.userId, botDevice));
    t.true((await bot.app.ops.verificationDevices({ kind: "console" }, [a!.userId])).find((d) => d.deviceId === alice.deviceId)!.verified);
    t.deepEqual(
      seen.filter((p, i) => p !== seen[i - 1]),
      ["requested", "ready", "started", "sas", "confirmed", "done"],
    );
  } finally {
    await alice.stop();
    await bot.stop();
  }
});

synapseTest("incoming verification requests from users who are not allowed are refused", async (t) => {
  const hs = requireSynapse();
  const [botU, e] = await Promise.all(["bot", "eve"].map((p) => hs.registerUser(uniqueLocalpart(p), PASSWORD)));
  const [botU2, a] = [botU, await hs.registerUser(uniqueLocalpart("alice"), PASSWORD)];
  const bot = await startTestBot({ homeserver: hs.url, userId: botU2!.userId, password: PASSWORD, admins: [a.userId] });
  const eve = await JsPeer.login(hs.url, e!.userId, PASSWORD);
  const alice = await JsPeer.login(hs.url, a.userId, PASSWORD);
  try {
    const roomId = await alice.createRoom({ invite: [botU!.userId, e!.userId], encrypted: true });
    await alice.waitForJoin(roomId, botU!.userId);
    await eve.join(roomId);
    await alice.waitForJoin(roomId, e!.userId);
    const ping = await alice.send(roomId, "!cd ping");
    await alice.waitFor(replyTo(ping), 20_000, "pong");
    await eve.send(roomId, "hello");
    await sleep(500);
    const err = await t.throwsAsync(eve.startSas(botU!.userId, bot.app.matrix!.client!.getDeviceId()!, 8000));
    t.regex(err!.message, /cancelled|timed out/);
    t.is(bot.app.store.verifications.size, 0);
    t.regex(
      readFileSync(join(bot.stateDir, "bot.log"), "utf8"),
      new RegExp(`refusing a verification request from ${e!.userId.replace(/[.]/g, "\\.")}: not an allowed user`),
    );
  } finally {
    await alice.stop();
    await eve.stop();
    await bot.stop();
  }
});
