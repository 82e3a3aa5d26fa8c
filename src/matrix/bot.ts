import { join } from "node:path";
import {
  createClient, ClientEvent, RoomEvent, SyncState, Filter, PendingEventOrdering, EventType, MsgType, KnownMembership,
  type MatrixClient, type MatrixEvent, type Room, type IRoomTimelineData,
} from "matrix-js-sdk";
import type { Operations, ChatPort } from "../core/operations.js";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { FileSyncStore } from "./sync-store.js";
import { createSendScheduler, retryDelay } from "./send-scheduler.js";
import { HandledEvents } from "./handled-events.js";
import { obtainSession, explainMatrixError, LoginError } from "./login.js";
import { stripPrefix, runCommandLine } from "../commands/dispatch.js";
import type { Reply } from "../commands/types.js";

const SYNC_STATE_TO_STORE: Record<string, "syncing" | "catching_up" | "reconnecting" | "error" | "stopped"> = {
  [SyncState.Prepared]: "syncing",
  [SyncState.Syncing]: "syncing",
  [SyncState.Catchup]: "catching_up",
  [SyncState.Reconnecting]: "reconnecting",
  [SyncState.Error]: "error",
  [SyncState.Stopped]: "stopped",
};

export interface MatrixBotOptions {
  ops: Operations;
  log: Log;
  /** Where session.json, sync.json and handled-events live. */
  storeDir: string;
}

/** The Matrix side: login, sync, live-command intake with replay guards, auto-join policy, and sending. */
export class MatrixBot implements ChatPort {
  client?: MatrixClient;
  private store?: FileSyncStore;
  private handled: HandledEvents;
  private ready = false;
  private resumedFromSavedSync = false;
  private readonly processStartedAt = Date.now();
  private stopping = false;
  /** Commands in flight, so shutdown can let them finish replying. */
  private inflight = new Set<Promise<void>>();

  constructor(private readonly opts: MatrixBotOptions) {
    this.handled = new HandledEvents(join(opts.storeDir, "handled-events.txt"));
  }

  private get ops(): Operations { return this.opts.ops; }
  private get cfg() { return this.ops.config.values; }

  /** Logs in (retrying network failures), then starts syncing. Resolves when the first sync is processed. */
  async start(): Promise<void> {
    const { log } = this.opts;
    this.ops.store.setConnection({ matrix: "starting", matrixDetail: `logging in to ${this.cfg.matrix.homeserver}` });
    let session;
    for (let attempt = 1; ; attempt++) {
      try {
        session = await obtainSession(this.cfg.matrix, this.opts.storeDir, log);
        break;
      } catch (e) {
        const err = e instanceof LoginError ? e : explainMatrixError(e, this.cfg.matrix.homeserver, "Login failed");
        this.ops.store.setConnection({ matrix: "error", matrixDetail: err.message });
        if (!err.retryable || this.stopping) throw err;
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
        log.warn(`${err.message} (attempt ${attempt}, next in ${Math.round(delay / 1000)} s)`);
        await new Promise((r) => setTimeout(r, delay));
        if (this.stopping) throw err;
      }
    }
    this.ops.logger.redactor.add(session.accessToken);

    this.store = new FileSyncStore(join(this.opts.storeDir, "sync.json"), session.userId, session.deviceId);
    await this.store.startup();
    this.resumedFromSavedSync = this.store.resumed;
    const client = createClient({
      baseUrl: session.homeserver,
      accessToken: session.accessToken,
      userId: session.userId,
      deviceId: session.deviceId,
      store: this.store,
      scheduler: createSendScheduler(),
      timelineSupport: false,
    });
    this.client = client;

    const prepared = new Promise<void>((resolve, reject) => {
      client.on(ClientEvent.Sync, (state, _prev, data) => {
        const mapped = SYNC_STATE_TO_STORE[state];
        if (mapped) {
          this.ops.store.setConnection({
            matrix: mapped,
            matrixDetail: state === SyncState.Error ? `sync failed: ${errorText(data?.error)}` : undefined,
            ...(mapped === "syncing" ? { matrixLastSync: Date.now() } : {}),
          });
        }
        if (state === SyncState.Prepared && !this.ready) {
          this.ready = true;
          log.info(`sync ready as ${session.userId} (${this.resumedFromSavedSync ? "resumed from saved sync" : "fresh initial sync"})`);
          this.afterReady();
          resolve();
        }
        if (state === SyncState.Error && !this.ready && data?.error) {
          const err = explainMatrixError(data.error, session.homeserver, "First sync failed");
          if (!err.retryable) reject(err);
        }
      });
    });
    client.on(RoomEvent.Timeline, (ev, room, toStart, removed, data) => this.onTimeline(ev, room, toStart, removed, data));
    client.on(RoomEvent.MyMembership, (room, membership) => { if (this.ready) void this.onMembership(room, membership); });
    client.on(RoomEvent.Name, (room) => this.publishRoom(room));

    const filter = new Filter(session.userId);
    filter.setDefinition({
      presence: { not_types: ["*"] },
      account_data: { not_types: ["*"] },
      room: { ephemeral: { not_types: ["*"] }, account_data: { not_types: ["*"] }, state: { lazy_load_members: true }, timeline: { limit: 20, lazy_load_members: true } },
    });
    await client.startClient({ initialSyncLimit: 0, lazyLoadMembers: true, filter, disablePresence: true, threadSupport: false, pendingEventOrdering: PendingEventOrdering.Chronological });
    await prepared;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 3000))]);
    this.client?.stopClient();
    await this.store?.save(true).catch((e) => this.opts.log.warn(`could not save the sync state: ${errorText(e)}`));
    this.ops.store.setConnection({ matrix: "stopped", matrixDetail: undefined });
  }

  private afterReady(): void {
    const client = this.client!;
    for (const room of client.getRooms()) {
      const membership = room.getMyMembership();
      if (membership === KnownMembership.Invite) void this.onMembership(room, membership);
      else if (membership === KnownMembership.Join) this.publishRoom(room);
    }
  }

  private publishRoom(room: Room): void {
    if (room.getMyMembership() !== KnownMembership.Join) return;
    this.ops.store.upsertRoom({
      roomId: room.roomId,
      name: room.name || room.getCanonicalAlias() || room.roomId,
      encrypted: room.hasEncryptionStateEvent(),
      members: room.getJoinedMemberCount(),
      lastActivity: room.getLastActiveTimestamp() > 0 ? room.getLastActiveTimestamp() : undefined,
    });
  }

  /** Invites are accepted only from allowed users; others are rejected so they do not linger. */
  private async onMembership(room: Room, membership: string): Promise<void> {
    const log = this.opts.log;
    if (membership === KnownMembership.Join) { this.publishRoom(room); return; }
    if (membership === KnownMembership.Leave || membership === KnownMembership.Ban) { this.ops.store.removeRoom(room.roomId); return; }
    if (membership !== KnownMembership.Invite) return;
    const me = this.client!.getUserId()!;
    const inviter = room.getMember(me)?.events.member?.getSender() ?? "unknown";
    if (!this.ops.permissions.isAllowedUser(inviter) || !this.ops.permissions.isAllowedRoom(room.roomId)) {
      log.warn(`rejecting invite to ${room.roomId} from ${inviter}: not an allowed user or room`);
      await this.client!.leave(room.roomId).catch((e) => log.warn(`rejecting the invite to ${room.roomId} failed: ${errorText(e)}`));
      return;
    }
    try {
      await this.withRetry(() => this.client!.joinRoom(room.roomId), `join ${room.roomId}`);
      log.info(`joined ${room.roomId} on invite from ${inviter}`);
    } catch (e) {
      const status = (e as { httpStatus?: number }).httpStatus;
      log.warn(`joining ${room.roomId} failed (${errorText(e)})${status === 403 || status === 404 ? "; rejecting the invite" : ""}`);
      if (status === 403 || status === 404) await this.client!.leave(room.roomId).catch(() => undefined);
    }
  }

  private onTimeline(ev: MatrixEvent, room: Room | undefined, toStart: boolean | undefined, removed: boolean, data: IRoomTimelineData): void {
    if (!this.ready || toStart || removed || !data?.liveEvent || !room) return;
    if (ev.getSender() === this.client!.getUserId()) return;
    this.publishRoom(room);
    if (ev.getType() !== EventType.RoomMessage) return;
    const content = ev.getContent();
    if (content["m.relates_to"]?.rel_type === "m.replace") return; // an edit of a command is not a new command
    if (typeof content.body !== "string") return;
    const line = stripPrefix(content.body, this.cfg.bot.command_prefix);
    if (line === undefined) return;
    // Replay guards: Synapse may hand a restarted bot old events as live (stale cached sync, history on join,
    // catch-up after downtime). Catch-up within max_command_age is wanted only when resuming a saved sync.
    const age = Date.now() - ev.getTs();
    const id = ev.getId()!;
    if (age > this.cfg.matrix.max_command_age * 1000 || (!this.resumedFromSavedSync && ev.getTs() < this.processStartedAt - 2000)) {
      this.opts.log.info(`ignoring stale command ${id} in ${room.roomId} (${Math.round(age / 1000)} s old)`);
      return;
    }
    if (!this.ops.permissions.isAllowedRoom(room.roomId, this.aliasesOf(room.roomId))) return;
    if (!this.handled.claim(id)) return;
    const task = this.handleCommand(room.roomId, ev, line).finally(() => this.inflight.delete(task));
    this.inflight.add(task);
  }

  private async handleCommand(roomId: string, ev: MatrixEvent, line: string): Promise<void> {
    const sender = ev.getSender()!;
    if (!this.ops.permissions.isAllowedUser(sender)) {
      this.opts.log.warn(`ignoring command from ${sender} in ${roomId}: not an allowed user`);
      await this.reply(roomId, ev.getId()!, { text: "🚫 Sorry, you are not on this bot's list of allowed users." });
      return;
    }
    const reply = await runCommandLine({ actor: { kind: "chat", userId: sender, roomId, eventId: ev.getId() }, ops: this.ops, prefix: this.cfg.bot.command_prefix }, line);
    await this.reply(roomId, ev.getId()!, reply);
  }

  /** An m.notice in reply to the command. Sent through the retrying per-room scheduler. */
  async reply(roomId: string, inReplyTo: string | undefined, reply: Reply): Promise<string | undefined> {
    const content: Record<string, unknown> = { msgtype: MsgType.Notice, body: reply.text };
    if (reply.html) { content.format = "org.matrix.custom.html"; content.formatted_body = reply.html; }
    if (inReplyTo) content["m.relates_to"] = { "m.in_reply_to": { event_id: inReplyTo } };
    return this.send(roomId, content);
  }

  private async send(roomId: string, content: Record<string, unknown>): Promise<string | undefined> {
    try {
      const res = await this.client!.sendMessage(roomId, content as never);
      this.ops.counters.messagesSent++;
      return res.event_id;
    } catch (e) {
      this.opts.log.error(`sending to ${roomId} failed for good: ${errorText(e)}`);
      return undefined;
    }
  }

  // ChatPort
  async say(roomId: string, text: string, html?: string): Promise<string | undefined> {
    if (!this.client) throw new Error("Matrix is not connected yet");
    const content: Record<string, unknown> = { msgtype: MsgType.Text, body: text };
    if (html) { content.format = "org.matrix.custom.html"; content.formatted_body = html; }
    return this.send(roomId, content);
  }

  async join(room: string): Promise<string> {
    if (!this.client) throw new Error("Matrix is not connected yet");
    const r = await this.withRetry(() => this.client!.joinRoom(room), `join ${room}`);
    return r.roomId;
  }

  async leave(roomId: string): Promise<void> {
    if (!this.client) throw new Error("Matrix is not connected yet");
    await this.withRetry(() => this.client!.leave(roomId), `leave ${roomId}`);
  }

  aliasesOf(roomId: string): string[] {
    const room = this.client?.getRoom(roomId);
    if (!room) return [];
    return [room.getCanonicalAlias(), ...room.getAltAliases()].filter((a): a is string => !!a);
  }

  /** Joins, leaves and state events bypass the SDK scheduler, so they get their own retry on 429 and outages. */
  private async withRetry<T>(fn: () => Promise<T>, what: string, maxAttempts = 6): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try { return await fn(); } catch (e) {
        const delay = retryDelay(e, attempt);
        if (delay < 0 || attempt >= maxAttempts || this.stopping) throw e;
        this.opts.log.debug(`${what} failed (${errorText(e)}), retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
