// Tests of the test harness itself: the shared Synapse, user registration, the nio peer,
// and a private Synapse with real rate limits (start / pause / resume / restart / stop).
import * as fs from "node:fs";
import { randomUUID } from "node:crypto";
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { NioPeer } from "./harness/nio.js";
import { startSynapse } from "./harness/synapse.js";

async function api<T = Record<string, any>>(
  base: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as T };
}

const sendText = (base: string, token: string, roomId: string, body: string) =>
  api(base, token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${randomUUID()}`, {
    msgtype: "m.text",
    body,
  });

synapseTest("versions endpoint answers", async (t) => {
  const hs = requireSynapse();
  t.is(hs.serverName, "localhost");
  const { status, json } = await api(hs.url, null, "GET", "/_matrix/client/versions");
  t.is(status, 200);
  t.true(Array.isArray(json.versions) && json.versions.length > 0);
  t.true(fs.existsSync(hs.logPath), `log at ${hs.logPath}`);
  // m.login.token via an existing session is enabled (login_via_existing_session).
  const login = await api(hs.url, null, "GET", "/_matrix/client/v3/login");
  t.true(login.json.flows.some((f: { type: string; get_login_token?: boolean }) => f.type === "m.login.token" && f.get_login_token));
});

synapseTest("registerUser gives a working token (whoami), admin flag honoured", async (t) => {
  const hs = requireSynapse();
  const user = await hs.registerUser(uniqueLocalpart("plain"), "pw-plain");
  const who = await api(hs.url, user.accessToken, "GET", "/_matrix/client/v3/account/whoami");
  t.is(who.status, 200);
  t.is(who.json.user_id, user.userId);
  t.is(who.json.device_id, user.deviceId);
  t.regex(user.userId, /^@plain-[0-9a-f]{6}-\d+:localhost$/);

  const admin = await hs.registerUser(uniqueLocalpart("admin"), "pw-admin", true);
  const asAdmin = await api(hs.url, admin.accessToken, "GET", `/_synapse/admin/v2/users/${encodeURIComponent(user.userId)}`);
  t.is(asAdmin.status, 200);
  t.false(asAdmin.json.admin);
  const asPlain = await api(hs.url, user.accessToken, "GET", `/_synapse/admin/v2/users/${encodeURIComponent(admin.userId)}`);
  t.is(asPlain.status, 403);

  // Password login works too (the bot logs in with a password).
  const login = await api(hs.url, null, "POST", "/_matrix/client/v3/login", {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: user.userId },
    password: "pw-plain",
  });
  t.is(login.status, 200);
});

synapseTest("relaxed rate limits: 40 quick messages, no 429", async (t) => {
  const hs = requireSynapse();
  const u = await hs.registerUser(uniqueLocalpart("burst"), "pw");
  const room = await api(hs.url, u.accessToken, "POST", "/_matrix/client/v3/createRoom", {});
  t.is(room.status, 200);
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => sendText(hs.url, u.accessToken, room.json.room_id, `m${i}`)));
  t.deepEqual(
    results.filter((r) => r.status !== 200).map((r) => r.json),
    [],
  );
});

synapseTest("nio peer: create room, send, receive its own echo and another user's message", async (t) => {
  const hs = requireSynapse();
  const nioLocal = uniqueLocalpart("nio");
  const nioUser = await hs.registerUser(nioLocal, "pw-nio");
  const other = await hs.registerUser(uniqueLocalpart("other"), "pw-other");
  const peer = await NioPeer.login({ homeserver: hs.url, userId: nioUser.userId, password: "pw-nio" });
  t.teardown(() => peer.quit());
  t.truthy(peer.deviceId);
  t.not(peer.deviceId, nioUser.deviceId); // password login = new device

  const roomId = await peer.createRoom({ invite: [other.userId], name: "harness" });
  t.regex(roomId, /^!/);
  const join = await api(hs.url, other.accessToken, "POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {});
  t.is(join.status, 200);
  await peer.waitForMember(roomId, other.userId);

  // nio -> server -> nio (own echo) and -> the other user (read with /messages).
  const eventId = await peer.send(roomId, "hello from nio", { formattedBody: "<b>hello</b> from nio" });
  const echo = await peer.waitFor(roomId, { sender: nioUser.userId, contains: "hello from" });
  t.is(echo.event_id, eventId);
  t.is(echo.body, "hello from nio");
  t.is(echo.msgtype, "m.text");
  t.is(echo.formatted_body, "<b>hello</b> from nio");

  let seen: Array<{ event_id: string; content: { body?: string } }> = [];
  for (let i = 0; i < 50 && !seen.some((e) => e.event_id === eventId); i++) {
    const msgs = await api<{ chunk: typeof seen }>(
      hs.url,
      other.accessToken,
      "GET",
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=20`,
    );
    t.is(msgs.status, 200);
    seen = msgs.json.chunk;
    if (!seen.some((e) => e.event_id === eventId)) await new Promise((r) => setTimeout(r, 100));
  }
  t.is(seen.find((e) => e.event_id === eventId)?.content.body, "hello from nio");

  // other user -> nio, as a reply (m.relates_to comes back).
  const reply = await api(hs.url, other.accessToken, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${randomUUID()}`, {
    msgtype: "m.notice",
    body: "pong",
    "m.relates_to": { "m.in_reply_to": { event_id: eventId } },
  });
  t.is(reply.status, 200);
  const got = await peer.waitFor(roomId, { sender: other.userId, timeoutMs: 10_000 });
  t.is(got.event_id, reply.json.event_id);
  t.is(got.body, "pong");
  t.is(got.msgtype, "m.notice");
  t.deepEqual(got.relates_to, { "m.in_reply_to": { event_id: eventId } });
  t.false(got.decrypted);
  // consumed: the same event is not returned twice
  await t.throwsAsync(peer.waitFor(roomId, { sender: other.userId, timeoutMs: 300 }), { message: /timeout/ });
});

synapseTest("nio peers: encrypted room round trip (libolm)", async (t) => {
  const hs = requireSynapse();
  const a = await hs.registerUser(uniqueLocalpart("enca"), "pw");
  const b = await hs.registerUser(uniqueLocalpart("encb"), "pw");
  const pa = await NioPeer.login({ homeserver: hs.url, userId: a.userId, password: "pw", encryption: true });
  t.teardown(() => pa.quit());
  const pb = await NioPeer.login({ homeserver: hs.url, userId: b.userId, password: "pw", encryption: true });
  t.teardown(() => pb.quit());
  const roomId = await pa.createRoom({ invite: [b.userId], encrypted: true });
  await pb.join(roomId);
  await pa.waitForMember(roomId, b.userId);
  await pa.send(roomId, "secret hello");
  const got = await pb.waitFor(roomId, { sender: a.userId, contains: "secret" });
  t.true(got.decrypted);
  t.is(got.body, "secret hello");
  await pb.send(roomId, "secret reply");
  const back = await pa.waitFor(roomId, { sender: b.userId });
  t.true(back.decrypted);
  t.is(back.body, "secret reply");
  t.is((await pa.stats()).undecryptable, 0);
  t.is((await pb.stats()).undecryptable, 0);
});

synapseTest("private Synapse: real rate limits, pause/resume, restart keeps data, stop cleans up", async (t) => {
  const t0 = Date.now();
  const hs = await startSynapse({ realRateLimits: true });
  t.log(`private Synapse started in ${Date.now() - t0} ms on ${hs.url}`);
  t.teardown(() => hs.stop());
  t.true(hs.owned);
  const u = await hs.registerUser(uniqueLocalpart("rl"), "pw");
  const room = await api(hs.url, u.accessToken, "POST", "/_matrix/client/v3/createRoom", {});
  t.is(room.status, 200);

  // Defaults (rc_message: 0.2/s, burst 10): a quick burst must hit M_LIMIT_EXCEEDED.
  const statuses: Array<{ status: number; json: Record<string, any> }> = [];
  for (let i = 0; i < 20 && !statuses.some((r) => r.status === 429); i++) {
    statuses.push(await sendText(hs.url, u.accessToken, room.json.room_id, `m${i}`));
  }
  const limited = statuses.filter((r) => r.status === 429);
  t.true(limited.length > 0, `statuses: ${statuses.map((r) => r.status).join(",")}`);
  t.is(limited[0]!.json.errcode, "M_LIMIT_EXCEEDED");

  // pause: requests hang; resume: they complete.
  hs.pause();
  const pending = fetch(`${hs.url}/_matrix/client/versions`);
  const raced = await Promise.race([pending.then(() => "answered"), new Promise((r) => setTimeout(() => r("hung"), 700))]);
  t.is(raced, "hung");
  hs.resume();
  t.is((await pending).status, 200);

  // restart: same port, same data (the token still works), new pid.
  const pid = hs.pid;
  await hs.restart();
  t.not(hs.pid, pid);
  const who = await api(hs.url, u.accessToken, "GET", "/_matrix/client/v3/account/whoami");
  t.is(who.json.user_id, u.userId);

  const dataDir = hs.dataDir;
  const lastPid = hs.pid;
  await hs.stop();
  t.false(fs.existsSync(dataDir));
  t.throws(() => process.kill(lastPid, 0));
  const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
  t.false(mounts.includes("chatrixcd"), "no chroot mount visible on the host");
});
