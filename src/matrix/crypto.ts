// End-to-end encryption for the bot: Rust crypto with a store that survives restarts (crypto-store.ts), the device
// keys, undecryptable-event accounting with key requests, and per-room trust summaries. Nothing here ever marks a
// device as verified: that happens only through an interactive verification an operator or admin confirmed
// (verification.ts).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { MatrixEventEvent, type MatrixClient, type MatrixEvent, type Room } from "matrix-js-sdk";
import { CryptoEvent, type CryptoApi } from "matrix-js-sdk/lib/crypto-api/index.js";
import type { Operations } from "../core/operations.js";
import type { RoomTrust } from "../core/store.js";
import type { Log } from "../log/logger.js";
import { quietSyncCrypto, type QuietSyncFilter } from "./quiet-sync.js";
import { errorText } from "../log/logger.js";
import { LoginError } from "./login.js";
import {
  ensureIndexedDb,
  readCryptoSnapshot,
  restoreCryptoSnapshot,
  takeCryptoSnapshot,
  writeCryptoSnapshot,
  dropCryptoDatabases,
  setAsideForeignSnapshot,
  type CryptoSnapshotFile,
} from "./crypto-store.js";

export const CRYPTO_FILE = "crypto-store.bin";

/** 32 bytes as base64 or hex become the store key; any other text is a passphrase; empty means none. */
export function storageKeyArgs(text: string): { storageKey?: Uint8Array; storagePassword?: string } {
  const t = text.trim();
  if (!t) return {};
  if (/^[0-9a-fA-F]{64}$/.test(t)) return { storageKey: new Uint8Array(Buffer.from(t, "hex")) };
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const bytes = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (bytes.length === 32) return { storageKey: new Uint8Array(bytes) };
  }
  return { storagePassword: t };
}

export type StoreOnDisk = { kind: "match"; snapshot: CryptoSnapshotFile } | { kind: "absent"; why: string };

/** The saved crypto store for this user and device, if there is one. */
export async function findCryptoStore(storeDir: string, userId: string, deviceId: string): Promise<StoreOnDisk> {
  const file = join(storeDir, CRYPTO_FILE);
  let snap: CryptoSnapshotFile | undefined;
  try {
    snap = await readCryptoSnapshot(file);
  } catch (e) {
    throw new LoginError(
      `The crypto store ${file} cannot be read (${errorText(e)}). Restore it from a backup, or move it away to start over with a new device.`,
      false,
    );
  }
  if (!snap) return { kind: "absent", why: `there is no crypto store (${file})` };
  if (snap.userId !== userId || snap.deviceId !== deviceId)
    return { kind: "absent", why: `the crypto store ${file} belongs to ${snap.userId} device ${snap.deviceId}, not to device ${deviceId}` };
  return { kind: "match", snapshot: snap };
}

/** Whether the homeserver already has identity keys for this device (then an empty store cannot take it over). */
export async function deviceHasPublishedKeys(client: MatrixClient, userId: string, deviceId: string): Promise<boolean> {
  const res = await client.downloadKeysForUsers([userId]);
  return !!res.device_keys?.[userId]?.[deviceId];
}

export interface BotCryptoOptions {
  client: MatrixClient;
  ops: Operations;
  log: Log;
  storeDir: string;
  storageKey: string;
  userId: string;
  deviceId: string;
}

interface Undecryptable {
  ev: MatrixEvent;
  roomId: string;
  sender: string;
  since: number;
}

export class BotCrypto {
  /** Per instance, so several clients (tests, a restart in the same process) never share databases. */
  readonly prefix = `chatrixcd-${randomBytes(6).toString("hex")}`;
  readonly file: string;
  private api?: CryptoApi;
  private generation?: string;
  private saving: Promise<string | undefined> = Promise.resolve(undefined);
  /** Whether the file on disk is known to be this device's (restored from it, or written by it). */
  private ownsFile = false;
  private stopped = false;
  private readonly waiting = new Map<string, Undecryptable>();
  private readonly trust = new Map<string, RoomTrust>();
  private trustTimer?: NodeJS.Timeout;
  private readonly trustDirty = new Set<string>();
  /** Keeps /sync responses with nothing for the crypto layer away from it (undefined: this SDK cannot). */
  quietSyncs?: QuietSyncFilter;
  /** Called when a room's trust summary changed, so the bot republishes the room. */
  onTrustChange?: (roomId: string) => void;

  constructor(private readonly o: BotCryptoOptions) {
    this.file = join(o.storeDir, CRYPTO_FILE);
  }

  get crypto(): CryptoApi | undefined {
    return this.api;
  }

  /** Restores the saved store (if any) and starts Rust crypto on it. Must run before startClient. */
  async init(snapshot: CryptoSnapshotFile | undefined): Promise<void> {
    const { client, log, ops } = this.o;
    await ensureIndexedDb();
    if (snapshot) {
      await restoreCryptoSnapshot(snapshot, this.prefix);
      this.generation = snapshot.generation;
      this.ownsFile = snapshot.userId === this.o.userId && snapshot.deviceId === this.o.deviceId;
    }
    const key = storageKeyArgs(this.o.storageKey);
    try {
      await client.initRustCrypto({ useIndexedDB: true, cryptoDatabasePrefix: this.prefix, ...key });
    } catch (e) {
      throw new LoginError(
        `Encryption could not start: the crypto store ${this.file} cannot be opened (${errorText(e)}). ` +
          (snapshot ? "If [matrix] storage_key changed, put the old one back; the store cannot be read without it." : "Check [matrix] storage_key."),
        false,
      );
    }
    const api = client.getCrypto();
    if (!api) throw new LoginError("Encryption could not start: the SDK did not provide a crypto API.", false);
    this.api = api;
    this.quietSyncs = quietSyncCrypto(client);
    if (!this.quietSyncs) log.debug("this SDK version has no processSyncChanges: every sync goes through the crypto layer");
    // The SDK turns room-key requests off (for Element's sake). A bot that cannot decrypt a command should ask its
    // other devices for the key (the OlmMachine sends m.room_key_request when a decryption misses a key).
    const machine = (api as unknown as { olmMachine?: { roomKeyRequestsEnabled: boolean } }).olmMachine;
    if (machine && "roomKeyRequestsEnabled" in machine) machine.roomKeyRequestsEnabled = true;
    else log.warn("this SDK version does not expose room key requests; undecryptable messages will wait for the sender to share the key");
    const own = await api.getOwnDeviceKeys();
    ops.store.setCrypto({ enabled: true, detail: undefined, deviceId: this.o.deviceId, ed25519: own.ed25519 });
    const store = `${snapshot ? "crypto store restored" : "new crypto store"}${key.storageKey || key.storagePassword ? ", encrypted at rest" : ""}`;
    log.info(`encryption on: device ${this.o.deviceId}, ed25519 ${own.ed25519} (${store})`);

    client.on(CryptoEvent.DevicesUpdated, (users) => this.devicesChanged(users));
    client.on(CryptoEvent.UserTrustStatusChanged, (userId) => this.devicesChanged([userId]));
  }

  /** Sets up cross-signing when the account has none (needs the password for the homeserver's confirmation). */
  async bootstrapCrossSigning(password: string | undefined): Promise<void> {
    const api = this.api;
    if (!api) return;
    const { log, ops, userId } = this.o;
    try {
      if (await api.isCrossSigningReady()) {
        ops.store.setCrypto({ crossSigning: true });
        log.info("cross-signing is already set up for this device");
        return;
      }
      if (!password) {
        log.warn("[matrix] cross_signing is on but there is no password to confirm the key upload with; skipped");
        return;
      }
      await api.bootstrapCrossSigning({
        authUploadDeviceSigningKeys: async (makeRequest) => {
          await makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password } as never);
        },
      });
      const ready = await api.isCrossSigningReady();
      ops.store.setCrypto({ crossSigning: ready });
      log.info(ready ? "cross-signing set up; this device is signed by the bot's account" : "cross-signing bootstrap finished but is not ready");
    } catch (e) {
      log.warn(`setting up cross-signing failed: ${errorText(e)}`);
    }
  }

  async refreshCrossSigning(): Promise<void> {
    try {
      this.o.ops.store.setCrypto({ crossSigning: await this.api?.isCrossSigningReady() });
    } catch {
      /* not known yet */
    }
  }

  /**
   * Writes the crypto store to disk; returns the generation written. The sync store calls this at each of its saves
   * (so both are written at the same point, crypto first) and the bot calls it on stop. Saves never overlap.
   */
  save(): Promise<string | undefined> {
    const next = this.saving
      .catch(() => undefined)
      .then(async () => {
        if (!this.api && !this.generation) return undefined;
        const snap = await takeCryptoSnapshot(this.prefix, this.o.userId, this.o.deviceId);
        if (!snap.dbs.length) return this.generation;
        if (!this.ownsFile) await this.keepForeignStore();
        await writeCryptoSnapshot(this.file, snap);
        this.ownsFile = true;
        this.generation = snap.generation;
        return snap.generation;
      });
    this.saving = next;
    return next;
  }

  /** A new device never overwrites another device's keys: their store is moved to a dated backup first. */
  private async keepForeignStore(): Promise<void> {
    const moved = await setAsideForeignSnapshot(this.file, this.o.userId, this.o.deviceId);
    if (!moved) return;
    this.o.log.warn(
      `the crypto store ${this.file} belongs to ${moved.owner}, not to this device ${this.o.deviceId}: moved it to ${moved.backup} so its keys ` +
        `are kept, and this device's store is saved in its place. To use that device again, put the backup back as ${CRYPTO_FILE} with its session.json.`,
    );
  }

  /** After the client stopped: frees the in-memory databases. Call save() first. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.trustTimer);
    await this.saving.catch(() => undefined);
    await dropCryptoDatabases(this.prefix);
  }

  // ---- undecryptable events ---------------------------------------------------------------------------------

  /**
   * Counts a live event that could not be decrypted and waits for its key: when the key arrives (the SDK retries
   * decryption), `onDecrypted` runs with the now readable event. A missing key has already been requested from the
   * bot's other devices by the OlmMachine; the sender's device shares it when it next sends to the room.
   */
  trackUndecryptable(ev: MatrixEvent, room: Room, onDecrypted: (ev: MatrixEvent) => void): void {
    const id = ev.getId()!;
    if (this.waiting.has(id)) return;
    const body = String(ev.getContent().body ?? "")
      .replace(/^\*\* Unable to decrypt: /, "")
      .replace(/ \*\*$/, "");
    const reason = `${ev.decryptionFailureReason ?? "unknown"}${body ? `: ${body}` : ""}`;
    const sender = ev.getSender() ?? "?";
    const c = this.o.ops.store.crypto;
    this.waiting.set(id, { ev, roomId: room.roomId, sender, since: Date.now() });
    this.o.ops.store.setCrypto({
      undecryptable: c.undecryptable + 1,
      waitingForKeys: this.waiting.size,
      lastUndecryptable: { roomId: room.roomId, sender, eventId: id, reason, at: Date.now() },
    });
    this.o.log.warn(
      `could not decrypt ${id} from ${sender} in ${room.roomId} (${reason}); the key was requested, and the message will be handled if it arrives`,
    );
    const listener = (e: MatrixEvent) => {
      if (e.isDecryptionFailure() || e.isBeingDecrypted()) return;
      ev.off(MatrixEventEvent.Decrypted, listener);
      if (!this.waiting.delete(id)) return;
      this.o.ops.store.setCrypto({ waitingForKeys: this.waiting.size });
      this.o.log.info(`decrypted ${id} from ${sender} after its key arrived (${Math.round((Date.now() - ev.getTs()) / 1000)} s after it was sent)`);
      if (!this.stopped) onDecrypted(e);
    };
    ev.on(MatrixEventEvent.Decrypted, listener);
    // Old entries are forgotten (still counted): their commands would be too old to run anyway.
    for (const [k, w] of this.waiting) if (Date.now() - w.since > 24 * 3600_000) this.waiting.delete(k);
  }

  // ---- trust ------------------------------------------------------------------------------------------------

  roomTrust(roomId: string): RoomTrust | undefined {
    return this.trust.get(roomId);
  }

  /** Recomputes the trust summary of encrypted rooms (debounced). */
  markRoom(roomId: string): void {
    this.trustDirty.add(roomId);
    this.scheduleTrust();
  }

  /** Trust of these users' devices changed (e.g. a verification finished). */
  devicesChangedFor(users: string[]): void {
    this.devicesChanged(users);
  }

  private devicesChanged(users: string[]): void {
    const set = new Set(users);
    for (const room of this.o.client.getRooms()) {
      if (room.hasEncryptionStateEvent() && room.getJoinedMembers().some((m) => set.has(m.userId))) this.trustDirty.add(room.roomId);
    }
    this.scheduleTrust();
  }

  private scheduleTrust(): void {
    if (this.trustTimer || this.stopped) return;
    this.trustTimer = setTimeout(() => {
      this.trustTimer = undefined;
      void this.computeTrust();
    }, 300);
    this.trustTimer.unref();
  }

  private async computeTrust(): Promise<void> {
    const api = this.api;
    if (!api || this.stopped) return;
    const rooms = [...this.trustDirty];
    this.trustDirty.clear();
    for (const roomId of rooms) {
      const room = this.o.client.getRoom(roomId);
      if (!room?.hasEncryptionStateEvent()) continue;
      try {
        const others = room
          .getJoinedMembers()
          .map((m) => m.userId)
          .filter((u) => u !== this.o.userId);
        const map = await api.getUserDeviceInfo(others);
        let devices = 0,
          verified = 0;
        for (const [userId, devs] of map) {
          for (const deviceId of devs.keys()) {
            devices++;
            if ((await api.getDeviceVerificationStatus(userId, deviceId))?.isVerified()) verified++;
          }
        }
        const prev = this.trust.get(roomId);
        if (prev?.devices === devices && prev.verified === verified) continue;
        this.trust.set(roomId, { devices, verified });
        this.onTrustChange?.(roomId);
      } catch (e) {
        this.o.log.debug(`trust summary for ${roomId} failed: ${errorText(e)}`);
      }
    }
  }
}
