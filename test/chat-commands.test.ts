// The chat front end against a real Synapse and the Semaphore-compatible server: confirmations by reply and by
// reaction, status cards edited in place (observed by another member), threads, approvals, permission refusals,
// injection, alias hot reload, and two rooms at once with one waiting on a slow server.
import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { synapseTest } from "./harness/integration.js";
import { isReplyTo, type RawEvent } from "./harness/cs-client.js";
import { chatFixture, allEvents, react, isEditOf, inThreadOf, currentBody } from "./helpers-chat/chat.js";
import { startSlowProxy } from "./helpers-chat/slow-proxy.js";
import { startSemaphoreServer } from "../src/emulator/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A status card: the bot's notice replying to a command or answer (not an edit, not in a thread). */
const isCard = (bot: string, re: RegExp) => (e: RawEvent) =>
  e.sender === bot &&
  e.type === "m.room.message" &&
  !!e.content["m.relates_to"]?.["m.in_reply_to"] &&
  !e.content["m.relates_to"]?.rel_type &&
  re.test(e.content.body ?? "");

const policy = (ids: { alice: string; bob: string; carol: string; rooms: string[] }) => `
[bot]
confirm_timeout = 60

[room "${ids.rooms[0]}"]
run = ${ids.alice}, ${ids.bob}
stop = ${ids.alice}
approve = ${ids.bob}, ${ids.carol}
`;

synapseTest("run confirmed by a reply: the card is one notice edited in place (throttled), output in its thread", async (t) => {
  const f = await chatFixture({ ini: policy });
  const [room] = f.rooms as [string];
  try {
    f.server.addTemplate(1, {
      name: "Slow rollout",
      allowOverrideArgsInTask: true,
      scenario: {
        lines: Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? `TASK [step ${i / 2}] ****` : `\x1b[0;33mchanged: [web${i}]\x1b[0m`)),
        delayUnits: 60,
      },
    });
    const cmd = await f.alice.send(room, "!cd run 1 Slow --tags web");
    const prompt = await f.bob.waitFor(room, isReplyTo(cmd), 15_000, "prompt");
    t.regex(prompt.content.body, /⚠️ Run Slow rollout \(template \d+\) in Infrastructure \(project 1\) with tags web\?/);
    t.is(prompt.content.msgtype, "m.notice");
    // an unrelated message and another command do not cancel the pending confirmation
    await f.alice.send(room, "let me check something first");
    const ping = await f.alice.send(room, "!cd ping");
    await f.bob.waitFor(room, isReplyTo(ping), 15_000, "pong while a prompt is pending");
    const yes = await f.alice.send(room, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: prompt.event_id } } });
    const card = await f.bob.waitFor(room, (e) => e.sender === f.botUserId && isReplyTo(yes)(e), 15_000, "card");
    t.regex(card.content.body, /Slow rollout #\d+/);
    t.deepEqual(card.content["m.mentions"], {});
    const final = await f.bob.waitFor(
      room,
      (e) => isEditOf(card.event_id)(e) && /: success/.test(e.content["m.new_content"]?.body ?? ""),
      40_000,
      "final edit",
    );
    await sleep(3500);
    const events = await allEvents(f.bob, room);
    const edits = events.filter(isEditOf(card.event_id));
    const span = (final.origin_server_ts - card.origin_server_ts) / 1000;
    t.log(`${edits.length} edits over ${span.toFixed(1)} s`);
    t.true(edits.length >= 2, "the card moved through states");
    // The throttle spaces the intermediate states; the final state goes out at once (issue 15), then at most one more
    // edit when Semaphore's second update brings the end time.
    const fi = edits.findIndex((e) => e.event_id === final.event_id);
    t.true(fi <= Math.ceil(span / 2) + 1, `${fi} intermediate edits in ${span} s exceeds one per 2 s`);
    for (let i = 1; i < fi; i++) t.true(edits[i]!.origin_server_ts - edits[i - 1]!.origin_server_ts >= 1900, "intermediate edits at least 2 s apart");
    t.true(edits.length - fi <= 2, `${edits.length - fi} edits from the final state on`);
    const now = currentBody(events, card.event_id);
    t.regex(now.body, /✅ Slow rollout #\d+: success\nInfrastructure · started by .* · took \d+s\nParameters: tags web/);
    t.regex(now.html!, /href="http:\/\/127\.0\.0\.1:\d+\/project\/1\/history\?t=\d+"/);
    t.true(
      edits.slice(fi).every((e) => /: success/.test(e.content["m.new_content"]?.body ?? "")),
      "nothing but the final state after it",
    );
    const thread = events.filter(inThreadOf(card.event_id));
    t.true(thread.length >= 2, "output arrives in batches");
    t.true(thread.length < 24, "batched, not one message per line");
    const text = thread.map((e) => e.content.body).join("\n");
    for (let i = 0; i < 12; i++) t.true(text.includes(`TASK [step ${i}]`), `step ${i} in the thread`);
    t.true(thread.every((e) => e.content.msgtype === "m.notice" && e.content.formatted_body.startsWith("<pre><code>")));
    t.regex(thread.map((e) => e.content.formatted_body).join(""), /<span data-mx-color="#c4a000">changed: \[web1\]<\/span>/);
    t.false(
      events.some((e) => e.sender === f.botUserId && /cancel/i.test(e.content.body ?? "") && !isEditOf(prompt.event_id)(e)),
      "nothing was cancelled",
    );
    t.regex(currentBody(events, prompt.event_id).body, /✅ Confirmed by @alice/);
    const audit = readFileSync(join(f.bot.stateDir, "audit.jsonl"), "utf8");
    t.regex(audit, new RegExp(`"who":"${f.alice.userId}","where":"${room.replace(/[!.]/g, "\\$&")}","action":"run".*"outcome":"ok"`));
  } finally {
    await f.close();
  }
});

synapseTest("confirmation by 👍 reaction; 👎 cancels; someone else's reaction does not count", async (t) => {
  const f = await chatFixture({ ini: policy });
  const [room] = f.rooms as [string];
  try {
    const cmd = await f.alice.send(room, "!cd run 1 Deploy");
    const prompt = await f.bob.waitFor(room, isReplyTo(cmd), 15_000, "prompt");
    await react(f.bob, room, prompt.event_id, "👍");
    await f.bob.waitFor(
      room,
      (e) => e.sender === f.botUserId && /Only .*alice.*, who asked, can answer/.test(e.content.body ?? ""),
      15_000,
      "pointer to the requester",
    );
    await react(f.alice, room, prompt.event_id, "👍️");
    const card = await f.bob.waitFor(room, isCard(f.botUserId, /Deploy web #\d+: /), 15_000, "card");
    await f.bob.waitFor(room, (e) => isEditOf(card.event_id)(e) && /success/.test(e.content["m.new_content"].body), 30_000, "success");
    const cmd2 = await f.alice.send(room, "!cd run 1 Deploy");
    const prompt2 = await f.bob.waitFor(room, isReplyTo(cmd2), 15_000, "second prompt");
    await react(f.alice, room, prompt2.event_id, "👎");
    await f.bob.waitFor(room, (e) => isEditOf(prompt2.event_id)(e) && /Cancelled by/.test(e.content["m.new_content"].body), 15_000, "cancelled");
    await sleep(1000);
    const cards = (await allEvents(f.bob, room)).filter(isCard(f.botUserId, /Deploy web #\d+: /));
    t.is(cards.length, 1, "only the confirmed run started");
  } finally {
    await f.close();
  }
});

synapseTest("approval quorum in chat: approvers are mentioned, self-approval refused, 👍 and approve count, card shows 1/2", async (t) => {
  const f = await chatFixture({
    ini: (ids) => `${policy(ids)}\n[template "Infrastructure/Deploy web"]\napprovals_required = 2\napprovers = ${ids.alice}, ${ids.bob}, ${ids.carol}\n`,
  });
  const [room] = f.rooms as [string];
  try {
    const cmd = await f.alice.send(room, "!cd run 1 Deploy");
    const prompt = await f.bob.waitFor(room, isReplyTo(cmd), 15_000, "prompt");
    t.regex(prompt.content.body, /needs 2 approvals/);
    const yes = await f.alice.send(room, "yes");
    const card = await f.bob.waitFor(room, (e) => e.sender === f.botUserId && isReplyTo(yes)(e), 15_000, "approval card");
    t.regex(card.content.body, /🗳️ Deploy web \(request r1\): waiting for approval \(0\/2 approvals\)/);
    t.deepEqual(card.content["m.mentions"].user_ids.sort(), [f.bob.userId, f.carol.userId].sort());
    await react(f.alice, room, card.event_id, "👍");
    await f.bob.waitFor(
      room,
      (e) => e.sender === f.botUserId && /nobody may approve their own run/.test(e.content.body ?? ""),
      15_000,
      "self-approval refused",
    );
    await react(f.bob, room, card.event_id, "👍");
    await f.bob.waitFor(
      room,
      (e) => isEditOf(card.event_id)(e) && /1\/2 approvals[\s\S]*waiting on .*carol/.test(e.content["m.new_content"].body),
      15_000,
      "1/2 on the card",
    );
    const ap = await f.carol.send(room, "!cd approve r1");
    const done = await f.bob.waitFor(room, isReplyTo(ap), 15_000, "approve reply");
    t.regex(done.content.body, /Approved r1 \(2\/2\); Deploy web started as task \d+/);
    await f.bob.waitFor(
      room,
      (e) => isEditOf(card.event_id)(e) && /✅ Deploy web #\d+: success/.test(e.content["m.new_content"].body),
      30_000,
      "the same card follows the task",
    );
    const audit = readFileSync(join(f.bot.stateDir, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const run = audit.find((r) => r.action === "run" && r.outcome === "ok");
    t.deepEqual(run.approvals, [f.bob.userId, f.carol.userId]);
    t.true(audit.some((r) => r.action === "approve" && r.outcome === "refused" && r.who === f.alice.userId));
  } finally {
    await f.close();
  }
});

synapseTest("permission refusals say why; failures mention the initiator; a subscribed room gets a card for a run started in Semaphore", async (t) => {
  const f = await chatFixture({ rooms: 2, ini: policy });
  const [room, other] = f.rooms as [string, string];
  try {
    const c1 = await f.carol.send(room, "!cd run 1 Deploy");
    t.regex((await f.bob.waitFor(room, isReplyTo(c1), 15_000, "refusal")).content.body, /🚫 Not allowed to use run: .*carol.* is not in run for this room/);
    const c2 = await f.alice.send(other, "!cd run 1 Deploy");
    t.regex(
      (await f.bob.waitFor(other, isReplyTo(c2), 15_000, "refusal")).content.body,
      /this room has no \[room ".*"\] section, so only read-only commands are allowed here/,
    );
    const c3 = await f.alice.send(other, "!cd projects");
    // Read-only works there, but a room without a section sees no project unless default_room_projects grants it.
    t.regex((await f.bob.waitFor(other, isReplyTo(c3), 15_000, "read-only ok")).content.body, /No projects are visible here.*default_room_projects/s);
    const sub = await f.bob.send(room, "!cd subscribe 1 failures");
    t.regex((await f.bob.waitFor(room, isReplyTo(sub), 15_000, "subscribed")).content.body, /cards for failed runs only/);
    // a failing run from chat mentions its initiator
    const cmd = await f.alice.send(room, "!cd run 1 Run");
    const prompt = await f.bob.waitFor(room, isReplyTo(cmd), 15_000, "prompt");
    await f.alice.send(room, "y");
    const card = await f.bob.waitFor(room, isCard(f.botUserId, /Run migrations #\d+: /), 15_000, "card");
    t.false(isReplyTo(prompt.event_id)(card));
    const mention = await f.bob.waitFor(
      room,
      (e) => e.sender === f.botUserId && e.content["m.mentions"]?.user_ids?.includes(f.alice.userId),
      40_000,
      "failure mention",
    );
    t.regex(mention.content.body, /❌ Run migrations #\d+ failed/);
    t.is(mention.content["m.relates_to"]["m.in_reply_to"].event_id, card.event_id);
    // a scheduled run (started in Semaphore) gets a card in the subscribed room, not a duplicate of the chat run
    const migrate = (await f.bot.app.ops.semaphore!.templates(1)).find((x) => x.name === "Run migrations")!;
    const sched = f.server.startTaskAs(1, migrate.id);
    const subCard = await f.bob.waitFor(
      room,
      (e) => e.sender === f.botUserId && new RegExp(`Run migrations #${sched.id}`).test(e.content.body ?? "") && !e.content["m.relates_to"],
      40_000,
      "subscription card",
    );
    await f.bob.waitFor(room, (e) => isEditOf(subCard.event_id)(e) && /: error/.test(e.content["m.new_content"].body), 40_000, "subscription card final");
    const events = await allEvents(f.bob, room);
    t.regex(currentBody(events, subCard.event_id).body, /started by Semaphore/);
    t.regex(
      events
        .filter(inThreadOf(subCard.event_id))
        .map((e) => e.content.body)
        .join("\n"),
      /Specified key was too long/,
    );
    const chatTaskId = Number(/#(\d+)/.exec(card.content.body)![1]);
    t.is(events.filter(isCard(f.botUserId, new RegExp(`Run migrations #${chatTaskId}: `))).length, 1, "one card per task per room");
    t.is(
      events.filter((e) => e.sender === f.botUserId && !e.content["m.relates_to"] && new RegExp(`#${chatTaskId}: `).test(e.content.body ?? "")).length,
      0,
      "the subscription does not duplicate the chat run's card",
    );
    const audit = readFileSync(join(f.bot.stateDir, "audit.jsonl"), "utf8");
    t.regex(audit, /"outcome":"refused","detail":".*is not in run for this room"/);
  } finally {
    await f.close();
  }
});

synapseTest("injection: HTML and markdown in template names, args and aliases arrive escaped", async (t) => {
  const f = await chatFixture({ ini: (ids) => `${policy(ids)}\n[bot]\nadmin_users = ${ids.alice}\n` });
  const [room] = f.rooms as [string];
  const evil = `<img src=x onerror=alert(1)><b>**x**</b>`;
  try {
    f.server.addTemplate(1, { name: evil, allowOverrideArgsInTask: true, scenario: { lines: ["<script>alert(1)</script>", "\x1b[31m<i>red</i>\x1b[0m"] } });
    const list = await f.alice.send(room, "!cd templates 1");
    const r1 = await f.bob.waitFor(room, isReplyTo(list), 15_000, "templates");
    t.true(r1.content.body.includes(evil), "plain body keeps the name");
    t.false(/<img|<b>\*\*/.test(r1.content.formatted_body));
    const cmd = await f.alice.send(room, `!cd run 1 "<img" --args "<a href=javascript:x>y</a>"`);
    const prompt = await f.bob.waitFor(room, isReplyTo(cmd), 15_000, "prompt");
    t.false(/<img|<a href=javascript/.test(prompt.content.formatted_body));
    await f.alice.send(room, "yes");
    const card = await f.bob.waitFor(room, isCard(f.botUserId, /<img.* #\d+: /), 15_000, "card");
    await f.bob.waitFor(room, (e) => isEditOf(card.event_id)(e) && /success|error/.test(e.content["m.new_content"].body), 30_000, "final");
    await sleep(3500);
    const events = await allEvents(f.bob, room);
    for (const e of events.filter((x) => x.sender === f.botUserId)) {
      const html = e.content["m.new_content"]?.formatted_body ?? e.content.formatted_body ?? "";
      t.false(/<img|<script|<i>red|<a href=javascript/.test(html), `unescaped HTML in ${html.slice(0, 200)}`);
    }
    t.true(events.filter(inThreadOf(card.event_id)).some((e) => e.content.formatted_body.includes("&lt;script&gt;")));
    const al = await f.alice.send(room, `!cd aliases add evil "run 1 <img"`);
    await f.bob.waitFor(room, isReplyTo(al), 15_000, "alias added");
    const list2 = await f.alice.send(room, "!cd aliases");
    t.false((await f.bob.waitFor(room, isReplyTo(list2), 15_000, "aliases")).content.formatted_body.includes("<img"));
    // admin commands: rooms, join errors, exit asks first
    const rl = await f.alice.send(room, "!cd rooms");
    t.regex((await f.bob.waitFor(room, isReplyTo(rl), 15_000, "rooms")).content.body, new RegExp(`ops 0 \\(${room.replace(/[!.]/g, "\\$&")}\\) · 4 members`));
    const j = await f.alice.send(room, "!cd rooms join !nosuchroom:localhost");
    t.regex((await f.bob.waitFor(room, isReplyTo(j), 20_000, "join error")).content.body, /⚠️ Could not join !nosuchroom:localhost: /);
    const notAdmin = await f.bob.send(room, "!cd exit");
    t.regex((await f.bob.waitFor(room, isReplyTo(notAdmin), 15_000, "exit refused")).content.body, /only admin_users may do this/);
    const ex = await f.alice.send(room, "!cd exit");
    const exPrompt = await f.bob.waitFor(room, isReplyTo(ex), 15_000, "exit prompt");
    t.regex(exPrompt.content.body, /Shut ChatrixCD down\?/);
    const no = await f.alice.send(room, "no");
    await f.bob.waitFor(room, (e) => e.sender === f.botUserId && isReplyTo(no)(e), 15_000, "cancel reply");
    t.regex(currentBody(await allEvents(f.bob, room), exPrompt.event_id).body, /Cancelled by .*: Shut the bot down/);
  } finally {
    await f.close();
  }
});

synapseTest("greeting on start, alias file hot reload and a long reply split to fit", async (t) => {
  const f = await chatFixture({ ini: (ids) => `${policy(ids)}\n[bot]\ngreeting_rooms = ${ids.rooms[0]}\n` });
  const [room] = f.rooms as [string];
  try {
    await f.bob.waitFor(room, (e) => e.sender === f.botUserId && /ChatrixCD is online/.test(e.content.body ?? ""), 15_000, "startup greeting");
    writeFileSync(join(f.bot.stateDir, "aliases.json"), JSON.stringify({ hello: "ping", tpl: "templates Infrastructure" }));
    await sleep(1500);
    const c = await f.alice.send(room, "!cd HELLO");
    t.regex((await f.bob.waitFor(room, isReplyTo(c), 15_000, "alias reply")).content.body, /Pong/);
    for (let i = 0; i < 40; i++) f.server.addTemplate(1, { name: `Template ${i} ${"long description ".repeat(3)}`, description: "d".repeat(1500) });
    const c2 = await f.alice.send(room, "!cd tpl");
    const first = await f.bob.waitFor(room, isReplyTo(c2), 15_000, "long reply");
    await sleep(1500);
    const parts = (await allEvents(f.bob, room)).filter(
      (e) => e.sender === f.botUserId && e.origin_server_ts >= first.origin_server_ts && /Template|part|not shown/.test(e.content.body ?? ""),
    );
    t.true(parts.length >= 2, "split into several messages");
    t.true(parts.every((e) => Buffer.byteLength(JSON.stringify(e.content)) < 65_536));
    t.regex(parts.map((e) => e.content.body).join("\n"), /part 1\//);
  } finally {
    await f.close();
  }
});

synapseTest("two rooms at once: a command waiting on a slow Semaphore does not delay the other room", async (t) => {
  const server = await startSemaphoreServer({ tickMs: 30, lineDelayMs: 5, seed: "demo" });
  const proxy = await startSlowProxy(server.url);
  const f = await chatFixture({ rooms: 2, server, ini: (ids) => `${policy(ids)}\n[room "${ids.rooms[1]}"]\nrun = *\n`, semaphoreUrl: () => proxy.url });
  const [a, b] = f.rooms as [string, string];
  try {
    proxy.slow(/\/templates/, 6000);
    const slow = await f.alice.send(a, "!cd templates 1");
    await sleep(200);
    const fast = await f.bob.send(b, "!cd projects");
    const fastReply = await f.bob.waitFor(b, isReplyTo(fast), 15_000, "fast reply");
    const slowReply = await f.bob.waitFor(a, isReplyTo(slow), 20_000, "slow reply");
    // server timestamps on both ends: the bot's answer time, independent of the test clients' polling
    const ts = async (room: string, id: string) => (await allEvents(f.bob, room)).find((e) => e.event_id === id)!.origin_server_ts;
    const fastMs = fastReply.origin_server_ts - (await ts(b, fast));
    const slowMs = slowReply.origin_server_ts - (await ts(a, slow));
    t.log(`fast room answered in ${fastMs} ms, slow room in ${slowMs} ms`);
    t.true(fastMs < 2000, `the other room waited ${fastMs} ms`);
    t.true(slowMs >= 5500, `the slow command took only ${slowMs} ms`);
    t.true(fastReply.origin_server_ts < slowReply.origin_server_ts);
    t.regex(slowReply.content.body, /Templates of Infrastructure/);
    t.regex(fastReply.content.body, /Infrastructure/);
  } finally {
    await f.close();
    await proxy.close();
    await server.stop();
  }
});
