import { join } from "node:path";
import { renameDurable } from "../util/atomic-write.js";
import {
  createClient,
  ClientEvent,
  RoomEvent,
  SyncState,
  Filter,
  PendingEventOrdering,
  EventType,
  MsgType,
  KnownMembership,
  HttpApiEvent,
  type MatrixClient,
  type MatrixEvent,
  type Room,
  type IRoomTimelineData,
} from "matrix-js-sdk";
import { BotCrypto, findCryptoStore, deviceHasPublishedKeys, type StoreOnDisk } from "./crypto.js";
import { VerificationManager } from "./verification.js";
import type { Operations, ChatPort } from "../core/operations.js";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { FileSyncStore } from "./sync-store.js";
import { createSendScheduler, retryDelay } from "./send-scheduler.js";
import { HandledEvents } from "./handled-events.js";
import { obtainSession, explainMatrixError, LoginError, discardSession, type ObtainedSession, type LoginPrompter } from "./login.js";
import { tokenRefreshOptions } from "./oauth.js";
import { stripPrefix, runCommandLine } from "../commands/dispatch.js";
import type { Reply } from "../commands/types.js";
import type { Actor, ChatInfo } from "../core/operations.js";
import { Confirmations } from "./confirmations.js";
import { CardManager } from "./cards.js";
import { noticeContent, editContent, reactionContent, fitParts, fitOne, mentionHtml, EDIT_BUDGET } from "./content.js";

const SYNC_STATE_TO_STORE: Record<string, "syncing" | "catching_up" | "reconnecting" | "error" | "stopped"> = {
  [SyncState.Prepared]: "syncing",
  [SyncState.Syncing]: "syncing",
  [SyncState.Catchup]: "catching_up",
  [SyncState.Reconnecting]: "reconnecting",
  [SyncState.Error]: "error",
  [SyncState.Stopped]: "stopped",
};

/**
 * The (decrypted) content with its relation. In encrypted events the relation must be in the cleartext wire content
 * and may be missing from the encrypted payload, so it is taken from there when needed.
 */
function contentWithRelation(ev: MatrixEvent): Record<string, any> {
  const content = ev.getContent();
  if (content["m.relates_to"] || !ev.isEncrypted()) return content;
  const rel = ev.getWireContent()["m.relates_to"];
  return rel ? { ...content, "m.relates_to": rel } : content;
}

export interface MatrixBotOptions {
  ops: Operations;
  log: Log;
  /** Where session.json, sync.json and handled-events live. */
  storeDir: string;
  /** For interactive logins (SSO): asks the operator for the token. */
  prompt?: LoginPrompter;
}

/** The Matrix side: login, sync, live-command intake with replay guards, auto-join policy, and sending. */
export class MatrixBot implements ChatPort {
  client?: MatrixClient;
  /** End-to-end encryption, when [matrix] encryption is on. */
  crypto?: BotCrypto;
  /** SAS verification of other devices (ChatPort.verification), when encryption is on. */
  verification?: VerificationManager;
  private store?: FileSyncStore;
  private handled: HandledEvents;
  private ready = false;
  private resumedFromSavedSync = false;
  private readonly processStartedAt = Date.now();
  private stopping = false;
  /** Ends an interactive login (SSO, device grant) still waiting for the operator when the bot stops. */
  private readonly loginAbort = new AbortController();
  /** Resolves when a sync from the network (not the saved cache) has completed. */
  private liveSyncDone!: () => void;
  private liveSync = new Promise<void>((r) => {
    this.liveSyncDone = r;
  });
  /** Commands in flight, so shutdown can let them finish replying. */
  private inflight = new Set<Promise<void>>();
  confirmations?: Confirmations;
  cards?: CardManager;

  constructor(private readonly opts: MatrixBotOptions) {
    this.handled = new HandledEvents(join(opts.storeDir, "handled-events.txt"));
  }

  private get ops(): Operations {
    return this.opts.ops;
  }
  private get cfg() {
    return this.ops.config.values;
  }

  /** obtainSession with retries of network failures and rate limits. */
  private async login(opts: { fresh?: boolean } = {}): Promise<ObtainedSession> {
    const log = this.opts.log;
    for (let attempt = 1; ; attempt++) {
      try {
        return await obtainSession(this.cfg.matrix, this.opts.storeDir, log, {
          ...opts,
          prompt: this.opts.prompt,
          redact: (secret) => this.ops.logger.redactor.add(secret),
          signal: this.loginAbort.signal,
        });
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
  }

  private async deviceHasKeys(session: ObtainedSession): Promise<boolean> {
    const probe = createClient({ baseUrl: session.homeserver, accessToken: session.accessToken, userId: session.userId, deviceId: session.deviceId });
    try {
      return await deviceHasPublishedKeys(probe, session.userId, session.deviceId);
    } catch (e) {
      throw explainMatrixError(e, session.homeserver, "Checking the device's encryption keys failed");
    }
  }

  /** Cross-signing (if asked for) and the first trust summaries, once the first sync is in. */
  private async afterCryptoReady(): Promise<void> {
    const crypto = this.crypto!;
    if (this.cfg.matrix.cross_signing) await crypto.bootstrapCrossSigning(this.cfg.matrix.password || undefined);
    else await crypto.refreshCrossSigning();
    for (const room of this.client!.getRooms())
      if (room.hasEncryptionStateEvent() && room.getMyMembership() === KnownMembership.Join) crypto.markRoom(room.roomId);
  }

  /** Logs in (retrying network failures), then starts syncing. Resolves when the first sync is processed. */
  async start(): Promise<void> {
    const { log } = this.opts;
    this.ops.store.setConnection({ matrix: "starting", matrixDetail: `logging in to ${this.cfg.matrix.homeserver}` });
    let session = await this.login();
    this.ops.logger.redactor.add(session.accessToken);
    const encryption = this.cfg.matrix.encryption;
    let cryptoStore: StoreOnDisk | undefined;
    if (encryption) {
      cryptoStore = await findCryptoStore(this.opts.storeDir, session.userId, session.deviceId);
      // The trap: a device whose identity keys are on the server cannot be taken over by an empty store (new keys
      // would be refused, and every message to it would be undecryptable). Log in afresh as a new device instead.
      if (cryptoStore.kind === "absent" && !session.fresh && (await this.deviceHasKeys(session))) {
        const why =
          `${cryptoStore.why}, but device ${session.deviceId} already has encryption keys on the homeserver, so its access token cannot be reused without ` +
          `its keys`;
        log.warn(`${why}: logging in afresh as a new device`);
        // A configured token is the operator's to revoke; a saved one is ours, and its device would only linger.
        if (session.source !== "config") await discardSession(session, this.opts.storeDir, log);
        try {
          session = await this.login({ fresh: true });
        } catch (e) {
          if (e instanceof LoginError && !e.retryable)
            throw new LoginError(
              `Encryption cannot start: ${why}, and a new login is not possible (${e.message}) Give an access token of a new device, a password or ` +
                `another login method, or set [matrix] encryption = false.`,
              false,
            );
          throw e;
        }
        cryptoStore = { kind: "absent", why: "new device" };
      } else if (cryptoStore.kind === "match" && !(await this.deviceHasKeys(session))) {
        // The device was deleted on the server (e.g. its token was logged out) and the re-login got its ID again:
        // the old keys would never be uploaded again, so the store is put aside and the device starts afresh.
        const aside = `${join(this.opts.storeDir, "crypto-store.bin")}.stale-${Date.now()}`;
        log.warn(
          `the homeserver has no keys for device ${session.deviceId} (the device was deleted and recreated), so its old crypto store cannot be used; ` +
            `moved it to ${aside} and starting with new keys`,
        );
        await renameDurable(join(this.opts.storeDir, "crypto-store.bin"), aside);
        cryptoStore = { kind: "absent", why: "stale store put aside" };
      }
    } else {
      this.ops.store.setCrypto({ enabled: false, detail: "[matrix] encryption = false" });
    }

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
      // OAuth sessions: the SDK renews the expiring access token with the refresh token (saved each time).
      ...tokenRefreshOptions(session, this.opts.storeDir, this.ops.logger.child("oauth"), (secret) => this.ops.logger.redactor.add(secret)),
    });
    this.client = client;
    let loggedOut = false;
    client.on(HttpApiEvent.SessionLoggedOut, (e) => {
      if (loggedOut || this.stopping) return;
      loggedOut = true;
      const why =
        `the homeserver no longer accepts the bot's access token ` +
        `(${e.errcode ?? e.httpStatus})${session.oauth ? ", and the authorization server refused to renew it" : ""}, so the session was revoked or signed ` +
        `out elsewhere. Restart the bot to log in again${this.cfg.matrix.login_method === "oauth_device" ? " (a new device authorization)" : ""}.`;
      log.error(why);
      this.ops.store.setConnection({ matrix: "error", matrixDetail: why });
    });
    this.store.onSaveError = (e) => log.warn(`saving the sync state${encryption ? " and crypto store" : ""} failed (will retry): ${errorText(e)}`);
    if (encryption) {
      this.crypto = new BotCrypto({
        client,
        ops: this.ops,
        log: this.ops.logger.child("crypto"),
        storeDir: this.opts.storeDir,
        storageKey: this.cfg.matrix.storage_key,
        userId: session.userId,
        deviceId: session.deviceId,
      });
      this.crypto.onTrustChange = (roomId) => {
        const room = client.getRoom(roomId);
        if (room) this.publishRoom(room);
      };
      await this.crypto.init(cryptoStore?.kind === "match" ? cryptoStore.snapshot : undefined);
      if (cryptoStore?.kind === "match" && this.store.cryptoGeneration && this.store.cryptoGeneration !== cryptoStore.snapshot.generation) {
        log.info("the crypto store is newer than the saved sync (the process stopped between the two writes); continuing");
      }
      this.store.beforeSave = () => this.crypto!.save();
      this.verification = new VerificationManager({
        client,
        crypto: this.crypto.crypto!,
        ops: this.ops,
        log: this.ops.logger.child("verify"),
        notify: async (roomId, text, html, mentions) => {
          await this.reply(roomId, undefined, { text, html, mentions });
        },
        onVerified: (userId) => this.crypto?.devicesChangedFor([userId]),
      });
    }
    this.confirmations = new Confirmations(
      this.ops,
      {
        reply: (roomId, inReplyTo, reply, actor) => this.deliver(roomId, inReplyTo, reply, actor),
        edit: async (roomId, eventId, text, html) => {
          await this.send(roomId, editContent(eventId, fitOne({ text, html }, EDIT_BUDGET)));
        },
      },
      this.opts.log,
    );
    this.cards = new CardManager({
      ops: this.ops,
      log: this.ops.logger.child("cards"),
      stateFile: join(this.opts.storeDir, "cards.json"),
      ports: { send: (roomId, content, txnId) => this.send(roomId, content, txnId), roomName: (id) => this.ops.store.rooms.get(id)?.name },
    });

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
        if (state === SyncState.Syncing) this.liveSyncDone();
        if (state === SyncState.Prepared && !this.ready) {
          this.ready = true;
          log.info(`sync ready as ${session.userId} (${this.resumedFromSavedSync ? "resumed from saved sync" : "fresh initial sync"})`);
          this.afterReady();
          // The first save right away, so the crypto store of a new device is on disk with its session.
          void this.store?.save(true);
          if (this.crypto) void this.afterCryptoReady();
          this.cards?.start();
          void Promise.allSettled(this.startupJoins).then(() => this.greet("startup"));
          resolve();
        }
        if (state === SyncState.Error && !this.ready && data?.error) {
          const err = explainMatrixError(data.error, session.homeserver, "First sync failed");
          if (!err.retryable) reject(err);
        }
      });
    });
    client.on(RoomEvent.Timeline, (ev, room, toStart, removed, data) => this.onTimeline(ev, room, toStart, removed, data));
    client.on(RoomEvent.MyMembership, (room, membership) => {
      if (this.ready) void this.onMembership(room, membership);
    });
    client.on(RoomEvent.Name, (room) => this.publishRoom(room));

    const filter = new Filter(session.userId);
    filter.setDefinition({
      presence: { not_types: ["*"] },
      account_data: { not_types: ["*"] },
      room: {
        ephemeral: { not_types: ["*"] },
        account_data: { not_types: ["*"] },
        state: { lazy_load_members: true },
        timeline: { limit: 20, lazy_load_members: true },
      },
    });
    // Policies and allowed_rooms keyed by alias count only through the directory; resolved before any invite or command.
    await this.ops.resolveRoomAliases();
    await client.startClient({
      initialSyncLimit: 0,
      lazyLoadMembers: true,
      filter,
      disablePresence: true,
      threadSupport: false,
      pendingEventOrdering: PendingEventOrdering.Chronological,
    });
    await prepared;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.loginAbort.abort();
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, 3000))]);
    await this.confirmations?.cancelAll();
    await this.verification?.close().catch(() => undefined);
    if (this.ready) await Promise.race([this.greet("shutdown"), new Promise((r) => setTimeout(r, 3000).unref())]);
    await this.cards?.stop().catch((e) => this.opts.log.warn(`flushing status cards failed: ${errorText(e)}`));
    // Stopping while the SDK's first network sync after a cached start is in flight leaves an unhandled
    // AbortError inside the SDK; letting that sync finish (briefly) avoids it.
    if (this.client && this.resumedFromSavedSync) await Promise.race([this.liveSync, new Promise((r) => setTimeout(r, 3000).unref())]);
    this.client?.stopClient();
    await this.store?.save(true).catch((e) => this.opts.log.warn(`could not save the sync state: ${errorText(e)}`));
    await this.crypto?.close().catch((e) => this.opts.log.debug(`closing the crypto store: ${errorText(e)}`));
    this.ops.store.setConnection({ matrix: "stopped", matrixDetail: undefined });
  }

  /** Joins of invites received while offline, so the startup greeting can wait for them. */
  private startupJoins: Promise<void>[] = [];

  private afterReady(): void {
    const client = this.client!;
    for (const room of client.getRooms()) {
      const membership = room.getMyMembership();
      if (membership === KnownMembership.Invite) this.startupJoins.push(this.onMembership(room, membership));
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
      ...(room.hasEncryptionStateEvent() && this.crypto?.roomTrust(room.roomId) ? { trust: this.crypto.roomTrust(room.roomId) } : {}),
    });
  }

  /** The startup/shutdown line ([bot] greeting_rooms, personality file) in each greeting room the bot is in. */
  private async greet(kind: "startup" | "shutdown"): Promise<void> {
    const rooms = this.cfg.bot.greeting_rooms;
    if (!rooms.length || !this.client) return;
    const text = this.ops.messages.pick(kind);
    await Promise.all(
      rooms.map(async (ref) => {
        const id = this.ops.permissions.roomIdOf(ref);
        if (!id) {
          this.opts.log.warn(`greeting room ${ref} skipped: the homeserver's directory did not resolve that alias`);
          return;
        }
        await this.send(id, noticeContent({ text }));
      }),
    );
  }

  /**
   * Invites are accepted only from admins and allowed users, and only to allowed rooms; others are rejected so they
   * do not linger. A room joined this way without a [room] section gets only the defaults for such rooms.
   */
  private async onMembership(room: Room, membership: string): Promise<void> {
    const log = this.opts.log;
    if (membership === KnownMembership.Join) {
      this.publishRoom(room);
      return;
    }
    if (membership === KnownMembership.Leave || membership === KnownMembership.Ban) {
      this.ops.store.removeRoom(room.roomId);
      return;
    }
    if (membership !== KnownMembership.Invite) return;
    const me = this.client!.getUserId()!;
    const inviter = room.getMember(me)?.events.member?.getSender() ?? "unknown";
    const decision = this.ops.mayAcceptInvite(inviter, room.roomId);
    if (!decision.allowed) {
      log.warn(`rejecting invite to ${room.roomId} from ${inviter}: ${decision.reason}`);
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
    if (ev.getType() === EventType.RoomMember && this.crypto && room.hasEncryptionStateEvent()) this.crypto.markRoom(room.roomId);
    if (ev.isEncrypted()) {
      void this.onEncrypted(ev, room);
      return;
    }
    this.onLiveEvent(ev, room);
  }

  /** Waits for the SDK's decryption; an undecryptable event is counted and handled later if its key arrives. */
  private async onEncrypted(ev: MatrixEvent, room: Room): Promise<void> {
    if (!this.crypto) {
      this.noteUnreadable(ev, room);
      return;
    }
    await this.client!.decryptEventIfNeeded(ev);
    if (ev.isDecryptionFailure()) {
      this.crypto.trackUndecryptable(ev, room, (decrypted) => this.onLiveEvent(decrypted, room));
      return;
    }
    this.onLiveEvent(ev, room);
  }

  private unreadableWarned = new Set<string>();
  /** Encryption is off: count what cannot be read, and say why once per room. */
  private noteUnreadable(ev: MatrixEvent, room: Room): void {
    const c = this.ops.store.crypto;
    this.ops.store.setCrypto({
      undecryptable: c.undecryptable + 1,
      lastUndecryptable: { roomId: room.roomId, sender: ev.getSender() ?? "?", eventId: ev.getId()!, reason: "encryption is off", at: Date.now() },
    });
    if (this.unreadableWarned.has(room.roomId)) return;
    this.unreadableWarned.add(room.roomId);
    this.opts.log.warn(`cannot read encrypted messages in ${room.roomId}: [matrix] encryption = false`);
  }

  /** A live, readable event from someone else: a command, an answer to a confirmation, or a reaction. */
  private onLiveEvent(ev: MatrixEvent, room: Room): void {
    const type = ev.getType();
    if (type !== EventType.RoomMessage && type !== EventType.Reaction) return;
    const content = contentWithRelation(ev);
    const sender = ev.getSender()!;
    let line: string | undefined;
    if (type === EventType.RoomMessage) {
      if (content["m.relates_to"]?.rel_type === "m.replace") return; // an edit of a command is not a new command
      if (typeof content.body !== "string") return;
      line = stripPrefix(content.body, this.cfg.bot.command_prefix);
      if (line === undefined && !this.confirmations?.pendingFor(room.roomId, sender)) return;
    } else {
      const rel = content["m.relates_to"];
      if (rel?.rel_type !== "m.annotation" || typeof rel.event_id !== "string" || typeof rel.key !== "string") return;
    }
    // Replay guards: Synapse may hand a restarted bot old events as live (stale cached sync, history on join,
    // catch-up after downtime). Catch-up within max_command_age is wanted only when resuming a saved sync.
    const age = Date.now() - ev.getTs();
    const id = ev.getId()!;
    if (age > this.cfg.matrix.max_command_age * 1000 || (!this.resumedFromSavedSync && ev.getTs() < this.processStartedAt - 2000)) {
      this.opts.log.info(`ignoring stale ${type === EventType.Reaction ? "reaction" : "command"} ${id} in ${room.roomId} (${Math.round(age / 1000)} s old)`);
      return;
    }
    if (!this.ops.servesRoom(room.roomId)) return;
    if (type === EventType.Reaction && !this.ops.servesUser(sender)) return;
    if (!this.handled.claim(id)) return;
    const work =
      type === EventType.Reaction
        ? this.handleReaction(room.roomId, sender, String(content["m.relates_to"]!.event_id), String((content["m.relates_to"] as { key?: string }).key))
        : this.handleMessage(room.roomId, ev, line);
    const task = work.catch((e) => this.opts.log.error(`handling ${id} failed: ${errorText(e)}`)).finally(() => this.inflight.delete(task));
    this.inflight.add(task);
  }

  private async handleReaction(roomId: string, sender: string, target: string, key: string): Promise<void> {
    if (await this.confirmations?.onReaction(roomId, sender, target, key)) return;
    await this.cards?.onReaction(roomId, sender, target, key, async (r, replyTo, reply) => {
      await this.deliver(r, replyTo, reply, { kind: "chat", userId: sender, roomId });
    });
  }

  private async handleMessage(roomId: string, ev: MatrixEvent, line: string | undefined): Promise<void> {
    const sender = ev.getSender()!;
    const content = contentWithRelation(ev);
    const inReplyTo: string | undefined = content["m.relates_to"]?.["m.in_reply_to"]?.event_id;
    if (this.confirmations && (await this.confirmations.onMessage(roomId, sender, ev.getId()!, content.body as string, inReplyTo))) return;
    if (line === undefined) return;
    await this.handleCommand(roomId, ev, line);
  }

  private async handleCommand(roomId: string, ev: MatrixEvent, line: string): Promise<void> {
    const sender = ev.getSender()!;
    if (!this.ops.servesUser(sender)) {
      if (this.ops.refuseStranger({ kind: "chat", userId: sender, roomId }, line.split(/\s+/)[0] || "help")) {
        const text = "🚫 Sorry, you are not on this bot's list of allowed users. Ask an admin of this bot to add you to [bot] allowed_users.";
        await this.reply(roomId, ev.getId()!, { text });
      }
      return;
    }
    const actor: Actor = { kind: "chat", userId: sender, roomId, eventId: ev.getId() };
    const reply = await runCommandLine({ actor, ops: this.ops, prefix: this.cfg.bot.command_prefix }, line);
    await this.deliver(roomId, ev.getId()!, reply, actor);
  }

  /**
   * Sends a command's reply the way it asks: a confirmation prompt (then waits for the answer), a live status card,
   * or a notice (split when too long). Returns the (first) event id.
   */
  async deliver(roomId: string, inReplyTo: string | undefined, reply: Reply, actor: Actor): Promise<string | undefined> {
    if (reply.confirm && actor.kind === "chat" && this.confirmations) {
      await this.confirmations.offer(roomId, actor.userId, inReplyTo, reply);
      return undefined;
    }
    if (reply.card && this.cards) return this.cards.post(roomId, inReplyTo, reply.card, reply, actor);
    const id = await this.reply(roomId, inReplyTo, reply);
    if (reply.react && inReplyTo) await this.react(roomId, inReplyTo, reply.react);
    return id;
  }

  /** An m.notice in reply to the command, split or cut to fit. Sent through the retrying per-room scheduler. */
  async reply(roomId: string, inReplyTo: string | undefined, reply: Reply): Promise<string | undefined> {
    const mentions = reply.mentions ?? [];
    let part = { text: reply.text, html: reply.html };
    if (mentions.length) part = { text: `${part.text}\n${mentions.join(" ")}`, html: `${part.html ?? ""}<br/>${mentions.map(mentionHtml).join(" ")}` };
    let first: string | undefined;
    for (const [i, p] of fitParts(part).entries()) {
      const id = await this.send(roomId, noticeContent(p, { replyTo: i === 0 ? inReplyTo : undefined }, i === 0 ? mentions : []));
      first ??= id;
    }
    return first;
  }

  /** A reaction; a repeat of the same key (M_DUPLICATE_ANNOTATION) counts as done. */
  async react(roomId: string, eventId: string, key: string): Promise<void> {
    try {
      await this.client!.sendEvent(roomId, EventType.Reaction, reactionContent(eventId, key) as never);
    } catch (e) {
      if ((e as { errcode?: string }).errcode === "M_DUPLICATE_ANNOTATION") return;
      this.opts.log.warn(`reacting in ${roomId} failed: ${errorText(e)}`);
    }
  }

  private async send(roomId: string, content: Record<string, unknown>, txnId?: string): Promise<string | undefined> {
    try {
      const res = await this.client!.sendMessage(roomId, content as never, txnId);
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
    if (html) {
      content.format = "org.matrix.custom.html";
      content.formatted_body = html;
    }
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

  describe(): ChatInfo {
    const rooms = [...this.ops.store.rooms.values()];
    return {
      homeserver: this.client?.getHomeserverUrl() ?? this.cfg.matrix.homeserver,
      userId: this.client?.getUserId() ?? undefined,
      deviceId: this.client?.getDeviceId() ?? undefined,
      encryption: !!this.crypto?.crypto,
      rooms: rooms.length,
      encryptedRooms: rooms.filter((r) => r.encrypted).length,
    };
  }

  members(roomId: string): string[] {
    return (
      this.client
        ?.getRoom(roomId)
        ?.getJoinedMembers()
        .map((m) => m.userId) ?? []
    );
  }

  async resolveAlias(alias: string): Promise<string | undefined> {
    if (!this.client) throw new Error("Matrix is not connected yet");
    try {
      return (await this.withRetry(() => this.client!.getRoomIdForAlias(alias), `resolve ${alias}`)).room_id;
    } catch (e) {
      const { errcode, httpStatus } = e as { errcode?: string; httpStatus?: number };
      if (errcode === "M_NOT_FOUND" || httpStatus === 404) return undefined;
      throw e;
    }
  }

  aliasesOf(roomId: string): string[] {
    const room = this.client?.getRoom(roomId);
    if (!room) return [];
    return [room.getCanonicalAlias(), ...room.getAltAliases()].filter((a): a is string => !!a);
  }

  /** Joins, leaves and state events bypass the SDK scheduler, so they get their own retry on 429 and outages. */
  private async withRetry<T>(fn: () => Promise<T>, what: string, maxAttempts = 6): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const delay = retryDelay(e, attempt);
        if (delay < 0 || attempt >= maxAttempts || this.stopping) throw e;
        this.opts.log.debug(`${what} failed (${errorText(e)}), retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
