// Semaphore answering badly while a task runs: a proxy's HTML 502 page, a body that is not JSON, 401 (the token was
// revoked), and replies that come only after 30 s. Each must give a clear error in the room and in the console, crash
// nothing, and tracking must recover afterwards: the running task's card ends in its final state, with every output
// line exactly once. Real Synapse, the real engine and console, our Semaphore-compatible server.
import { writeFileSync, readFileSync } from "node:fs";
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { RawClient, isReplyTo, type RawEvent } from "./harness/cs-client.js";
import { startTestBot } from "./harness/bot.js";
import { harness, KEY, type FakeApp } from "./console-helpers.js";
import { startSemaphoreServer } from "../src/emulator/index.js";

const PASSWORD = "bad replies from semaphore";
const LINES = 300;

synapseTest(
  "Semaphore replying with an HTML 502, invalid JSON, 401 or after 30 s: a clear error in the room and the console, no crash; tracking recovers",
  async (t) => {
    t.timeout(240_000);
    const hs = requireSynapse();
    const sem = await startSemaphoreServer({ tickMs: 50, lineDelayMs: 20, seed: "demo", schedules: false });
    const runner = sem.users["runner"]!;
    const token = sem.addToken(runner.id);
    // ~50 s of steady output: it runs through every fault below.
    const steady = sem.addTemplate(1, {
      name: "Steady output",
      scenario: { lines: Array.from({ length: LINES }, (_, i) => `line ${i + 1} of ${LINES}`), delayUnits: 8 },
    });
    const [botU, alice] = await Promise.all([hs.registerUser(uniqueLocalpart("bot"), PASSWORD), hs.registerUser(uniqueLocalpart("alice"), PASSWORD)]);
    const ac = new RawClient(hs.url, alice.accessToken, alice.userId);
    const bot = await startTestBot({
      homeserver: hs.url,
      userId: botU.userId,
      password: PASSWORD,
      admins: [alice.userId],
      semaphore: { url: sem.url, token },
      extra:
        "[semaphore]\npoll_interval = 1\n[bot]\n# The room is made below, so it has no [room] section: let it see the projects (cards follow what a room " +
        "may see).\ndefault_room_projects = *\n",
    });
    const app = Object.assign(bot.app, { stateDir: bot.stateDir }) as unknown as FakeApp;
    const h = await harness({ app, cols: 160, rows: 48 });
    const crashes: unknown[] = [];
    const onCrash = (e: unknown) => crashes.push(e);
    process.on("uncaughtException", onCrash);
    try {
      const room = await ac.createRoom({ invite: [botU.userId], name: "bad replies" });
      await ac.waitForMembership(room, botU.userId, "join");
      const sub = await ac.send(room, "!cd subscribe Infrastructure all");
      await ac.waitFor(room, isReplyTo(sub), 15_000, "subscribe reply");
      const task = sem.startTaskAs(1, steady.id, { userId: runner.id });
      const card = await ac.waitFor(
        room,
        (e) => e.sender === botU.userId && new RegExp(`#${task.id}\\b`).test(e.content.body ?? "") && !e.content["m.relates_to"],
        20_000,
        "the task's card",
      );

      /** Sends the command in the room and returns the reply; then types it into the console's : bar. */
      const ask = async (line: string): Promise<{ chat: string }> => {
        const id = await ac.send(room, `!cd ${line}`);
        const reply = await ac.waitFor(room, isReplyTo(id), 60_000, `reply to ${line}`);
        await h.keys(":", ...line.split(""), KEY.enter);
        return { chat: reply.content.body as string };
      };
      const consoleShows = async (re: RegExp, what: string) => {
        await h.until(re, 40_000).catch(() => {
          throw new Error(`the console did not show ${what} (${re}); screen:\n${h.text()}`);
        });
        await h.keys(KEY.esc);
      };

      // 1. A proxy's HTML 502 page, with the websocket cut (the upgrade gets the 502 too).
      sem.faults.setHtml502(true);
      sem.faults.dropWebsockets();
      let r = await ask("projects");
      t.regex(r.chat, /⚠️ projects failed: .*502/, "502: the room is told");
      t.notRegex(r.chat, /<html|<center|nginx\/1/i, "no HTML page in the room");
      await consoleShows(/projects failed: .*502/, "the 502");
      sem.faults.setHtml502(false);

      // 2. 200 with a body that is not JSON.
      sem.faults.setInvalidJson(true);
      sem.faults.dropWebsockets();
      r = await ask("projects");
      t.regex(r.chat, /⚠️ projects failed: .*(JSON|not .*API)/i, "invalid JSON: the room is told");
      t.true(r.chat.length < 400, `a short excerpt of the broken body at most, not the body (${r.chat.length} chars)`);
      await consoleShows(/projects failed: .*(JSON|not .*API)/i, "the invalid JSON");
      sem.faults.setInvalidJson(false);

      // 3. 401: the token is revoked; the operator puts a new one in the config and reloads.
      const revoke = await fetch(`${sem.url}/api/user/tokens/${token}`, { method: "DELETE", headers: { Authorization: `Bearer ${token}` } });
      t.is(revoke.status, 204, "token revoked on the server");
      sem.faults.dropWebsockets();
      r = await ask("projects");
      t.regex(r.chat, /⚠️ projects failed: .*(token|401)/i, "401: the room is told");
      t.notRegex(r.chat, new RegExp(token), "the token is not shown");
      await consoleShows(/projects failed: .*(token|401)/i, "the 401");
      const fresh = sem.addToken(runner.id);
      writeFileSync(bot.configPath, readFileSync(bot.configPath, "utf8").replace(`api_token = ${token}`, `api_token = ${fresh}`));
      const reload = bot.app.ops.reloadConfig({ kind: "console" });
      t.true(reload.ok, reload.problems.join("; "));
      r = await ask("projects");
      t.regex(r.chat, /Infrastructure/, "the new token works at once");
      await consoleShows(/Infrastructure/, "the projects again");

      // 4. Replies that come after 30 s (the client gives up after [semaphore] timeout, 15 s).
      sem.faults.setLatency(30_000);
      const slowStart = Date.now();
      r = await ask("projects");
      const waited = Date.now() - slowStart;
      t.regex(r.chat, /⚠️ projects failed: Semaphore did not answer .*within 15 s/i, "timeout: the room is told");
      await consoleShows(/did not answer/, "the timeout");
      sem.faults.setLatency(0);
      t.log(`timeout reported in the room after ${(waited / 1000).toFixed(1)} s`);

      // Tracking recovers: the card reaches the final state, and the store has every line exactly once.
      const final = await ac.waitFor(
        room,
        (e: RawEvent) =>
          e.content["m.relates_to"]?.rel_type === "m.replace" &&
          e.content["m.relates_to"]?.event_id === card.event_id &&
          /success/.test(e.content["m.new_content"]?.body ?? ""),
        120_000,
        "the card's final edit",
      );
      t.truthy(final);
      const key = `1:${task.id}`;
      await h.until(() => bot.app.store.output(key).length >= LINES, 30_000);
      const lines = bot.app.store
        .output(key)
        .map((l) => l.text)
        .filter((l) => /^line \d+ of/.test(l));
      t.is(lines.length, LINES, "every output line once");
      t.deepEqual(
        lines,
        Array.from({ length: LINES }, (_, i) => `line ${i + 1} of ${LINES}`),
        "in order, no gap, no duplicate",
      );
      t.deepEqual(crashes, [], "no crash");
      t.log(`task #${task.id} tracked through 4 faults: ${lines.length} lines, final card ${final.event_id}`);
    } finally {
      process.off("uncaughtException", onCrash);
      h.destroy();
      await bot.stop();
      await sem.stop();
    }
  },
);
