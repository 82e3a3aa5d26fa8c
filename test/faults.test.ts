// Fault tests: the homeserver frozen (SIGSTOP for 30 s) or restarted, Semaphore down or its websocket cut for 30 s,
// the bot SIGKILLed with five tasks running, and Synapse's default message rate limits with twenty cards updating.
// Each scenario has its own Synapse (never the runner's shared one) and they run concurrently. The figures each
// prints (events counted, edits per card, time to recover) are in the t.log lines.
import type { ExecutionContext } from "ava";
import { join } from "node:path";
import { synapseTest } from "./harness/integration.js";
import { isReplyTo } from "./harness/cs-client.js";
import {
  faultRig,
  ownSynapse,
  runFromChat,
  roomEvents,
  botView,
  semaphoreOutput,
  threadText,
  maxEdits,
  minEditGap,
  script,
  startCliBot,
  freePort,
  waitUntil,
  sleep,
  readText,
  START_ROUTE,
  type Rig,
  type BotView,
  type CardView,
} from "./helpers-faults/rig.js";

const PAUSE_MS = 30_000;

/** Everything a settled card must satisfy: final status as Semaphore has it, that final state edited in once and
 *  last, edits throttled, the thread holding the task's output exactly (no line lost or repeated). */
async function checkCard(t: ExecutionContext, r: Rig, c: CardView, o: { thread?: boolean } = {}): Promise<void> {
  const want = r.server.getTask(c.taskId)!.status;
  t.is(c.status, want, `card of task ${c.taskId} shows its final status`);
  // The final state goes out at once, not throttled (issue 15); a second final edit only when Semaphore's later
  // update (the end time) changes the text.
  const firstFinal = c.edits.findIndex((e) => e.event_id === c.finalEdits[0]?.event_id);
  t.true(
    c.finalEdits.length >= 1 && c.finalEdits.length <= 2,
    `task ${c.taskId}: the final state is edited in ${c.finalEdits.length}× (want once, or twice with the end time)`,
  );
  t.deepEqual(
    c.edits.slice(firstFinal).map((e) => e.event_id),
    c.finalEdits.map((e) => e.event_id),
    `task ${c.taskId}: nothing after the final state`,
  );
  const span = (c.edits.at(-1)?.origin_server_ts ?? c.card.origin_server_ts) - c.card.origin_server_ts;
  t.true(c.edits.length <= maxEdits(span) + 1, `task ${c.taskId}: ${c.edits.length} edits in ${span} ms`);
  const intermediate = { ...c, edits: c.edits.slice(0, firstFinal) };
  t.true(minEditGap(intermediate) >= 1500, `task ${c.taskId}: intermediate edits ${minEditGap(intermediate)} ms apart`);
  if (o.thread !== false) t.is(threadText(c), await semaphoreOutput(r.server, c.taskId), `task ${c.taskId}: thread = output`);
}

const editsPerCard = (v: BotView) => v.cards.map((c) => `#${c.taskId}:${c.edits.length}`).join(" ");

/** Is every card final, with its thread complete? (polled until true; `why` says what is missing) */
async function settled(r: Rig, taskIds: number[], o: { thread?: boolean; mentions?: number; why: { text: string } }): Promise<BotView | false> {
  const no = (why: string) => {
    o.why.text = why;
    return false as const;
  };
  for (const id of taskIds)
    if (!["success", "error", "stopped"].includes(r.server.getTask(id)?.status ?? "")) return no(`task ${id} is ${r.server.getTask(id)?.status} on the server`);
  const v = botView(await roomEvents(r.bob, r.room), r.botUserId);
  for (const id of taskIds) {
    const c = v.cards.find((x) => x.taskId === id);
    if (!c) return no(`no card for task ${id}`);
    if (c.status !== r.server.getTask(id)!.status) return no(`card of task ${id} shows ${c.status}`);
    const want = o.thread === false ? "" : await semaphoreOutput(r.server, id);
    if (o.thread !== false && threadText(c) !== want)
      return no(`thread of task ${id}: ${threadText(c).split("\n").length} lines, want ${want.split("\n").length}:\n${threadText(c)}\n---- want\n${want}`);
  }
  const mentions = v.cards.reduce((n, c) => n + c.mentions.length, 0);
  if (o.mentions !== undefined && mentions < o.mentions) return no(`${mentions} mentions`);
  o.why.text = "";
  return v;
}

// ---- the homeserver frozen or restarted while a task runs ------------------------------------------------------------

async function homeserverFault(t: ExecutionContext, kind: "pause" | "restart"): Promise<void> {
  t.timeout(240_000);
  const t0 = Date.now();
  const r = await faultRig((fn) => t.teardown(fn));
  const setupMs = Date.now() - t0;
  // A (started last) fails while the homeserver is frozen; B succeeds after it is back.
  const a = r.server.addTemplate(1, { name: "Quick fail", scenario: script("quick", 12, 1000, 2) });
  const b = r.server.addTemplate(1, { name: "Long deploy", scenario: script("long", 48, 1000) });
  const runB = await runFromChat(r, `!cd run 1 ${b.id}`);
  const runA = await runFromChat(r, `!cd run 1 ${a.id}`);
  await waitUntil("both tasks to run", () => [runA.taskId, runB.taskId].every((id) => r.server.getTask(id)?.status === "running"), 10_000, 100);
  await sleep(2000);

  // The command sent just before the homeserver goes away.
  const ping = await r.alice.send(r.room, "!cd ping");
  const down = Date.now();
  if (kind === "pause") {
    r.hs.pause();
    await sleep(PAUSE_MS);
    r.hs.resume();
  } else {
    await r.hs.restart();
  }
  const back = Date.now();
  const atBack = [runA.taskId, runB.taskId].map((id) => r.server.getTask(id)!.status);

  const why = { text: "" };
  const v = await waitUntil(
    "every card final, threads complete, the ping answered",
    async () => {
      const s = await settled(r, [runA.taskId, runB.taskId], { mentions: 1, why });
      if (s && !s.bot.some((e) => isReplyTo(ping)(e))) why.text = "the ping is not answered";
      return s && s.bot.some((e) => isReplyTo(ping)(e)) ? s : false;
    },
    120_000,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}: ${why.text}`);
  });
  const settledMs = Date.now() - back;
  await sleep(4000); // anything late (a retried duplicate) would show up now
  const end = botView(await roomEvents(r.bob, r.room), r.botUserId);
  const pong = end.bot.find((e) => isReplyTo(ping)(e));
  t.log(
    `${kind}: setup ${setupMs} ms, homeserver away ${back - down} ms; the ping was answered ${pong ? pong.origin_server_ts - back : "?"} ms after it was ` +
      `back, everything final ${settledMs} ms after`,
  );
  t.log(
    `${kind}: ${end.bot.length} bot events (${end.cards.length} cards, edits per card ${editsPerCard(end)}, ` +
      `${end.cards.map((c) => c.thread.length).join("+")} thread messages)`,
  );

  if (kind === "pause") t.deepEqual(atBack, ["error", "running"], "A ended while the homeserver was frozen, B ran on");
  else t.is(atBack[1], "running", "B ran on");
  t.is(end.bot.length, v.bot.length, "nothing more arrived after the state settled");
  t.deepEqual(
    end.duplicates.map((e) => e.content.body),
    [],
    "no event sent twice",
  );
  t.is(end.bot.filter((e) => isReplyTo(ping)(e)).length, 1, "the ping sent before the fault is answered exactly once");
  t.regex(end.bot.find((e) => isReplyTo(ping)(e))!.content.body, /Pong/);
  for (const run of [runA, runB]) {
    t.is(end.bot.filter((e) => isReplyTo(run.cmd)(e)).length, 1, "one prompt per run");
    t.is(end.bot.filter((e) => isReplyTo(run.yes)(e)).length, 1, "one card per run");
  }
  t.deepEqual(end.cards.map((c) => c.taskId).sort(), [runA.taskId, runB.taskId].sort(), "no other card");
  for (const c of end.cards) await checkCard(t, r, c);
  const cardA = end.cards.find((c) => c.taskId === runA.taskId)!;
  t.is(cardA.status, "error");
  t.is(cardA.mentions.length, 1, "the failure mentions alice once");
  t.is(end.cards.find((c) => c.taskId === runB.taskId)!.mentions.length, 0);
  for (const id of [runA.taskId, runB.taskId]) t.deepEqual(r.seen.get(id), r.truth.get(id), `task ${id}: every transition seen once, in order`);
}

synapseTest("homeserver frozen (SIGSTOP 30 s) while a task runs: nothing lost, nothing doubled, cards final", (t) => homeserverFault(t, "pause"));
synapseTest("homeserver restarted while a task runs: nothing lost, nothing doubled, cards final", (t) => homeserverFault(t, "restart"));

// ---- Semaphore down, or its websocket cut, for 30 s while tasks run -----------------------------------------------

async function semaphoreFault(t: ExecutionContext, r: Rig, kind: "outage" | "websocket"): Promise<void> {
  // Two tasks end while Semaphore is away (one fails), two after it is back (one fails).
  // Started last, so they run on into the fault whatever the set-up took.
  const early = [
    r.server.addTemplate(1, { name: "Early ok", scenario: script("early", 16, 1000) }),
    r.server.addTemplate(1, { name: "Early fail", scenario: script("efail", 14, 1000, 2) }),
  ];
  const late = [
    r.server.addTemplate(1, { name: "Late ok", scenario: script("late", 52, 1000) }),
    r.server.addTemplate(1, { name: "Late fail", scenario: script("lfail", 50, 1000, 3) }),
  ];
  const runs = [];
  for (const tpl of [...late, ...early]) runs.push(await runFromChat(r, `!cd run 1 ${tpl.id}`));
  const ids = runs.map((x) => x.taskId);
  await waitUntil("every task to run", () => ids.every((id) => r.server.getTask(id)?.status === "running"), 10_000, 100);
  const tracker = r.bot!.app.ops.tracker!;
  const down = Date.now();
  if (kind === "outage") {
    await r.server.outage();
    await sleep(PAUSE_MS);
    await r.server.restart();
  } else {
    r.server.faults.refuseWebsocket(503);
    r.server.faults.dropWebsockets();
    await sleep(PAUSE_MS);
    r.server.faults.refuseWebsocket(null);
  }
  const back = Date.now();
  const atBack = ids.map((id) => r.server.getTask(id)!.status);
  const why = { text: "" };
  const v = await waitUntil(`${kind}: every card final with its thread and mention`, () => settled(r, ids, { mentions: 2, why }), 120_000).catch((e) => {
    throw new Error(`${(e as Error).message}: ${why.text}`);
  });
  const recoverMs = Date.now() - back;
  await sleep(4000);
  const end = botView(await roomEvents(r.bob, r.room), r.botUserId);
  t.log(
    `${kind}: Semaphore away ${back - down} ms (tasks ${atBack.join("/")} when it was back); all cards final ${recoverMs} ms after it was back; tracker ` +
      `${tracker.mode}, ${tracker.stats.wsConnects} websocket connects, ${tracker.stats.polls} polls, ${tracker.stats.reconciles} reconciles`,
  );
  t.log(
    `${kind}: ${end.bot.length} bot events (${end.cards.length} cards, edits per card ${editsPerCard(end)}, ` +
      `${end.cards.reduce((n, c) => n + c.mentions.length, 0)} mentions)`,
  );
  t.deepEqual(atBack, ["running", "running", "success", "error"], "the early tasks ended during the fault, the late ones ran on");
  t.is(end.bot.length, v.bot.length, "nothing more arrived after the state settled");
  t.deepEqual(
    end.duplicates.map((e) => e.content.body),
    [],
    "no event sent twice",
  );
  t.deepEqual(end.cards.map((c) => c.taskId).sort(), [...ids].sort(), "one card per task, no other");
  for (const run of runs) t.is(end.bot.filter((e) => isReplyTo(run.yes)(e)).length, 1, "one card per run");
  for (const c of end.cards) {
    await checkCard(t, r, c);
    t.is(c.mentions.length, c.status === "error" ? 1 : 0, `task ${c.taskId} (${c.status}): failure mentions`);
  }
  for (const id of ids) t.deepEqual(r.seen.get(id), r.truth.get(id), `task ${id}: every transition seen once, in order`);
}

synapseTest("Semaphore down 30 s, and its websocket cut 30 s, while tasks run: no transition missed, each notification once", async (t) => {
  t.timeout(240_000);
  const hs = await ownSynapse((fn) => t.teardown(fn));
  const [outage, ws] = await Promise.all([faultRig((fn) => t.teardown(fn), { hs }), faultRig((fn) => t.teardown(fn), { hs })]);
  await Promise.all([semaphoreFault(t, outage, "outage"), semaphoreFault(t, ws, "websocket")]);
});

// ---- the bot SIGKILLed with five tasks running, then started again ---------------------------------------------------

synapseTest("bot SIGKILLed with 5 tasks running, started again: the same 5 cards resume and end final, nothing re-run", async (t) => {
  t.timeout(240_000);
  const r = await faultRig((fn) => t.teardown(fn), { cli: true });
  const bots: Array<Awaited<ReturnType<typeof startCliBot>>> = [];
  t.teardown(async () => {
    for (const b of bots) await b.kill("SIGTERM");
  });
  bots.push(await startCliBot(r.configPath, join(r.stateDir, "stdout-1.log")));
  await r.alice.waitForMembership(r.room, r.botUserId, "join", 30_000);
  // Three run on after the restart; the two started last end while the bot is dead (one fails: its mention can only
  // come from the restarted bot).
  const tpls = [
    ...[1, 2, 3].map((n) => r.server.addTemplate(1, { name: `Kill long ${n}`, scenario: script(`k${n}`, 40, 1000) })),
    r.server.addTemplate(1, { name: "Kill ok", scenario: script("k4", 8, 1000) }),
    r.server.addTemplate(1, { name: "Kill fail", scenario: script("k5", 8, 1000, 2) }),
  ];
  const runs = [];
  for (const tpl of tpls) runs.push(await runFromChat(r, `!cd run 1 ${tpl.id}`));
  const ids = runs.map((x) => x.taskId);
  await waitUntil("every task to run", () => ids.every((id) => r.server.getTask(id)?.status === "running"), 10_000, 100);
  await sleep(2500);
  const startsBefore = r.server.stats().requestsByRoute[START_ROUTE];
  const before = botView(await roomEvents(r.bob, r.room), r.botUserId);
  const atKill = ids.map((id) => r.server.getTask(id)!.status);
  await bots[0]!.kill("SIGKILL");
  const killedAt = Date.now();
  await sleep(10_000);
  const atRestart = ids.map((id) => r.server.getTask(id)!.status);
  const restartedAt = Date.now();
  bots.push(await startCliBot(r.configPath, join(r.stateDir, "stdout-2.log")));
  const upMs = Date.now() - restartedAt;
  const why = { text: "" };
  const v = await waitUntil("every card final with its thread and mention", () => settled(r, ids, { mentions: 1, why }), 120_000).catch((e) => {
    throw new Error(`${(e as Error).message}: ${why.text}`);
  });
  const recoverMs = Date.now() - restartedAt;
  await sleep(4000);
  const end = botView(await roomEvents(r.bob, r.room), r.botUserId);
  const resumedEdits = end.cards.map((c) => c.edits.filter((e) => e.origin_server_ts > killedAt).length);
  t.log(`sigkill: dead ${restartedAt - killedAt} ms; the new process ran headless after ${upMs} ms; all cards final ${recoverMs} ms after the restart`);
  t.log(
    `sigkill: ${end.bot.length} bot events (${before.bot.length} before the kill), edits per card ${editsPerCard(end)}, edits after the restart ` +
      `${resumedEdits.join("/")}, ${r.server.stats().requestsByRoute[START_ROUTE]} start requests`,
  );
  t.deepEqual(atKill, ["running", "running", "running", "running", "running"], "killed while all five ran");
  t.deepEqual(atRestart, ["running", "running", "running", "success", "error"], "two ended while the bot was dead");
  t.is(startsBefore, 5);
  t.is(r.server.stats().requestsByRoute[START_ROUTE], 5, "Semaphore got no second start");
  t.is(end.bot.length, v.bot.length, "nothing more arrived after the state settled");
  t.deepEqual(
    end.duplicates.map((e) => e.content.body),
    [],
    "no event sent twice",
  );
  t.deepEqual(
    end.cards.map((c) => c.card.event_id),
    runs.map((x) => x.card.event_id),
    "the same five cards, no new one",
  );
  for (const run of runs) {
    t.is(end.bot.filter((e) => isReplyTo(run.cmd)(e)).length, 1, "no command answered again");
    t.is(end.bot.filter((e) => isReplyTo(run.yes)(e)).length, 1, "no confirmation acted on again");
  }
  for (const [i, c] of end.cards.entries()) {
    await checkCard(t, r, c);
    t.true(resumedEdits[i]! >= 1, `card of task ${c.taskId} edited by the restarted bot`);
    t.is(c.mentions.length, c.status === "error" ? 1 : 0, `task ${c.taskId} (${c.status}): failure mentions`);
  }
  t.regex(bots[1]!.output(), /resuming tracking of 5 task\(s\)/);
});

// ---- Synapse's default message rate limits, twenty cards updating -----------------------------------------------------

synapseTest("Synapse's default rate limits with 20 cards updating: nothing lost, edits coalesced, M_LIMIT_EXCEEDED retried", async (t) => {
  t.timeout(330_000);
  const port = await freePort();
  const r = await faultRig((fn) => t.teardown(fn), {
    realRateLimits: true,
    cli: true,
    ini: `[bot]\nhttp_listen = 127.0.0.1:${port}\ntask_output_threads = false\n`,
  });
  const bots: Array<Awaited<ReturnType<typeof startCliBot>>> = [];
  t.teardown(async () => {
    for (const b of bots) await b.kill("SIGTERM");
  });
  bots.push(await startCliBot(r.configPath, join(r.stateDir, "stdout.log")));
  await r.alice.waitForMembership(r.room, r.botUserId, "join", 60_000);
  const sub = await r.alice.send(r.room, "!cd subscribe Infrastructure all");
  await r.bob.waitFor(r.room, (e) => e.sender === r.botUserId && isReplyTo(sub)(e), 30_000, "the subscription's answer");
  // Semaphore runs 10 tasks at a time (and one per template): the second ten wait, then run. Every card is posted
  // before its task ends (the bot may post one message per 5 s after a burst of 10) and is then edited.
  const tpls = Array.from({ length: 20 }, (_, i) =>
    r.server.addTemplate(1, { name: `Burst ${i + 1}`, scenario: i % 4 === 3 ? script(`b${i}`, 36, 1000, 2) : script(`b${i}`, 38, 1000) }),
  );
  const t0 = Date.now();
  const ids = tpls.map((tpl) => r.server.startTaskAs(1, tpl.id, { userId: r.server.users["owner"]!.id }).id);
  const why = { text: "" };
  const v = await waitUntil("all 20 cards final", () => settled(r, ids, { thread: false, why }), 280_000, 2000).catch((e) => {
    throw new Error(`${(e as Error).message}: ${why.text}`);
  });
  const doneMs = Date.now() - t0;
  await sleep(6000); // longer than one rate-limit slot: a late edit would show
  const end = botView(await roomEvents(r.bob, r.room), r.botUserId);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const metric = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? NaN);
  const limited = metric(/^chatrixcd_matrix_send_retries_total\{reason="rate_limited"\} (\d+)/m);
  const sent = metric(/^chatrixcd_matrix_messages_sent_total (\d+)/m);
  const log = readText(join(r.stateDir, "bot.log"));
  t.log(
    `rate limits: 20 cards final after ${doneMs} ms; ${end.bot.length} bot events (${sent} counted sent), ${limited} M_LIMIT_EXCEEDED retries; edits per ` +
      `card ${editsPerCard(end)}`,
  );
  t.is(end.bot.length, v.bot.length, "nothing more arrived after the state settled");
  t.deepEqual(
    end.duplicates.map((e) => e.content.body),
    [],
    "no event sent twice",
  );
  t.deepEqual(
    end.cards.map((c) => c.taskId).sort((a, b) => a - b),
    [...ids].sort((a, b) => a - b),
    "one card per task",
  );
  for (const c of end.cards) {
    await checkCard(t, r, c, { thread: false });
    t.true(c.edits.length >= 1, `card of task ${c.taskId} updated`);
  }
  t.true(limited > 0, "the homeserver's M_LIMIT_EXCEEDED was met and retried");
  t.is(sent, end.bot.length, "every message the bot counted as sent is in the room, and nothing else");
  t.notRegex(log, /failed for good/, "no message given up");
});
