// The bot dying with a card message on its way out, made deterministic (test/faults.test.ts kills the real program at
// whatever moment the timing gives): a fake homeserver accepts the message but its answer never comes back, the bot
// "dies" right then, and a new engine on the same state files takes over. The message must be sent again with the same
// transaction id (which a homeserver answers with the event it already has), so nothing is lost and nothing doubled.
import test from "ava";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CardManager, type CardPorts } from "../src/matrix/cards.js";
import { stripControl } from "../src/util/ansi.js";
import { TaskTracker } from "../src/semaphore/tracker.js";
import { startEngine, waitUntil, OPS_ROOM } from "./helpers-chat/ops.js";

interface Ev {
  id: string;
  txnId: string;
  content: any;
}

/** A homeserver that keeps events by transaction id, like Synapse: a repeated id gets the first event back. */
function fakeHomeserver() {
  const events: Ev[] = [];
  const sends: Array<{ port: string; txnId?: string }> = [];
  let n = 0;
  let crashOn: ((content: any) => boolean) | undefined;
  let crashed = false;
  let onCrash = () => {};
  const port = (name: string): CardPorts => ({
    roomName: () => "Ops",
    async send(_room, content, txnId) {
      sends.push({ port: name, txnId });
      if (name === "dead" || (name === "first" && crashed)) return new Promise<never>(() => {});
      const known = txnId ? events.find((e) => e.txnId === txnId) : undefined;
      if (known) return known.id;
      const ev = { id: `$e${++n}`, txnId: txnId ?? `auto${n}`, content };
      events.push(ev);
      if (name === "first" && crashOn?.(content)) {
        crashed = true;
        onCrash();
        return new Promise<never>(() => {});
      }
      return ev.id;
    },
  });
  return {
    events,
    sends,
    port,
    /** The first message matching `pred` is stored, its answer never arrives, and the first bot is dead from then on. */
    crashWhen(pred: (content: any) => boolean): Promise<Ev> {
      crashOn = pred;
      return new Promise((r) => {
        onCrash = () => r(events.at(-1)!);
      });
    },
  };
}

const rel = (c: any) => c?.["m.relates_to"];
const isCard = (e: Ev) => !rel(e.content)?.rel_type && /#\d+: /.test(e.content.body) && !e.content["m.mentions"]?.user_ids?.length;

const CRASHES: Array<{ what: string; exitCode: number; at: (content: any, card: () => string | undefined) => boolean }> = [
  { what: "the card itself", exitCode: 0, at: (c) => !rel(c)?.rel_type && /#\d+: /.test(c.body) },
  { what: "a thread batch", exitCode: 0, at: (c, card) => rel(c)?.rel_type === "m.thread" && rel(c).event_id === card() && /line 3\b/.test(c.body) },
  { what: "the final edit", exitCode: 0, at: (c) => rel(c)?.rel_type === "m.replace" && /: success/.test(c["m.new_content"]?.body ?? "") },
  { what: "the failure mention", exitCode: 2, at: (c) => (c["m.mentions"]?.user_ids?.length ?? 0) > 0 },
];

for (const crash of CRASHES) {
  test(`the bot dies with ${crash.what} on its way out: sent again with the same transaction id, once`, async (t) => {
    const ini = `[room "${OPS_ROOM}"]\nrun = *\n`;
    const e1 = await startEngine({ ini });
    const hs = fakeHomeserver();
    // Where the bot keeps it: in the Matrix store directory, not in the state directory (watched for aliases.json).
    const stateFile = join(mkdtempSync(join(tmpdir(), "chatrixcd-cards-")), "cards.json");
    const opts = { stateFile, editIntervalMs: 100, threadIntervalMs: 100, threadChunkLines: 3 };
    const first = new CardManager({ ops: e1.ops, ports: hs.port("first"), log: e1.logger.child("cards1"), ...opts });
    let cardId: string | undefined;
    const crashed = hs.crashWhen((c) => crash.at(c, () => cardId));
    first.start();
    const tpl = e1.server.addTemplate(1, {
      name: "Crashy",
      scenario: { lines: Array.from({ length: 12 }, (_, i) => `line ${i}`), delayUnits: 40, exitCode: crash.exitCode },
    });
    const started = await (await e1.cmd(`run 1 ${tpl.id}`)).confirm!.onConfirm();
    const key = (started.card as { taskKey: string }).taskKey;
    void first.post(OPS_ROOM, "$cmd", started.card!, started, e1.actor()).then((id) => {
      cardId = id;
    });
    await waitUntil(() => cardId ?? hs.events.find(isCard)?.id, 10_000, "the card").then((id) => {
      cardId = id;
    });
    const lost = await crashed;
    await e1.tracker!.stop(); // the dead bot sees nothing more
    // The new engine on the dead one's state: its tracked tasks (origins) and its cards.
    const e2 = await startEngine({ ini, server: e1.server, tracker: false });
    e2.ops.tracker = new TaskTracker({
      client: e2.ops.semaphore!,
      store: e2.store,
      log: e2.logger.child("tracker"),
      pollIntervalMs: 500,
      stateFile: join(e1.stateDir, "tracked.json"),
    });
    await e2.ops.tracker.start();
    const second = new CardManager({ ops: e2.ops, ports: hs.port("second"), log: e2.logger.child("cards2"), ...opts });
    second.start();
    try {
      const want = crash.exitCode ? "error" : "success";
      await waitUntil(() => e2.store.tasks.get(key)?.status === want, 20_000, want);
      const output = (await e2.ops.semaphore!.taskOutput(1, Number(key.split(":")[1]))).map((l) => stripControl(l.output)).join("\n");
      const thread = () => hs.events.filter((e) => rel(e.content)?.rel_type === "m.thread" && rel(e.content).event_id === cardId);
      const edits = () => hs.events.filter((e) => rel(e.content)?.rel_type === "m.replace" && rel(e.content).event_id === cardId);
      await waitUntil(
        () =>
          thread()
            .map((e) => e.content.body)
            .join("\n") === output && new RegExp(`: ${want}`).test(edits().at(-1)?.content["m.new_content"].body ?? ""),
        10_000,
        "the thread complete and the card final",
      );
      await new Promise((r) => setTimeout(r, 500));
      const resent = hs.sends.filter((s) => s.port === "second" && s.txnId === lost.txnId);
      t.log(
        `${crash.what}: lost answer ${lost.txnId}, resent ${resent.length}×; ${hs.events.length} events, ${thread().length} thread messages, ` +
          `${edits().length} edits`,
      );
      t.is(resent.length, 1, "the message in flight was sent again, with its transaction id");
      t.is(hs.events.filter(isCard).length, 1, "one card");
      t.deepEqual(
        second.list(OPS_ROOM).map((c) => c.eventId),
        [cardId],
        "the new bot edits the same card",
      );
      t.is(
        thread()
          .map((e) => e.content.body)
          .join("\n"),
        output,
        "every line once, in order",
      );
      t.is(edits().filter((e) => new RegExp(`: ${want}`).test(e.content["m.new_content"].body)).length, 1, "the final state edited in once");
      t.is(hs.events.filter((e) => e.content["m.mentions"]?.user_ids?.length).length, crash.exitCode ? 1 : 0, "the failure mentioned once");
      for (let i = 1; i < thread().length; i++)
        t.is(rel(thread()[i]!.content)["m.in_reply_to"].event_id, thread()[i - 1]!.id, "the thread's reply chain is unbroken");
    } finally {
      await second.stop();
      void first.stop();
      await e2.ops.tracker.stop();
      await e2.close();
      await e1.close();
    }
  });
}
