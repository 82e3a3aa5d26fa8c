// The console and a Matrix room acting on one engine at the same moment (real Synapse, our Semaphore server).
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { RawClient, isReplyTo } from "./harness/cs-client.js";
import { startTestBot } from "./harness/bot.js";
import { harness, KEY, type FakeApp } from "./console-helpers.js";
import { startSemaphoreServer } from "../src/emulator/index.js";

const PASSWORD = "console and matrix together";

synapseTest("a chat command and a console run at the same moment both land: on screen and in the room", async (t) => {
  const hs = requireSynapse();
  const sem = await startSemaphoreServer({ tickMs: 50, lineDelayMs: 10, seed: "demo", schedules: false });
  const botU = await hs.registerUser(uniqueLocalpart("bot"), PASSWORD);
  const alice = await hs.registerUser(uniqueLocalpart("alice"), PASSWORD);
  const ac = new RawClient(hs.url, alice.accessToken, alice.userId);
  const bot = await startTestBot({
    homeserver: hs.url,
    userId: botU.userId,
    password: PASSWORD,
    admins: [alice.userId],
    semaphore: { url: sem.url, token: sem.adminToken },
    // The room is made below, so it has no [room] section: let it see the projects (cards follow what a room may see).
    extra: "[bot]\ndefault_room_projects = *\n",
  });
  const app = Object.assign(bot.app, { stateDir: bot.stateDir }) as unknown as FakeApp;
  const h = await harness({ app, cols: 160, rows: 48 });
  try {
    const room = await ac.createRoom({ invite: [botU.userId], name: "ops together" });
    await ac.waitForMembership(room, botU.userId, "join");
    // The room follows project 1, so a run started at the console gets a card here too.
    const sub = await ac.send(room, "!cd subscribe Infrastructure all");
    t.regex((await ac.waitFor(room, isReplyTo(sub), 15_000, "subscribe reply")).content.body ?? "", /Subscribed:/);
    await h.until(/ops together/, 10_000);

    // Same moment: alice asks for the task list in chat while the operator runs "Deploy web" from the : bar.
    await h.keys(":", ..."run 1 1".split(""), KEY.enter);
    await h.until(/Run Deploy web/, 5000);
    const [cmd] = await Promise.all([ac.send(room, "!cd tasks"), h.keys(KEY.tab, KEY.enter)]);

    const reply = await ac.waitFor(room, isReplyTo(cmd), 15_000, "reply to !cd tasks");
    t.is(reply.sender, botU.userId);
    await h.until(/Deploy web/, 10_000);
    await h.until(
      () => [...bot.app.store.tasks.values()].some((x) => x.templateName === "Deploy web" && x.origin?.via === "console" && x.status === "success"),
      20_000,
    );
    const task = [...bot.app.store.tasks.values()].find((x) => x.origin?.via === "console")!;
    await h.until(new RegExp(`#${task.taskId}\\s+Infrastructure\\s+Deploy web`), 5000);
    // Alice's command in the console's log panel (filtered: the test bot logs at debug level).
    await h.keys("3", "/", ..."ran tasks".split(""), KEY.enter);
    await h.until(new RegExp(`${alice.userId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} ran tasks in`), 5000);
    const card = await ac.waitFor(
      room,
      (e) => e.sender === botU.userId && new RegExp(`#${task.taskId}\\b`).test(e.content.body ?? "") && /Deploy web/.test(e.content.body ?? ""),
      20_000,
      "the console run's card in the room",
    );
    t.truthy(card);
    t.log(`chat reply and console run (task #${task.taskId}) both delivered; card ${card.event_id}`);
  } finally {
    h.destroy();
    await bot.stop();
    await sem.stop();
  }
});
