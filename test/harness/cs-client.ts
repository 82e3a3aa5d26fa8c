// A minimal Matrix client-server API client over fetch, for test users. It is independent of matrix-js-sdk on
// purpose: assertions about what the bot sent should not go through the same library the bot uses.
import { randomUUID } from "node:crypto";

export interface RawEvent {
  event_id: string;
  sender: string;
  type: string;
  origin_server_ts: number;
  content: Record<string, any>;
  unsigned?: Record<string, any>;
}

export class RawClient {
  constructor(
    readonly baseUrl: string,
    readonly accessToken: string,
    readonly userId: string,
  ) {}

  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${this.baseUrl}/_matrix/client/v3${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.accessToken}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json().catch(() => ({}))) as any;
      if (res.status === 429 && attempt < 10) {
        await new Promise((r) => setTimeout(r, json.retry_after_ms ?? 500));
        continue;
      }
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json as T;
    }
  }

  async createRoom(opts: { invite?: string[]; name?: string; encrypted?: boolean } = {}): Promise<string> {
    const r = await this.call<{ room_id: string }>("POST", "/createRoom", {
      preset: "private_chat",
      invite: opts.invite ?? [],
      name: opts.name,
      initial_state: opts.encrypted ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] : [],
    });
    return r.room_id;
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.call("POST", `/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: userId });
  }

  async send(roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await this.call<{ event_id: string }>("PUT", `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${randomUUID()}`, {
      msgtype: "m.text",
      body,
      ...extra,
    });
    return r.event_id;
  }

  async members(roomId: string): Promise<Record<string, string>> {
    const r = await this.call<{ chunk: RawEvent[] }>("GET", `/rooms/${encodeURIComponent(roomId)}/members`);
    return Object.fromEntries(r.chunk.map((e) => [(e as any).state_key as string, e.content.membership as string]));
  }

  /** The room's recent timeline, oldest first. */
  async messages(roomId: string, limit = 100): Promise<RawEvent[]> {
    const r = await this.call<{ chunk: RawEvent[] }>("GET", `/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=${limit}`);
    return r.chunk.reverse();
  }

  /** Polls the room until `pred` matches an event, or fails after timeoutMs. */
  async waitFor(roomId: string, pred: (e: RawEvent) => boolean, timeoutMs = 20_000, what = "event"): Promise<RawEvent> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = (await this.messages(roomId)).find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ${roomId}`);
  }

  async waitForMembership(roomId: string, userId: string, membership: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.members(roomId))[userId] === membership) return;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`timed out waiting for ${userId} to be ${membership} in ${roomId}`);
  }
}

/** Replies to a given event: m.in_reply_to relation pointing at it. */
export const isReplyTo =
  (eventId: string) =>
  (e: RawEvent): boolean =>
    e.content?.["m.relates_to"]?.["m.in_reply_to"]?.event_id === eventId;
