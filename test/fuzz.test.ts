// Fuzzing the command path: 10,000+ generated hostile messages (random unicode, 64 kB bodies, stray quotes, HTML
// carrying a canary, zero-width and right-to-left characters, control characters) from allowed and unknown users in
// rooms with and without a policy, through the real MatrixBot intake (replay guard, confirmations by text and by
// reaction, cards, reply splitting) over a fake client, against our Semaphore-compatible server whose template names
// and task output are hostile too. Checks: nothing crashes or reaches the "bug" path; every formatted_body (notices,
// prompts, edits, cards, thread output) passes the parse5 HTML check; every event fits Matrix's size limit; every
// fragment of input echoed in a body shows up in the formatted_body as text. The largest events are then sent to a
// real Synapse, which must accept them.
import test from "ava";
import { randomUUID } from "node:crypto";
import { startEngine, ADMIN, ALICE, BOB, CAROL, MALLORY, OPS_ROOM, OTHER_ROOM } from "./helpers-chat/ops.js";
import { fakeMatrix, type SentEvent } from "./helpers-prove/fake-matrix.js";
import { Gen, message, token, HTML_BITS, hugeBody } from "./helpers-prove/fuzz-gen.js";
import { checkFormattedBody, formattedBodies, CANARY } from "./helpers-prove/html-check.js";
import { commandNames } from "../src/commands/registry.js";
import { MAX_CONTENT_BYTES } from "../src/util/size.js";
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import type { LogEntry } from "../src/log/logger.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_101);
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
/** Matrix's limit is on the whole event (65536 bytes); this much is left for the envelope the server adds. */
const MATRIX_EVENT_LIMIT = 65_536;
const ENVELOPE_ALLOWANCE = 2_048;

const bytes = (content: unknown) => Buffer.byteLength(JSON.stringify(content), "utf8");

let resolveLargest!: (v: SentEvent[]) => void;
const largest = new Promise<SentEvent[]>((r) => {
  resolveLargest = r;
});

const POLICY = `
[room "${OPS_ROOM}"]
run = ${ALICE}, ${BOB}
stop = ${ALICE}
approve = ${BOB}, ${CAROL}
read = *

[template "1/Rotate certificates"]
approvals_required = 1
`;

test("fuzz: 10,000 hostile messages through the command path — no crash, every formatted_body escaped, every event fits", async (t) => {
  t.timeout(400_000);
  const t0 = Date.now();
  const e = await startEngine({ ini: POLICY });
  const errors: LogEntry[] = [];
  e.logger.on("entry", (en: LogEntry) => {
    if (en.level === "error") errors.push(en);
  });
  const m = fakeMatrix(e.ops, e.stateDir);
  const g = new Gen(SEED);
  try {
    // Semaphore's side is input too: template names, descriptions and output lines.
    for (let i = 0; i < 6; i++) {
      const name = `${token(g)} ${g.pick(HTML_BITS)} ${i}`.slice(0, 200);
      e.server.addTemplate(1, {
        name,
        description: `${g.pick(HTML_BITS)} ${token(g)}`,
        allowOverrideArgsInTask: true,
        scenario: { lines: Array.from({ length: 6 }, () => `${token(g)} \x1b[31m${g.pick(HTML_BITS)}\x1b[0m ${token(g)}`), exitCode: i % 2, delayUnits: 1 },
      });
    }
    e.server.addTemplate(1, {
      name: `Huge output ${CANARY}`,
      scenario: { lines: [hugeBody(g, 70_000), ...Array.from({ length: 300 }, (_, i) => `line ${i} ${"<b title=zqx>&\"'".repeat(20)}`)], delayUnits: 1 },
    });

    const commands = [
      ...commandNames(),
      "run 1",
      "run 1 1",
      "run Infra Huge",
      "run 1 7",
      "run 1 8",
      "run 1 Rotate cert_domain=x.example ca=internal",
      "templates 1",
      "status",
      "logs",
      "tasks",
      "history",
      "approve",
      "deny",
      "aliases add",
      "aliases remove",
      "rooms join",
      "rooms part",
      "subscribe 1",
      "log on",
      "stop",
      "stop --force",
    ];
    const who: Array<[string, string]> = [
      [ALICE, OPS_ROOM],
      [ALICE, OPS_ROOM],
      [BOB, OPS_ROOM],
      [CAROL, OPS_ROOM],
      [ADMIN, OPS_ROOM],
      [ADMIN, OTHER_ROOM],
      [ALICE, OTHER_ROOM],
      [MALLORY, OPS_ROOM],
      [BOB, OTHER_ROOM],
    ];
    let echoChecks = 0;
    const lastPrompt = new Map<string, string>();
    const problems: string[] = [];
    const fail = (what: string) => {
      if (problems.length < 30) problems.push(what);
    };
    for (let i = 0; i < COUNT; i++) {
      const msg = message(g, commands);
      const [user, room] = g.pick(who);
      const prompt = lastPrompt.get(room);
      const extra = msg.asReply && prompt ? { "m.relates_to": { "m.in_reply_to": { event_id: prompt } } } : {};
      const before = m.sent.length;
      const id = await m.message(room, user, msg.body, extra);
      for (const s of m.sent.slice(before)) if (/Reply yes or no/.test(s.content.body ?? "")) lastPrompt.set(s.roomId, s.eventId);
      if (g.chance(0.03) && m.sent.length)
        await m.reaction(room, g.pick([user, ALICE, BOB]), g.pick(m.sent).eventId, g.pick(["👍", "👎", "👍🏽", "✔️", "🎉", token(g)]));
      // Replies to this message: every input fragment they echo must be text, not markup.
      const fragments = HTML_BITS.filter((f) => msg.body.includes(f) && !f.includes("\n"));
      for (const s of m.sent.slice(before)) {
        if (s.content["m.relates_to"]?.["m.in_reply_to"]?.event_id !== id || typeof s.content.body !== "string") continue;
        const html = s.content.formatted_body;
        if (typeof html !== "string") continue;
        const text = checkFormattedBody(html).text;
        for (const f of fragments) {
          if (!s.content.body.includes(f)) continue;
          echoChecks++;
          if (!text.includes(f)) fail(`message ${i} (seed ${SEED}): ${JSON.stringify(f)} echoed in the body but not as text in ${html.slice(0, 300)}`);
        }
      }
    }
    // Let running tasks finish so cards reach their final edit and threads their last output.
    const deadline = Date.now() + 60_000;
    while (
      [...e.store.tasks.values()].some((x) => !["success", "error", "stopped", "rejected"].includes(String(x.status)) && x.origin?.via === "chat") &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 100));
    await m.stop();

    let html = 0,
      maxBytes = 0;
    let biggest: SentEvent | undefined;
    for (const s of m.sent) {
      const size = bytes(s.content);
      if (size > maxBytes) {
        maxBytes = size;
        biggest = s;
      }
      if (size > MATRIX_EVENT_LIMIT - ENVELOPE_ALLOWANCE) fail(`event ${s.eventId} has ${size} bytes of content: over Matrix's limit`);
      if (size > MAX_CONTENT_BYTES) fail(`event ${s.eventId} has ${size} bytes of content: over the bot's own budget (${MAX_CONTENT_BYTES})`);
      for (const body of formattedBodies(s.content)) {
        html++;
        const r = checkFormattedBody(body);
        if (r.problems.length) fail(`event ${s.eventId} (${s.content.body?.slice(0, 80)}): ${r.problems.join("; ")}\n  html: ${body.slice(0, 300)}`);
      }
    }
    const kinds = {
      replies: m.sent.filter((s) => s.content["m.relates_to"]?.["m.in_reply_to"] && !s.content["m.relates_to"]?.rel_type).length,
      edits: m.sent.filter((s) => s.content["m.relates_to"]?.rel_type === "m.replace").length,
      thread: m.sent.filter((s) => s.content["m.relates_to"]?.rel_type === "m.thread").length,
      reactions: m.sent.filter((s) => s.type === "m.reaction").length,
    };
    const tasks = [...e.store.tasks.values()].filter((x) => x.origin?.via === "chat").length;
    t.log(
      `seed ${SEED}: ${COUNT} messages → ${m.sent.length} events (${JSON.stringify(kinds)}), ${tasks} tasks started from chat, ${html} formatted bodies ` +
        `checked, ${echoChecks} echoed fragments checked, largest content ${maxBytes} bytes (${biggest?.content.body?.slice(0, 60)}…), ` +
        `${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    t.deepEqual(problems, []);
    t.deepEqual(
      errors.map((x) => `${x.source}: ${x.message.slice(0, 500)}`),
      [],
      "no command may reach the 'bug' path (an error log)",
    );
    t.is(e.ops.counters.errors, 0);
    t.true(m.sent.length > COUNT / 2, "the bot answered");
    t.true(kinds.edits > 0 && kinds.thread > 0 && tasks > 0, "runs were confirmed, so cards and threads were fuzzed too");
    t.true(echoChecks > 100, `only ${echoChecks} echo checks: the generator no longer reaches the echo paths`);
    resolveLargest([...m.sent].sort((a, b) => bytes(b.content) - bytes(a.content)).slice(0, 5));
  } catch (err) {
    resolveLargest([]);
    throw err;
  } finally {
    await e.close();
  }
});

synapseTest("fuzz: the largest events the bot produced are accepted by a real Synapse", async (t) => {
  t.timeout(400_000);
  const top = await largest;
  if (top.length === 0) {
    t.fail("the fuzz test produced nothing (it failed)");
    return;
  }
  const hs = requireSynapse();
  const u = await hs.registerUser(uniqueLocalpart("fuzzsize"), "pw-fuzz-size");
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${hs.url}/_matrix/client/v3${path}`, {
      method,
      headers: { Authorization: `Bearer ${u.accessToken}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const room = await call("POST", "/createRoom", { preset: "private_chat" });
  t.is(room.status, 200);
  const roomId = String(room.json.room_id);
  let target = "";
  for (const s of top) {
    const content = structuredClone(s.content);
    // Relations must point at real events here; the size is what is tested.
    const rel = content["m.relates_to"];
    if (rel?.rel_type === "m.replace" || rel?.rel_type === "m.thread") rel.event_id = target || rel.event_id;
    if (rel?.["m.in_reply_to"]) rel["m.in_reply_to"].event_id = target || rel["m.in_reply_to"].event_id;
    const r = await call("PUT", `/rooms/${encodeURIComponent(roomId)}/send/${s.type}/${randomUUID()}`, content);
    t.is(r.status, 200, `${bytes(s.content)} bytes refused: ${JSON.stringify(r.json)}`);
    target ||= String(r.json.event_id ?? "");
  }
  t.log(`Synapse accepted the ${top.length} largest events (${top.map((s) => bytes(s.content)).join(", ")} bytes of content)`);
});
