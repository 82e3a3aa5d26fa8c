// Issue 15: the answer to `yes` (the task's card, naming the real task id) goes out as soon as Semaphore answers the
// start; the prompt's "Confirmed" edit must not go first (one room's messages are sent one at a time, so it would
// delay the card by a round trip). A slow start still marks the prompt confirmed before its card.
import test from "ava";
import { startSemaphoreServer } from "../src/emulator/index.js";
import { startEngine, waitUntil, ALICE, OPS_ROOM } from "./helpers-chat/ops.js";
import { fakeMatrix, type FakeMatrix } from "./helpers-prove/fake-matrix.js";
import type { SemaphoreClient } from "../src/semaphore/client.js";

const bodyOf = (s: FakeMatrix["sent"][number]): string => String(s.content["m.new_content"]?.body ?? s.content.body ?? "");

async function setup() {
  const server = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 3, seed: "demo", schedules: false });
  server.addTemplate(1, { name: "Quick job", scenario: { lines: ["working", "done"] } });
  const e = await startEngine({ server, token: server.adminToken, ini: `[room "${OPS_ROOM}"]\nrun = ${ALICE}\nread = *\n` });
  const m = fakeMatrix(e.ops, e.stateDir);
  const prompt = async () => {
    const ask = await m.message(OPS_ROOM, ALICE, '!cd run 1 "Quick job"');
    return m.repliesTo(ask)[0]!;
  };
  const close = async () => {
    await m.stop().catch(() => undefined);
    await e.close();
    await server.stop();
  };
  return { e, m, prompt, close };
}

test("yes: the card naming the real task id goes out before the prompt's Confirmed edit", async (t) => {
  const { m, prompt, close } = await setup();
  try {
    const p = await prompt();
    await m.message(OPS_ROOM, ALICE, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: p.eventId } } });
    const card = m.sent.findIndex((s) => /Quick job #\d{3,}/.test(bodyOf(s)));
    const edit = m.sent.findIndex((s) => s.content["m.relates_to"]?.event_id === p.eventId && /Confirmed by/.test(bodyOf(s)));
    t.true(card >= 0 && edit >= 0, `sent: ${m.sent.map(bodyOf).join(" | ")}`);
    t.true(card < edit, `the card (#${card}) before the Confirmed edit (#${edit}): ${m.sent.map(bodyOf).join(" | ")}`);
  } finally {
    await close();
  }
});

test("yes with a slow Semaphore: the prompt is marked confirmed while the start is unanswered, then the card follows", async (t) => {
  const { e, m, prompt, close } = await setup();
  try {
    const client = e.ops.semaphore as SemaphoreClient;
    const start = client.startTask.bind(client);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    client.startTask = async (...args: Parameters<SemaphoreClient["startTask"]>) => {
      await held;
      return start(...args);
    };
    const p = await prompt();
    const yes = m.message(OPS_ROOM, ALICE, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: p.eventId } } });
    await waitUntil(() => m.sent.some((s) => /Confirmed by/.test(bodyOf(s))), 10_000, "the Confirmed edit while the start is held");
    t.false(
      m.sent.some((s) => /Quick job #\d{3,}/.test(bodyOf(s))),
      "no card before Semaphore answered",
    );
    release();
    await yes;
    await waitUntil(() => m.sent.some((s) => /Quick job #\d{3,}/.test(bodyOf(s))), 10_000, "the card");
    t.is(m.sent.filter((s) => /Confirmed by/.test(bodyOf(s))).length, 1, "the prompt is edited once");
  } finally {
    await close();
  }
});

test("yes whose answer cannot be posted still leaves the prompt marked confirmed", async (t) => {
  const { m, prompt, close } = await setup();
  try {
    const p = await prompt();
    m.bot.deliver = async () => {
      throw new Error("the card could not be posted");
    };
    await m.message(OPS_ROOM, ALICE, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: p.eventId } } }).catch(() => undefined);
    await waitUntil(() => m.sent.some((s) => /Confirmed by/.test(bodyOf(s))), 10_000, "the Confirmed edit");
    t.is(m.sent.filter((s) => /Confirmed by/.test(bodyOf(s))).length, 1);
  } finally {
    await close();
  }
});
