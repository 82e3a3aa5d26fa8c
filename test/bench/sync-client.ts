// A chat user for the benchmarks: raw client-server API calls and one /sync long-poll loop, so a reply is timed the
// moment Synapse hands it over (no SDK work in between). matrix-bench's pinger and scale-bench's load users are this.
import { randomUUID } from "node:crypto";
import { sleep } from "./figures.js";

export class SyncUser {
  private since?: string;
  private stopped = false;
  /** Who has joined each room, from the member events seen. */
  readonly joined = new Map<string, Set<string>>();
  /** Called for every reply (m.in_reply_to, not an edit) seen in the sync, with when it was seen. */
  onReply?: (sender: string, toEventId: string, at: number, body: string) => void;
  /** ping()'s waiters, by the event id a reply must answer. */
  private readonly replyWaiters = new Map<string, (at: number) => void>();

  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  async start(): Promise<void> {
    this.since = (await this.sync(0)).next_batch;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
  }

  private async sync(timeout: number): Promise<any> {
    const q = new URLSearchParams({ timeout: String(timeout) });
    if (this.since) q.set("since", this.since);
    const res = await fetch(`${this.url}/_matrix/client/v3/sync?${q}`, { headers: { Authorization: `Bearer ${this.token}` } });
    return res.json();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const r = await this.sync(30_000).catch(() => undefined);
      if (!r?.next_batch) {
        await sleep(200);
        continue;
      }
      this.since = r.next_batch;
      const now = performance.now();
      for (const [roomId, room] of Object.entries<any>(r.rooms?.join ?? {})) {
        for (const ev of room.timeline?.events ?? []) {
          const rel = ev.content?.["m.relates_to"];
          const to = rel?.["m.in_reply_to"]?.event_id;
          if (to && rel?.rel_type !== "m.replace") {
            this.replyWaiters.get(to)?.(now);
            this.replyWaiters.delete(to);
            this.onReply?.(ev.sender, to, now, String(ev.content?.body ?? ""));
          }
          if (ev.type === "m.room.member" && ev.content?.membership === "join") {
            const s = this.joined.get(roomId) ?? new Set();
            s.add(ev.state_key);
            this.joined.set(roomId, s);
          }
        }
      }
    }
  }

  /** A client-server API call; rate-limited calls are retried after the time Synapse asks for. */
  async call(method: string, path: string, body?: unknown): Promise<any> {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${this.url}/_matrix/client/v3${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as any;
      if (res.status === 429 && attempt < 5) {
        await sleep(json.retry_after_ms ?? 500);
        continue;
      }
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    }
  }

  async send(roomId: string, body: string, inReplyTo?: string): Promise<string> {
    const content: Record<string, unknown> = { msgtype: "m.text", body };
    if (inReplyTo) content["m.relates_to"] = { "m.in_reply_to": { event_id: inReplyTo } };
    return (await this.call("PUT", `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${randomUUID()}`, content)).event_id;
  }

  async waitJoin(roomId: string, userIds: string[], timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!userIds.every((u) => this.joined.get(roomId)?.has(u))) {
      if (Date.now() > end) throw new Error(`${userIds.join(", ")} did not all join ${roomId} within ${timeoutMs / 1000} s`);
      await sleep(50);
    }
  }

  /** Sends `!cd ping` and resolves with the round trip once a reply to it is in this user's sync. */
  async ping(roomId: string, timeoutMs = 20_000): Promise<number> {
    const t0 = performance.now();
    const id = await this.send(roomId, "!cd ping");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to a ping in ${timeoutMs / 1000} s`)), timeoutMs);
      this.replyWaiters.set(id, (at) => {
        clearTimeout(timer);
        resolve(at - t0);
      });
    });
  }
}
