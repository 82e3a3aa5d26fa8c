// Room aliases in the config count through the homeserver's room directory (issue 12 item 4), on a real Synapse:
// a room listed only by alias accepts invites and gets its policy once resolved; an unknown alias is a warning.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { RawClient, isReplyTo } from "./harness/cs-client.js";
import { startTestBot } from "./harness/bot.js";

const PASSWORD = "correct horse battery staple";

synapseTest("a room named only by its alias in allowed_rooms and [room] is joined and gets its policy; other rooms do not", async (t) => {
  const hs = requireSynapse();
  const botU = await hs.registerUser(uniqueLocalpart("bot"), PASSWORD);
  const a = await hs.registerUser(uniqueLocalpart("alice"), PASSWORD);
  const alice = new RawClient(hs.url, a.accessToken, a.userId);
  const server = a.userId.split(":").slice(1).join(":");
  const alias = `#${uniqueLocalpart("ops")}:${server}`;
  const missing = `#${uniqueLocalpart("nowhere")}:${server}`;
  const ops = await alice.createRoom({ name: "ops by alias" });
  await alice.call("PUT", `/directory/room/${encodeURIComponent(alias)}`, { room_id: ops });
  const bot = await startTestBot({
    homeserver: hs.url,
    userId: botU.userId,
    password: PASSWORD,
    allowed: [a.userId],
    extra: `[bot]\nallowed_rooms = "${alias}, ${missing}"\n\n[room "${alias}"]\nread = *\n`,
  });
  try {
    await alice.invite(ops, botU.userId);
    await alice.waitForMembership(ops, botU.userId, "join");
    const ping = await alice.send(ops, "!cd ping");
    t.regex((await alice.waitFor(ops, isReplyTo(ping), 15_000, "pong")).content.body, /Pong/, "the alias room's policy applies");
    const other = await alice.createRoom({ invite: [botU.userId], name: "not listed" });
    await alice.waitForMembership(other, botU.userId, "leave");
    const log = readFileSync(join(bot.stateDir, "bot.log"), "utf8");
    t.true(log.includes(`room alias ${missing} in the config grants nothing`), "an alias the directory does not know is a warning");
    t.true(log.includes(`${alias} → ${ops}`));
  } finally {
    await bot.stop();
  }
});
