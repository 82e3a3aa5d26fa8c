// Status cards, threads, confirmations and the presentation helpers, without Matrix: a fake sender records every
// event content the bot would send.
import test from "ava";
import { ansiLinesToHtml, stripControl } from "../src/util/ansi.js";
import { Coalescer } from "../src/util/coalesce.js";
import { fitParts, fitOne, noticeContent, editContent, EDIT_BUDGET } from "../src/matrix/content.js";
import { MAX_CONTENT_BYTES } from "../src/util/size.js";
import { renderTaskCard, renderRequestCard } from "../src/commands/task-render.js";
import { textAnswer, reactionAnswer } from "../src/matrix/reactions.js";
import { CardManager } from "../src/matrix/cards.js";
import { Confirmations } from "../src/matrix/confirmations.js";
import { startEngine, waitUntil, ALICE, BOB, CAROL, OPS_ROOM, OTHER_ROOM } from "./helpers-chat/ops.js";
import type { TaskState } from "../src/core/store.js";
import type { Reply } from "../src/commands/types.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("ANSI colours become data-mx-color spans, text is escaped, tags never cross lines", (t) => {
  const html = ansiLinesToHtml([
    "\x1b[0;32mok: [web1]\x1b[0m <done>",
    "\x1b[1;31mfatal: \x1b[0m& \x1b[33mwarn",
    "still yellow\x1b[0m",
    "\x1b[38;2;255;0;16mtrue\x1b[0m \x1b[2Kx",
  ]);
  t.deepEqual(html, [
    `<span data-mx-color="#4e9a06">ok: [web1]</span> &lt;done&gt;`,
    `<span data-mx-color="#cc0000"><b>fatal: </b></span>&amp; <span data-mx-color="#c4a000">warn</span>`,
    `<span data-mx-color="#c4a000">still yellow</span>`,
    `<span data-mx-color="#ff0010">true</span> x`,
  ]);
  t.is(stripControl("\x1b[31mred\x1b[0m\x07 \x1b]0;title\x07x\ty"), "red x\ty");
});

test("coalescer: at most one run per interval, the last state always delivered, no overlap", async (t) => {
  let state = 0;
  const seen: number[] = [];
  let running = 0;
  let maxRunning = 0;
  const c = new Coalescer(100, async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    seen.push(state);
    await sleep(30);
    running--;
  });
  const t0 = Date.now();
  for (let i = 1; i <= 20; i++) {
    state = i;
    c.poke();
    await sleep(12);
  }
  await sleep(400);
  t.is(seen.at(-1), 20, "final state delivered");
  t.true(seen.length <= Math.ceil((Date.now() - t0) / 100) + 1, `runs ${seen.length}`);
  t.true(seen.length >= 2);
  t.is(maxRunning, 1);
  c.close();
});

test("size capping: long replies are split on line boundaries with a note; every part fits", (t) => {
  const text = Array.from({ length: 5000 }, (_, i) => `line ${i} "quoted" <tag> ${"x".repeat(30)}`).join("\n");
  const parts = fitParts({ text, html: text }, { maxParts: 3 });
  t.is(parts.length, 3);
  for (const p of parts) t.true(Buffer.byteLength(JSON.stringify(noticeContent(p))) < MAX_CONTENT_BYTES, "part fits");
  t.regex(parts[2]!.text, /more lines not shown \(the reply was too long for one Matrix message\)/);
  t.false(
    parts.some((p) => p.html!.includes("<tag>")),
    "re-escaped",
  );
  const small = fitParts({ text: "hi", html: "<b>hi</b>" });
  t.deepEqual(small, [{ text: "hi", html: "<b>hi</b>" }]);
  const bigEdit = editContent("$x", fitOne({ text: 'z"'.repeat(40_000), html: "<b>z</b>".repeat(20_000) }, EDIT_BUDGET));
  t.true(Buffer.byteLength(JSON.stringify(bigEdit)) < MAX_CONTENT_BYTES, "an edit carries the text twice and still fits");
  const oneLine = fitParts({ text: "y".repeat(200_000) }, { maxParts: 2 });
  for (const p of oneLine) t.true(Buffer.byteLength(JSON.stringify(noticeContent(p))) < MAX_CONTENT_BYTES);
});

test("edit content follows the m.replace recipe", (t) => {
  const c = editContent("$card", { text: "new", html: "<b>new</b>" });
  t.deepEqual(c, {
    msgtype: "m.notice",
    body: "* new",
    format: "org.matrix.custom.html",
    formatted_body: "* <b>new</b>",
    "m.new_content": { msgtype: "m.notice", body: "new", format: "org.matrix.custom.html", formatted_body: "<b>new</b>", "m.mentions": {} },
    "m.relates_to": { rel_type: "m.replace", event_id: "$card" },
    "m.mentions": {},
  });
  const th = noticeContent({ text: "x" }, { thread: { root: "$r", last: "$l" } });
  t.deepEqual(th["m.relates_to"], { rel_type: "m.thread", event_id: "$r", is_falling_back: true, "m.in_reply_to": { event_id: "$l" } });
});

test("yes/no answers: words, emoji, reply fallback, prefix; everything else is not an answer", (t) => {
  t.is(textAnswer("yes"), "yes");
  t.is(textAnswer("  Y! "), "yes");
  t.is(textAnswer("👍🏽"), "yes");
  t.is(textAnswer("> <@bot:x> Run it?\n\nok"), "yes");
  t.is(textAnswer("!cd no", "!cd"), "no");
  t.is(textAnswer("cancel"), "no");
  t.is(textAnswer("yes please deploy it"), undefined);
  t.is(textAnswer("!cd status"), undefined);
  t.is(reactionAnswer("👍️"), "yes");
  t.is(reactionAnswer("✔️"), "yes");
  t.is(reactionAnswer("👎"), "no");
  t.is(reactionAnswer("🎉"), undefined);
});

const base: TaskState = {
  key: "1:7",
  projectId: 1,
  taskId: 7,
  templateName: "Deploy <b>web</b>",
  projectName: "Infra & Co",
  status: "running",
  outputLines: 0,
  updatedAt: 0,
  start: new Date(Date.now() - 65_000).toISOString(),
  origin: { via: "chat", user: "@alice:x", roomId: "!r:x" },
};

test("task card: icon, template, params, who and where, elapsed, play/task, recap, link — all escaped", (t) => {
  const r = renderTaskCard({
    task: { ...base, currentPlay: "Deploy <script>", currentTask: "restart" },
    params: "tags <i>web</i>",
    webUrl: "https://sem.example/",
    roomName: () => "Ops <room>",
  });
  t.regex(
    r.text,
    new RegExp(
      [
        "^🔄 Deploy <b>web</b> #7: running",
        "Infra & Co · started by @alice:x in Ops <room> · 1m0[5-7]s so far",
        "Parameters: tags <i>web</i>",
        "▶ play Deploy <script> › task restart",
        "Open in Semaphore: https://sem\\.example/project/1/history\\?t=7$",
      ].join("\n"),
    ),
  );
  t.false(/<script>|<i>web|<b>web|Ops <room>/.test(r.html), r.html);
  t.regex(r.html, /href="https:\/\/sem.example\/project\/1\/history\?t=7"/);
  const done = renderTaskCard({
    task: {
      ...base,
      status: "error",
      end: new Date().toISOString(),
      recap: { web1: { ok: 3, changed: 1, unreachable: 0, failed: 1 }, web2: { ok: 4, changed: 0, unreachable: 0, failed: 0 } },
    },
  });
  t.regex(done.text, /❌ .*: error\n.* · took 1m0\ds\nRecap: ok 7 · changed 1 · unreachable 0 · failed 1 \(2 hosts\)/);
  t.regex(done.html, /<span data-mx-color="#cc0000">failed 1<\/span>/);
  t.notRegex(done.text, /▶/, "no current task once finished");
  const wait = renderTaskCard({ task: { ...base, status: "waiting_confirmation" }, prefix: "!cd" });
  t.regex(wait.text, /!cd confirm 7 or !cd reject 7/);
});

test("request card: 1/2 approvals, waiting on whom, how to answer", (t) => {
  const req = {
    id: "r3",
    run: {
      project: { id: 1, name: "Infra" },
      template: { id: 2, name: "Deploy <x>" },
      summary: "Deploy <x> (template 2)",
      params: "",
      request: { templateId: 2 },
    },
    requester: "@alice:x",
    requesterActor: { kind: "chat", userId: "@alice:x", roomId: "!r" },
    roomId: "!r",
    needed: 2,
    approvers: ["@bob:x", "@carol:x"],
    approvals: [{ user: "@bob:x", at: 0 }],
    status: "pending",
    createdAt: 0,
    expiresAt: Date.now() + 30 * 60_000,
  } as any;
  const r = renderRequestCard({ request: req, waitingOn: ["@carol:x"], prefix: "!cd" });
  t.regex(r.text, /🗳️ Deploy <x> \(request r3\): waiting for approval \(1\/2 approvals\)/);
  t.regex(r.text, /Approved by @bob:x\nwaiting on @carol:x · expires in (29|30)m/);
  t.regex(r.text, /!cd approve r3 or react 👍/);
  t.false(r.html.includes("<x>"));
});

// ---- CardManager and Confirmations over a fake sender ----

interface Sent {
  roomId: string;
  content: any;
  id: string;
}
function fakePorts() {
  const sent: Sent[] = [];
  let n = 0;
  return {
    sent,
    ports: {
      send: async (roomId: string, content: any) => {
        const id = `$e${++n}`;
        sent.push({ roomId, content, id });
        return id;
      },
      roomName: () => "Ops",
    },
  };
}
const editsOf = (sent: Sent[], id: string) =>
  sent.filter((s) => s.content["m.relates_to"]?.rel_type === "m.replace" && s.content["m.relates_to"].event_id === id);
const threadOf = (sent: Sent[], id: string) =>
  sent.filter((s) => s.content["m.relates_to"]?.rel_type === "m.thread" && s.content["m.relates_to"].event_id === id);

test("card of a real run: edits throttled to one per interval, final state delivered, output batched into the thread", async (t) => {
  const e = await startEngine({ ini: `[room "${OPS_ROOM}"]\nrun = *\n` });
  const { sent, ports } = fakePorts();
  const cards = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards"), editIntervalMs: 300, threadIntervalMs: 200 });
  cards.start();
  try {
    const prompt = await e.cmd("run 1 Deploy --tags web");
    const started = await prompt.confirm!.onConfirm();
    const t0 = Date.now();
    const cardId = await cards.post(OPS_ROOM, "$cmd", started.card!, started, e.actor());
    t.truthy(cardId);
    const key = (started.card as { taskKey: string }).taskKey;
    await waitUntil(() => e.store.tasks.get(key)?.status === "success", 20_000, "success");
    await sleep(800);
    const elapsed = Date.now() - t0;
    const first = sent.find((s) => s.id === cardId)!;
    t.is(first.content.msgtype, "m.notice");
    t.deepEqual(first.content["m.relates_to"], { "m.in_reply_to": { event_id: "$cmd" } });
    const edits = editsOf(sent, cardId!);
    t.true(edits.length >= 1);
    t.true(edits.length <= Math.ceil(elapsed / 300) + 1, `${edits.length} edits in ${elapsed} ms`);
    for (let i = 1; i < edits.length; i++) t.true(sent.indexOf(edits[i]!) > sent.indexOf(edits[i - 1]!));
    const last = edits.at(-1)!.content["m.new_content"];
    t.regex(last.body, /✅ Deploy web #\d+: success/);
    t.regex(last.body, /Parameters: tags web/);
    t.regex(last.body, /Recap: ok \d+ · changed \d+/);
    const thread = threadOf(sent, cardId!);
    t.true(thread.length >= 1);
    const all = thread.map((s) => s.content.body).join("\n");
    t.regex(all, /RUNNING HANDLER \[app : restart app\]/);
    t.regex(all, /PLAY RECAP/);
    t.true(thread.every((s) => s.content.formatted_body.startsWith("<pre><code>")));
    t.true(thread.some((s) => /data-mx-color/.test(s.content.formatted_body)));
    for (let i = 1; i < thread.length; i++)
      t.is(thread[i]!.content["m.relates_to"]["m.in_reply_to"].event_id, thread[i - 1]!.id, "thread fallback points at the previous message");
    t.is(
      all,
      e.store
        .output(key)
        .map((l) => stripControl(l.text))
        .join("\n"),
      "no line lost or duplicated",
    );
    t.false(
      sent.some((s) => s.content["m.mentions"]?.user_ids?.length),
      "success mentions nobody",
    );
  } finally {
    await cards.stop();
    await e.close();
  }
});

test("a failing run mentions the initiator once, in a new message replying to the card", async (t) => {
  const e = await startEngine({ ini: `[room "${OPS_ROOM}"]\nrun = *\n` });
  const { sent, ports } = fakePorts();
  const cards = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards"), editIntervalMs: 200, threadIntervalMs: 200 });
  cards.start();
  try {
    const started = await (await e.cmd("run 1 Run")).confirm!.onConfirm();
    const cardId = await cards.post(OPS_ROOM, "$cmd", started.card!, started, e.actor());
    const key = (started.card as { taskKey: string }).taskKey;
    await waitUntil(() => e.store.tasks.get(key)?.status === "error", 20_000, "error");
    await sleep(600);
    const mentions = sent.filter((s) => s.content["m.mentions"]?.user_ids?.includes(ALICE));
    t.is(mentions.length, 1);
    t.regex(mentions[0]!.content.body, /@alice:test: ❌ Run migrations #\d+ failed/);
    t.is(mentions[0]!.content["m.relates_to"]["m.in_reply_to"].event_id, cardId);
    t.regex(editsOf(sent, cardId!).at(-1)!.content["m.new_content"].body, /❌ Run migrations #\d+: error[\s\S]*failed 1/);
  } finally {
    await cards.stop();
    await e.close();
  }
});

test("thread output is capped with a note and a link; log off keeps the thread empty", async (t) => {
  const e = await startEngine({ ini: `[room "${OPS_ROOM}"]\nrun = *\n[room "${OTHER_ROOM}"]\nrun = *\n` });
  const { sent, ports } = fakePorts();
  const cards = new CardManager({
    ops: e.ops,
    ports,
    log: e.logger.child("cards"),
    editIntervalMs: 100,
    threadIntervalMs: 50,
    threadMaxMessages: 3,
    threadChunkLines: 5,
  });
  cards.start();
  try {
    e.server.addTemplate(1, { name: "Chatty", scenario: { lines: Array.from({ length: 100 }, (_, i) => `line ${i}`), delayUnits: 0.2 } });
    await e.ops.roomSettings.setLog(OTHER_ROOM, false);
    const started = await (await e.cmd("run 1 Chatty")).confirm!.onConfirm();
    const cardId = await cards.post(OPS_ROOM, undefined, started.card!, started, e.actor());
    const quietId = await cards.post(OTHER_ROOM, undefined, started.card!, started, e.actor(ALICE, OTHER_ROOM));
    const key = (started.card as { taskKey: string }).taskKey;
    await waitUntil(() => e.store.tasks.get(key)?.status === "success", 20_000, "success");
    await sleep(500);
    const thread = threadOf(sent, cardId!);
    t.is(thread.length, 3);
    t.regex(
      thread.at(-1)!.content.body,
      /✂️ Output cut here: this thread holds at most 3 messages .* Full log: http:\/\/127\.0\.0\.1:\d+\/project\/1\/history\?t=\d+/,
    );
    t.is(threadOf(sent, quietId!).length, 0);
    t.regex(editsOf(sent, cardId!).at(-1)!.content["m.new_content"].body, /Output in the thread \(cut; the full log is in Semaphore\)/);
  } finally {
    await cards.stop();
    await e.close();
  }
});

test("subscriptions: cards for runs started in Semaphore (web UI, schedule), filtered by all/failures/finished", async (t) => {
  const e = await startEngine({ ini: `[room "${OPS_ROOM}"]\nrun = *\n[room "${OTHER_ROOM}"]\nrun = *\n[room "!fail:test"]\nrun = *\n` });
  const { sent, ports } = fakePorts();
  const cards = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards"), editIntervalMs: 100, threadIntervalMs: 100 });
  cards.start();
  try {
    t.regex((await e.cmd("subscribe Infrastructure all")).text, /Subscribed/);
    t.regex((await e.cmd("subscribe 1 finished", { room: OTHER_ROOM })).text, /Subscribed/);
    t.regex((await e.cmd("subscribe 1 failures", { room: "!fail:test" })).text, /Subscribed/);
    const tpl = await e.ops.semaphore!.templates(1);
    const deploy = tpl.find((x) => x.name === "Deploy web")!;
    const migrate = tpl.find((x) => x.name === "Run migrations")!;
    const web = e.server.startTaskAs(1, deploy.id, { userId: e.server.users["owner"]!.id });
    const sched = e.server.startTaskAs(1, migrate.id);
    await waitUntil(
      () => e.store.tasks.get(`1:${web.id}`)?.status === "success" && e.store.tasks.get(`1:${sched.id}`)?.status === "error",
      30_000,
      "both tasks to finish",
    );
    await sleep(600);
    const cardsIn = (room: string) => cards.list(room).map((c) => c.taskKey);
    t.deepEqual(cardsIn(OPS_ROOM).sort(), [`1:${web.id}`, `1:${sched.id}`].sort());
    t.deepEqual(cardsIn(OTHER_ROOM).sort(), [`1:${web.id}`, `1:${sched.id}`].sort());
    t.deepEqual(cardsIn("!fail:test"), [`1:${sched.id}`]);
    const failCard = cards.list("!fail:test")[0]!;
    const lastBody = (id: string) => {
      const ed = editsOf(sent, id);
      return ed.length ? ed.at(-1)!.content["m.new_content"].body : sent.find((s) => s.id === id)!.content.body;
    };
    t.regex(lastBody(failCard.eventId!), /❌ Run migrations #\d+: error/);
    t.regex(lastBody(failCard.eventId!), /started by Semaphore \(web UI, schedule or integration\)/);
    t.regex(
      lastBody(cards.list(OPS_ROOM).find((c) => c.taskKey === `1:${web.id}`)!.eventId!),
      /✅ Deploy web #\d+: success\n.*started by (Alice Ops in Semaphore|Semaphore \(web UI, schedule or integration\))/,
    );
    t.regex(
      threadOf(sent, failCard.eventId!)
        .map((s) => s.content.body)
        .join("\n"),
      /last \d+ lines:[\s\S]*Specified key was too long/,
    );
    t.false(
      sent.some((s) => s.content["m.mentions"]?.user_ids?.length),
      "nobody to mention for runs started outside chat",
    );
  } finally {
    await cards.stop();
    await e.close();
  }
});

test("approval card: reactions approve (self-approval refused), card shows 1/2 then the task", async (t) => {
  const e = await startEngine({ ini: `[room "${OPS_ROOM}"]\nrun = ${ALICE}\napprove = ${BOB}, ${CAROL}\n[template "1/Deploy web"]\napprovals_required = 2\n` });
  const { sent, ports } = fakePorts();
  const cards = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards"), editIntervalMs: 100, threadIntervalMs: 100 });
  cards.start();
  const replies: Array<{ replyTo: string; r: Reply }> = [];
  const reply = async (_room: string, replyTo: string, r: Reply) => {
    replies.push({ replyTo, r });
  };
  try {
    const asked = await (await e.cmd("run 1 Deploy")).confirm!.onConfirm();
    const cardId = (await cards.post(OPS_ROOM, "$cmd", asked.card!, asked, e.actor()))!;
    t.regex(sent.find((s) => s.id === cardId)!.content.body, /waiting for approval \(0\/2 approvals\)/);
    t.true(await cards.onReaction(OPS_ROOM, ALICE, cardId, "👍", reply));
    t.regex(replies.at(-1)!.r.text, /nobody may approve their own run/);
    await cards.onReaction(OPS_ROOM, BOB, cardId, "👍️", reply);
    t.regex(replies.at(-1)!.r.text, /approved r1 \(1\/2\)/);
    await sleep(300);
    t.regex(
      editsOf(sent, cardId).at(-1)!.content["m.new_content"].body,
      /1\/2 approvals[\s\S]*Approved by @bob:test\nwaiting on anyone with approve permission here/,
    );
    t.true(await cards.onReaction(OPS_ROOM, CAROL, cardId, "🎉", reply), "other keys on a card are ignored");
    await cards.onReaction(OPS_ROOM, CAROL, cardId, "✅", reply);
    t.regex(replies.at(-1)!.r.text, /task \d+ started/);
    const taskId = e.ops.approvals.get("r1")!.taskId!;
    await waitUntil(() => e.store.tasks.get(`1:${taskId}`)?.status === "success", 20_000, "run");
    await sleep(400);
    t.regex(editsOf(sent, cardId).at(-1)!.content["m.new_content"].body, new RegExp(`✅ Deploy web #${taskId}: success`));
    t.true(threadOf(sent, cardId).length > 0, "output threads under the same card");
  } finally {
    await cards.stop();
    await e.close();
  }
});

test("confirmations: unrelated messages leave the prompt open; only the requester answers; timeout cancels; newer replaces older", async (t) => {
  const e = await startEngine({ tracker: false });
  const out: Array<{ roomId: string; replyTo?: string; r: Reply }> = [];
  const edits: Array<{ id: string; text: string }> = [];
  let n = 0;
  const conf = new Confirmations(
    e.ops,
    {
      reply: async (roomId, replyTo, r) => {
        out.push({ roomId, replyTo, r });
        return `$p${++n}`;
      },
      edit: async (_room, id, text) => {
        edits.push({ id, text });
      },
    },
    e.logger.child("t"),
  );
  let confirmed = 0,
    cancelled = 0;
  const mk = (summary: string, timeoutMs = 5000): Reply => ({
    text: `${summary}?`,
    confirm: {
      kind: "run",
      summary,
      timeoutMs,
      onConfirm: async () => {
        confirmed++;
        return { text: `did ${summary}` };
      },
      onCancel: () => {
        cancelled++;
      },
    },
  });
  try {
    await conf.offer(OPS_ROOM, ALICE, "$cmd1", mk("A"));
    const promptId = out.at(-1)!.replyTo === "$cmd1" ? `$p${n}` : "";
    t.false(await conf.onMessage(OPS_ROOM, ALICE, "$m1", "what is the status?", undefined), "unrelated text is not consumed");
    t.false(await conf.onMessage(OPS_ROOM, BOB, "$m2", "yes", undefined), "someone else's yes is not an answer");
    t.true(await conf.onReaction(OPS_ROOM, BOB, promptId, "👍"));
    t.regex(out.at(-1)!.r.text, /Only @alice:test, who asked, can answer/);
    t.true(await conf.onMessage(OPS_ROOM, ALICE, "$m3", "hmm", promptId), "a reply to the prompt that is not yes/no asks again");
    t.regex(out.at(-1)!.r.text, /Please answer yes or no/);
    t.is(confirmed, 0);
    t.is(e.store.pending.length, 1);
    t.true(await conf.onMessage(OPS_ROOM, ALICE, "$m4", "yes", undefined));
    t.is(confirmed, 1);
    t.is(out.at(-1)!.r.text, "did A");
    t.is(out.at(-1)!.replyTo, "$m4");
    t.regex(edits.at(-1)!.text, /✅ Confirmed by @alice:test: A/);
    t.is(e.store.pending.length, 0);
    // reaction, superseding, timeout
    await conf.offer(OPS_ROOM, ALICE, "$cmd2", mk("B"));
    const pB = `$p${n}`;
    await conf.offer(OPS_ROOM, ALICE, "$cmd3", mk("C", 150));
    t.is(cancelled, 1);
    t.regex(edits.at(-1)!.text, /Replaced by a newer request from @alice:test: B/);
    t.false(await conf.onReaction(OPS_ROOM, ALICE, pB, "👍"), "the replaced prompt no longer answers");
    t.true(await conf.onMessage(OPS_ROOM, ALICE, "$late", "yes", pB), "a late yes to the replaced prompt is answered");
    t.regex(out.at(-1)!.r.text, /That request was already replaced by a newer request \(B\); your "yes" changed nothing\. The open request is: C/);
    t.is(confirmed, 1, "the late yes to B did not confirm C");
    t.is(e.store.pending.length, 1, "C is still open");
    await sleep(300);
    t.is(cancelled, 2);
    t.regex(edits.at(-1)!.text, /⌛ Timed out \(no answer\): C/);
    t.is(confirmed, 1);
    await conf.offer(OPS_ROOM, ALICE, "$cmd4", mk("D"));
    await conf.offer(OTHER_ROOM, ALICE, "$cmd5", mk("E"));
    t.true(await conf.onReaction(OPS_ROOM, ALICE, `$p${n - 1}`, "👎"));
    t.is(cancelled, 3);
    t.truthy(conf.pendingFor(OTHER_ROOM, ALICE), "one per requester per room");
    await conf.cancelAll();
  } finally {
    await e.close();
  }
});

test("cards survive a restart: the new manager keeps editing the same message and thread", async (t) => {
  const e = await startEngine({ ini: `[room "${OPS_ROOM}"]\nrun = *\n` });
  const { sent, ports } = fakePorts();
  const stateFile = `${e.stateDir}/cards.json`;
  const first = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards"), stateFile, editIntervalMs: 100, threadIntervalMs: 100 });
  first.start();
  e.server.addTemplate(1, {
    name: "Two phases",
    scenario: { lines: ["phase one", "TASK [wait] ***", "still waiting", "TASK [finish] ***", "done"], delayUnits: 100 },
  });
  const started = await (await e.cmd("run 1 Two")).confirm!.onConfirm();
  const cardId = await first.post(OPS_ROOM, "$cmd", started.card!, started, e.actor());
  const key = (started.card as { taskKey: string }).taskKey;
  await waitUntil(() => e.store.tasks.get(key)?.status === "running", 10_000, "running");
  await first.stop();
  const second = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards2"), stateFile, editIntervalMs: 100, threadIntervalMs: 100 });
  second.start();
  try {
    await waitUntil(() => e.store.tasks.get(key)?.status === "success", 20_000, "success");
    await sleep(500);
    t.deepEqual(
      second.list(OPS_ROOM).map((c) => c.eventId),
      [cardId],
    );
    t.regex(editsOf(sent, cardId!).at(-1)!.content["m.new_content"].body, /✅ Two phases #\d+: success/);
    t.is(sent.filter((s) => !s.content["m.relates_to"]?.rel_type && /Two phases #/.test(s.content.body)).length, 1, "no second card");
    t.regex(
      threadOf(sent, cardId!)
        .map((s) => s.content.body)
        .join("\n"),
      /done/,
    );
  } finally {
    await second.stop();
    await e.close();
  }
});

test("a task waiting for Semaphore's confirmation mentions its initiator once; confirm continues it", async (t) => {
  const e = await startEngine({ ini: `[room "${OPS_ROOM}"]\nrun = *\napprove = ${BOB}\n` });
  const { sent, ports } = fakePorts();
  const cards = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards"), editIntervalMs: 100, threadIntervalMs: 100 });
  cards.start();
  try {
    const started = await (await e.cmd("run 1 Terraform")).confirm!.onConfirm();
    const cardId = await cards.post(OPS_ROOM, "$cmd", started.card!, started, e.actor());
    const key = (started.card as { taskKey: string }).taskKey;
    await waitUntil(() => e.store.tasks.get(key)?.status === "waiting_confirmation", 20_000, "waiting_confirmation");
    const mention = await waitUntil(() => sent.find((s) => s.content["m.mentions"]?.user_ids?.includes(ALICE)), 5000, "mention");
    t.regex(mention.content.body, /waits for a confirmation: !cd confirm \d+ or !cd reject \d+/);
    t.is(mention.content["m.relates_to"]["m.in_reply_to"].event_id, cardId);
    await waitUntil(() => editsOf(sent, cardId!).some((s) => /waiting confirmation/.test(s.content["m.new_content"].body)), 5000, "card shows the wait");
    t.regex((await e.cmd("confirm", { user: BOB })).text, /Confirmed Terraform apply/);
    await waitUntil(() => e.store.tasks.get(key)?.status === "success", 20_000, "apply");
    await sleep(300);
    t.is(sent.filter((s) => s.content["m.mentions"]?.user_ids?.length).length, 1, "mentioned once");
  } finally {
    await cards.stop();
    await e.close();
  }
});

// ---- final states are never held by the edit throttle (issue 15 §1) ----

test("coalescer: an urgent poke runs at once inside a closed interval, and right after a run in flight", async (t) => {
  let state = "posted";
  const seen: string[] = [];
  let release!: () => void;
  let hold = false;
  const c = new Coalescer(3_600_000, async () => {
    seen.push(state);
    if (hold)
      await new Promise<void>((r) => {
        release = r;
      });
  });
  c.markSent(); // the interval is closed for an hour from here
  state = "running";
  c.poke();
  state = "step 2";
  c.poke();
  t.deepEqual(seen, [], "intermediate states wait for the interval");
  hold = true;
  state = "success";
  c.poke(true);
  await waitUntil(() => seen.length === 1, 5000, "the urgent run");
  t.deepEqual(seen, ["success"], "one run, with the newest state");
  state = "success + recap";
  c.poke(); // an intermediate change while the run is in flight: throttled again
  state = "stopped";
  c.poke(true);
  hold = false;
  release();
  await waitUntil(() => seen.length === 2, 5000, "the urgent run after the one in flight");
  t.deepEqual(seen, ["success", "stopped"]);
  c.close();
});

test("final states skip the edit throttle: success, waiting for confirmation and a decided approval are edited at once", async (t) => {
  const e = await startEngine({
    tracker: false,
    ini: `[room "${OPS_ROOM}"]\nrun = ${ALICE}\napprove = ${BOB}\n[template "1/Deploy web"]\napprovals_required = 1\n`,
  });
  const { sent, ports } = fakePorts();
  // An hour between edits: every edit below is sent while the throttle window is still closed.
  const cards = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards"), editIntervalMs: 3_600_000, threadIntervalMs: 3_600_000 });
  cards.start();
  const start = new Date(Date.now() - 65_000).toISOString();
  const task = (taskId: number, patch: Partial<TaskState> = {}) =>
    e.store.upsertTask({
      projectId: 1,
      taskId,
      templateId: 1,
      templateName: "Deploy web",
      status: "running",
      start,
      origin: { via: "chat", user: ALICE, roomId: OPS_ROOM },
      ...patch,
    });
  try {
    task(7);
    const done = (await cards.post(OPS_ROOM, "$cmd7", { taskKey: "1:7" }, { text: "" }, e.actor()))!;
    task(7, { currentTask: "restart app" }); // intermediate: held by the throttle
    task(7, { status: "success" });
    await waitUntil(() => editsOf(sent, done).length > 0, 10_000, "the success edit");
    t.is(editsOf(sent, done).length, 1, "the intermediate state was coalesced into the final edit");
    t.regex(editsOf(sent, done)[0]!.content["m.new_content"].body, /✅ Deploy web #7: success/);
    // Semaphore sends the end time in a second update: the exact duration is part of the final state too.
    task(7, { status: "success", end: new Date(Date.parse(start) + 90_000).toISOString() });
    await waitUntil(() => editsOf(sent, done).length > 1, 10_000, "the edit with the end time");
    t.regex(editsOf(sent, done)[1]!.content["m.new_content"].body, /took 1m30s/);

    task(8);
    const waits = (await cards.post(OPS_ROOM, "$cmd8", { taskKey: "1:8" }, { text: "" }, e.actor()))!;
    task(8, { status: "waiting_confirmation" });
    await waitUntil(() => editsOf(sent, waits).length > 0, 10_000, "the waiting-for-confirmation edit");
    t.regex(editsOf(sent, waits)[0]!.content["m.new_content"].body, /waiting confirmation[\s\S]*!cd confirm 8 or !cd reject 8/);

    const asked = await (await e.cmd("run 1 Deploy")).confirm!.onConfirm();
    const req = (await cards.post(OPS_ROOM, "$cmd9", asked.card!, asked, e.actor()))!;
    await e.ops.approvals.deny(e.actor(BOB), e.ops.approvals.get("r1")!);
    await waitUntil(() => editsOf(sent, req).length > 0, 10_000, "the denied edit");
    t.regex(editsOf(sent, req)[0]!.content["m.new_content"].body, /denied/i);
  } finally {
    await cards.stop();
    await e.close();
  }
});

test("a room's lane: a final-state edit and the card answering a command go before other cards' queued thread output", async (t) => {
  const e = await startEngine({ tracker: false, ini: `[room "${OPS_ROOM}"]\nrun = *\n` });
  const sent: Sent[] = [];
  let n = 0;
  let gate: (() => void) | undefined;
  const ports = {
    roomName: () => "Ops",
    send: async (roomId: string, content: any) => {
      // The first thread message hangs (a slow homeserver) until released: everything else queues behind it.
      if (content["m.relates_to"]?.rel_type === "m.thread" && !sent.some((s) => s.content["m.relates_to"]?.rel_type === "m.thread"))
        await new Promise<void>((r) => {
          gate = r;
        });
      const id = `$e${++n}`;
      sent.push({ roomId, content, id });
      return id;
    },
  };
  const cards = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards"), editIntervalMs: 3_600_000, threadIntervalMs: 10 });
  cards.start();
  const task = (taskId: number, patch: Partial<TaskState> = {}) =>
    e.store.upsertTask({ projectId: 1, taskId, templateId: 1, templateName: `Job ${taskId}`, status: "running", ...patch });
  try {
    const ids: Record<number, string> = {};
    for (const id of [1, 2, 3]) {
      task(id);
      ids[id] = (await cards.post(OPS_ROOM, `$cmd${id}`, { taskKey: `1:${id}` }, { text: "" }, e.actor()))!;
    }
    e.store.appendOutput(1, 1, [{ time: "t", text: "output of job 1" }]);
    await waitUntil(() => gate, 5000, "job 1's thread message on its way out");
    e.store.appendOutput(1, 2, [{ time: "t", text: "output of job 2" }]);
    await waitUntil(() => cards.queued(OPS_ROOM) === 1, 5000, "job 2's thread message queued");
    task(3, { status: "success" });
    await waitUntil(() => cards.queued(OPS_ROOM) === 2, 5000, "job 3's final edit queued");
    task(4);
    const answer = cards.post(OPS_ROOM, "$cmd4", { taskKey: "1:4" }, { text: "" }, e.actor());
    await waitUntil(() => cards.queued(OPS_ROOM) === 3, 5000, "job 4's card queued");
    gate!();
    ids[4] = (await answer)!;
    await waitUntil(() => sent.some((s) => s.content.body === "output of job 2"), 5000, "job 2's thread message");
    const label = (s: Sent) =>
      s.content["m.relates_to"]?.rel_type === "m.replace"
        ? `edit ${s.content["m.relates_to"].event_id}`
        : s.content["m.relates_to"]?.rel_type === "m.thread"
          ? s.content.body
          : `card ${/Job \d+/.exec(s.content.body)?.[0]}`;
    t.deepEqual(sent.map(label), ["card Job 1", "card Job 2", "card Job 3", "output of job 1", `edit ${ids[3]}`, "card Job 4", "output of job 2"]);
  } finally {
    await cards.stop();
    await e.close();
  }
});
