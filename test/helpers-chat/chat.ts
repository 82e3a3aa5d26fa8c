// Integration fixture: a real Synapse (from the test runner), the Semaphore-compatible server, the bot, and three
// people (alice, bob, carol) in a room with the bot. Bob's client is the independent observer of what the bot sent.
import { randomUUID } from "node:crypto";
import { requireSynapse, uniqueLocalpart } from "../harness/integration.js";
import { RawClient, type RawEvent } from "../harness/cs-client.js";
import { startTestBot, type TestBot } from "../harness/bot.js";
import { startSemaphoreServer, type SemaphoreServer } from "../../src/emulator/index.js";

export const PASSWORD = "correct horse battery staple";

export interface ChatFixture {
  bot: TestBot;
  botUserId: string;
  server: SemaphoreServer;
  alice: RawClient;
  bob: RawClient;
  carol: RawClient;
  rooms: string[];
  close(): Promise<void>;
}

export interface ChatFixtureOptions {
  /** INI text appended to the bot's config; `{room0}`, `{room1}` ... are replaced by the room ids. */
  ini?: (ids: { alice: string; bob: string; carol: string; rooms: string[] }) => string;
  rooms?: number;
  server?: SemaphoreServer;
  /** Semaphore URL the bot uses (a proxy); default the server's. */
  semaphoreUrl?: (server: SemaphoreServer) => string;
}

export async function chatFixture(o: ChatFixtureOptions = {}): Promise<ChatFixture> {
  const hs = requireSynapse();
  const [botU, a, b, c] = await Promise.all([
    hs.registerUser(uniqueLocalpart("bot"), PASSWORD),
    hs.registerUser(uniqueLocalpart("alice"), PASSWORD),
    hs.registerUser(uniqueLocalpart("bob"), PASSWORD),
    hs.registerUser(uniqueLocalpart("carol"), PASSWORD),
  ]);
  const alice = new RawClient(hs.url, a!.accessToken, a!.userId);
  const bob = new RawClient(hs.url, b!.accessToken, b!.userId);
  const carol = new RawClient(hs.url, c!.accessToken, c!.userId);
  const rooms: string[] = [];
  for (let i = 0; i < (o.rooms ?? 1); i++) {
    const id = await alice.createRoom({ invite: [botU!.userId, bob.userId, carol.userId], name: `ops ${i}` });
    await bob.call("POST", `/join/${encodeURIComponent(id)}`, {});
    await carol.call("POST", `/join/${encodeURIComponent(id)}`, {});
    rooms.push(id);
  }
  const server = o.server ?? (await startSemaphoreServer({ tickMs: 30, lineDelayMs: 5, seed: "demo" }));
  const bot = await startTestBot({
    homeserver: hs.url,
    userId: botU!.userId,
    password: PASSWORD,
    admins: [],
    allowed: [alice.userId, bob.userId, carol.userId],
    semaphore: { url: o.semaphoreUrl?.(server) ?? server.url, token: server.tokens["runner"]! },
    // These tests were written for rooms without a policy being read-only (the default is none).
    extra: `[bot]\ndefault_room_access = read\n${o.ini?.({ alice: alice.userId, bob: bob.userId, carol: carol.userId, rooms }) ?? ""}`,
  });
  for (const id of rooms) await alice.waitForMembership(id, botU!.userId, "join");
  return {
    bot,
    botUserId: botU!.userId,
    server,
    alice,
    bob,
    carol,
    rooms,
    async close() {
      await bot.stop();
      if (!o.server) await server.stop();
    },
  };
}

export async function allEvents(c: RawClient, roomId: string): Promise<RawEvent[]> {
  return c.messages(roomId, 1000);
}

export async function react(c: RawClient, roomId: string, eventId: string, key: string): Promise<string> {
  const r = await c.call<{ event_id: string }>("PUT", `/rooms/${encodeURIComponent(roomId)}/send/m.reaction/${randomUUID()}`, {
    "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key },
  });
  return r.event_id;
}

export const isEditOf = (id: string) => (e: RawEvent) => e.content?.["m.relates_to"]?.rel_type === "m.replace" && e.content["m.relates_to"].event_id === id;
export const inThreadOf = (id: string) => (e: RawEvent) => e.content?.["m.relates_to"]?.rel_type === "m.thread" && e.content["m.relates_to"].event_id === id;
/** The latest text of a message: its newest edit's m.new_content, or itself. */
export function currentBody(events: RawEvent[], id: string): { body: string; html?: string } {
  const edits = events.filter(isEditOf(id));
  const last = edits.at(-1);
  const c = last ? last.content["m.new_content"] : events.find((e) => e.event_id === id)?.content;
  return { body: c?.body ?? "", html: c?.formatted_body };
}
