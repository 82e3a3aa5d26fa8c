// The real MatrixBot intake (replay guards, confirmations, cards, reply splitting, content builders) over a fake
// matrix-js-sdk client that records every event content the bot would send. No network: fast enough for fuzzing.
// The wiring mirrors MatrixBot.start(); what start() adds on top (login, sync) is exercised by the Synapse tests.
import { join } from "node:path";
import { MatrixBot } from "../../src/matrix/bot.js";
import { Confirmations } from "../../src/matrix/confirmations.js";
import { CardManager } from "../../src/matrix/cards.js";
import { editContent, fitOne, EDIT_BUDGET } from "../../src/matrix/content.js";
import type { Operations } from "../../src/core/operations.js";
import type { Reply } from "../../src/commands/types.js";

export interface SentEvent {
  roomId: string;
  type: string;
  content: Record<string, any>;
  eventId: string;
}

export interface FakeMatrix {
  bot: MatrixBot;
  sent: SentEvent[];
  botUserId: string;
  /** Delivers one message as a live timeline event and waits until the bot has finished with it. */
  message(roomId: string, sender: string, body: string, extra?: Record<string, unknown>): Promise<string>;
  reaction(roomId: string, sender: string, target: string, key: string): Promise<string>;
  /** Events the bot sent in reply to (or about) `eventId`. */
  repliesTo(eventId: string): SentEvent[];
  stop(): Promise<void>;
}

let seq = 0;

export function fakeMatrix(ops: Operations, stateDir: string, opts: { editIntervalMs?: number; threadIntervalMs?: number } = {}): FakeMatrix {
  const botUserId = "@bot:test";
  const sent: SentEvent[] = [];
  const rooms = new Map<string, object>();
  const room = (roomId: string) => {
    let r = rooms.get(roomId);
    if (!r) {
      r = {
        roomId,
        name: `room ${roomId}`,
        getMyMembership: () => "join",
        getCanonicalAlias: () => (roomId === "!ops:test" ? "#ops:test" : null),
        getAltAliases: () => [],
        hasEncryptionStateEvent: () => false,
        getJoinedMemberCount: () => 4,
        getLastActiveTimestamp: () => Date.now(),
        getMember: () => null,
      };
      rooms.set(roomId, r);
    }
    return r;
  };
  const record = (roomId: string, type: string, content: Record<string, any>) => {
    const eventId = `$bot${++seq}`;
    sent.push({ roomId, type, content: structuredClone(content), eventId });
    return eventId;
  };
  const client = {
    getUserId: () => botUserId,
    getDeviceId: () => "FAKEDEVICE",
    getHomeserverUrl: () => "https://matrix.invalid",
    getCrypto: () => undefined,
    getRoom: (id: string) => room(id),
    getRooms: () => [...rooms.values()],
    sendMessage: async (roomId: string, content: Record<string, any>) => ({ event_id: record(roomId, "m.room.message", content) }),
    sendEvent: async (roomId: string, type: string, content: Record<string, any>) => ({ event_id: record(roomId, type, content) }),
    joinRoom: async (id: string) => {
      if (/nosuch/.test(id)) throw Object.assign(new Error("M_NOT_FOUND: no such room"), { errcode: "M_NOT_FOUND", httpStatus: 404 });
      return room(id);
    },
    leave: async () => ({}),
  };

  const bot = new MatrixBot({ ops, log: ops.logger.child("matrix"), storeDir: join(stateDir, "matrix") });
  const b = bot as unknown as Record<string, any>;
  b.client = client;
  b.ready = true;
  const send = (roomId: string, content: Record<string, unknown>) => b.send(roomId, content) as Promise<string | undefined>;
  bot.confirmations = new Confirmations(
    ops,
    {
      reply: (roomId, inReplyTo, reply: Reply, actor) => bot.deliver(roomId, inReplyTo, reply, actor),
      edit: async (roomId, eventId, text, html) => {
        await send(roomId, editContent(eventId, fitOne({ text, html }, EDIT_BUDGET)));
      },
    },
    ops.logger.child("matrix"),
  );
  bot.cards = new CardManager({
    ops,
    log: ops.logger.child("cards"),
    stateFile: join(stateDir, "matrix", "cards.json"),
    editIntervalMs: opts.editIntervalMs ?? 50,
    threadIntervalMs: opts.threadIntervalMs ?? 50,
    ports: { send, roomName: (id) => ops.store.rooms.get(id)?.name },
  });
  ops.chat = bot;
  bot.cards.start();

  const settle = async () => {
    const inflight = b.inflight as Set<Promise<void>>;
    while (inflight.size) await Promise.allSettled([...inflight]);
  };
  const event = (roomId: string, sender: string, type: string, content: Record<string, unknown>) => {
    const id = `$in${++seq}`;
    const ts = Date.now();
    const ev = {
      getId: () => id,
      getSender: () => sender,
      getType: () => type,
      getContent: () => content,
      getWireContent: () => content,
      getTs: () => ts,
      getRoomId: () => roomId,
      isEncrypted: () => false,
      isDecryptionFailure: () => false,
    };
    b.onTimeline(ev, room(roomId), false, false, { liveEvent: true });
    return id;
  };
  return {
    bot,
    sent,
    botUserId,
    async message(roomId, sender, body, extra = {}) {
      const id = event(roomId, sender, "m.room.message", { msgtype: "m.text", body, ...extra });
      await settle();
      return id;
    },
    async reaction(roomId, sender, target, key) {
      const id = event(roomId, sender, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: target, key } });
      await settle();
      return id;
    },
    repliesTo: (eventId) => sent.filter((s) => s.content["m.relates_to"]?.["m.in_reply_to"]?.event_id === eventId),
    async stop() {
      await settle();
      await bot.confirmations?.cancelAll();
      await bot.cards?.stop();
    },
  };
}
