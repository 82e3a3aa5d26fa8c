// A matrix-js-sdk client with Rust crypto (in memory) as a test user: the "other side" of encrypted rooms and of
// SAS verification. Every timeline event it sees is decrypted and kept, so tests can wait for the bot's replies.
import "../../src/polyfill.js";
import { createClient, ClientEvent, RoomEvent, SyncState, EventType, MatrixEventEvent, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import {
  CryptoEvent,
  VerificationPhase,
  VerificationRequestEvent,
  VerifierEvent,
  type VerificationRequest,
  type ShowSasCallbacks,
} from "matrix-js-sdk/lib/crypto-api/index.js";
import { randomUUID } from "node:crypto";
import { quietSdkLogging } from "./quiet-sdk.js";

quietSdkLogging();

export interface PeerEvent {
  eventId: string;
  roomId: string;
  sender: string;
  type: string;
  /** The type on the wire: m.room.encrypted for encrypted events. */
  wireType: string;
  content: Record<string, any>;
  /** The relation, from the cleartext wire content when encrypted. */
  relation?: Record<string, any>;
  ts: number;
  undecryptable: boolean;
  /** When the peer saw it (performance.now()). */
  seenAt: number;
}

export class JsPeer {
  readonly events: PeerEvent[] = [];
  private waiters = new Set<() => void>();
  private constructor(
    readonly client: MatrixClient,
    readonly userId: string,
    readonly deviceId: string,
  ) {}

  static async login(homeserver: string, userId: string, password: string, opts: { encryption?: boolean; deviceName?: string } = {}): Promise<JsPeer> {
    const tmp = createClient({ baseUrl: homeserver });
    const res = await tmp.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: userId },
      password,
      initial_device_display_name: opts.deviceName ?? "js-peer",
    });
    const client = createClient({ baseUrl: homeserver, accessToken: res.access_token, userId: res.user_id, deviceId: res.device_id, timelineSupport: false });
    const peer = new JsPeer(client, res.user_id, res.device_id!);
    if (opts.encryption !== false) await client.initRustCrypto({ useIndexedDB: false });
    client.on(RoomEvent.Timeline, (ev, room, toStart) => {
      if (!toStart && room) void peer.record(ev);
    });
    const prepared = new Promise<void>((resolve) =>
      client.on(ClientEvent.Sync, (s) => {
        if (s === SyncState.Prepared) resolve();
      }),
    );
    await client.startClient({ initialSyncLimit: 0, disablePresence: true });
    await prepared;
    return peer;
  }

  private async record(ev: MatrixEvent): Promise<void> {
    await this.client.decryptEventIfNeeded(ev);
    const push = () => {
      const id = ev.getId()!;
      const existing = this.events.findIndex((e) => e.eventId === id);
      const entry: PeerEvent = {
        eventId: id,
        roomId: ev.getRoomId()!,
        sender: ev.getSender()!,
        type: ev.getType(),
        wireType: ev.getWireType(),
        content: ev.getContent(),
        relation: ev.getWireContent()["m.relates_to"] ?? ev.getContent()["m.relates_to"],
        ts: ev.getTs(),
        undecryptable: ev.isDecryptionFailure(),
        seenAt: performance.now(),
      };
      if (existing >= 0) this.events[existing] = entry;
      else this.events.push(entry);
      for (const w of this.waiters) w();
    };
    push();
    if (ev.isDecryptionFailure()) ev.once(MatrixEventEvent.Decrypted, push);
  }

  /** The first event (seen before or after the call) matching `pred`. */
  waitFor(pred: (e: PeerEvent) => boolean, timeoutMs = 20_000, what = "event"): Promise<PeerEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.find((e) => !e.undecryptable && pred(e));
        if (hit) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `${this.userId}: timed out after ${timeoutMs} ms waiting for ${what}; seen: ${this.events
              .slice(-8)
              .map((e) => `${e.type}${e.undecryptable ? "(UTD)" : ""}:${String(e.content.body ?? e.content.membership ?? "").slice(0, 60)}`)
              .join(" | ")}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  async createRoom(opts: { invite?: string[]; encrypted?: boolean; name?: string } = {}): Promise<string> {
    const r = await this.client.createRoom({
      preset: "private_chat" as never,
      invite: opts.invite ?? [],
      name: opts.name,
      initial_state: opts.encrypted ? [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] : [],
    });
    // Sending before the client has seen m.room.encryption would send in the clear.
    const deadline = Date.now() + 20_000;
    while (opts.encrypted && !this.client.getRoom(r.room_id)?.hasEncryptionStateEvent()) {
      if (Date.now() > deadline) throw new Error(`room ${r.room_id} never showed its encryption state`);
      await new Promise((res) => setTimeout(res, 50));
    }
    return r.room_id;
  }

  /** Joins and waits until the client knows the room's encryption (sending earlier would fail or leak). */
  async join(roomId: string): Promise<void> {
    await this.client.joinRoom(roomId);
    const deadline = Date.now() + 20_000;
    while (!this.client.getRoom(roomId)?.hasEncryptionStateEvent()) {
      if (Date.now() > deadline) throw new Error(`${this.userId}: room ${roomId} never showed its encryption state`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  async waitForJoin(roomId: string, userId: string, timeoutMs = 20_000): Promise<void> {
    await this.waitFor(
      (e) => e.roomId === roomId && e.type === "m.room.member" && e.content.membership === "join" && e.sender === userId,
      timeoutMs,
      `${userId} to join`,
    );
  }

  async send(roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await this.client.sendEvent(roomId, EventType.RoomMessage, { msgtype: "m.text", body, ...extra } as never);
    return r.event_id;
  }

  async react(roomId: string, eventId: string, key: string): Promise<string> {
    const r = await this.client.sendEvent(roomId, EventType.Reaction, { "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key } } as never);
    return r.event_id;
  }

  /** Asks the bot's device for a SAS verification; resolves with the emoji the peer shows and the callbacks. */
  async startSas(userId: string, deviceId: string, timeoutMs = 20_000): Promise<{ request: VerificationRequest; sas: ShowSasCallbacks; done: Promise<void> }> {
    const crypto = this.client.getCrypto()!;
    const deadline = Date.now() + timeoutMs;
    // A device the peer has not downloaded yet is "not a known device" for a moment.
    while (!(await crypto.getUserDeviceInfo([userId], true)).get(userId)?.has(deviceId)) {
      if (Date.now() > deadline) throw new Error(`device ${deviceId} of ${userId} never became known`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const request = await crypto.requestDeviceVerification(userId, deviceId);
    await waitPhase(request, VerificationPhase.Ready, deadline);
    const verifier = await request.startVerification("m.sas.v1");
    const shown = new Promise<ShowSasCallbacks>((resolve) => verifier.once(VerifierEvent.ShowSas, resolve));
    const done = verifier.verify();
    done.catch(() => undefined);
    const sas = await withTimeout(shown, deadline - Date.now(), "the SAS emoji");
    return { request, sas, done };
  }

  /** Waits for an incoming verification request (e.g. the bot's `verify start`), accepts it, and shows the SAS. */
  async acceptSas(timeoutMs = 20_000): Promise<{ request: VerificationRequest; sas: ShowSasCallbacks; done: Promise<void> }> {
    const deadline = Date.now() + timeoutMs;
    const request = await withTimeout(
      new Promise<VerificationRequest>((resolve) => this.client.once(CryptoEvent.VerificationRequestReceived, resolve)),
      timeoutMs,
      "a verification request",
    );
    await request.accept();
    await waitPhase(request, VerificationPhase.Started, deadline);
    const verifier = request.verifier!;
    const shown = new Promise<ShowSasCallbacks>((resolve) => verifier.once(VerifierEvent.ShowSas, resolve));
    const done = verifier.verify();
    done.catch(() => undefined);
    const sas = await withTimeout(shown, deadline - Date.now(), "the SAS emoji");
    return { request, sas, done };
  }

  async isVerified(userId: string, deviceId: string): Promise<boolean> {
    return (await this.client.getCrypto()!.getDeviceVerificationStatus(userId, deviceId))?.isVerified() ?? false;
  }

  /** An event id-less raw send (txn id), for content the SDK would refuse. */
  async sendRaw(roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    const r = await this.client.http.authedRequest<{ event_id: string }>(
      "PUT" as never,
      `/rooms/${encodeURIComponent(roomId)}/send/${type}/${randomUUID()}`,
      undefined,
      content,
    );
    return r.event_id;
  }

  /** Logs out (the device is deleted) and stops; never hangs a test's cleanup. */
  async stop(): Promise<void> {
    await Promise.race([this.client.logout(true).catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
    this.client.stopClient();
  }
}

async function waitPhase(request: VerificationRequest, phase: VerificationPhase, deadline: number): Promise<void> {
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (request.phase >= phase && request.phase !== VerificationPhase.Cancelled) {
          request.off(VerificationRequestEvent.Change, check);
          resolve();
        } else if (request.phase === VerificationPhase.Cancelled) {
          request.off(VerificationRequestEvent.Change, check);
          reject(new Error(`verification cancelled (${request.cancellationCode})`));
        }
      };
      request.on(VerificationRequestEvent.Change, check);
      check();
    }),
    deadline - Date.now(),
    `verification phase ${VerificationPhase[phase]}`,
  );
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), Math.max(0, ms));
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
