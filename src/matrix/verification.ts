// Interactive (SAS emoji) verification of other devices. Nothing is trusted automatically: a device becomes verified
// only when a person compared the emoji on both sides and confirmed. Incoming requests (from allowed users) are
// accepted so their emoji can be shown, and confirmed at the console; a verification an admin starts from chat
// (`verify start`) shows its emoji to that admin in the room, and only that admin can confirm it.
import type { MatrixClient } from "matrix-js-sdk";
import {
  CryptoEvent,
  VerificationPhase,
  VerificationRequestEvent,
  VerifierEvent,
  type CryptoApi,
  type VerificationRequest,
  type ShowSasCallbacks,
  type Verifier,
} from "matrix-js-sdk/lib/crypto-api/index.js";
import type { Actor, Operations, VerificationPort, DeviceTrust } from "../core/operations.js";
import { OperationError } from "../core/operations.js";
import type { VerificationState, VerificationPhaseName } from "../core/store.js";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { escapeHtml } from "../util/html.js";

interface Entry {
  state: VerificationState;
  request: VerificationRequest;
  sas?: ShowSasCallbacks;
  verifier?: Verifier;
}

export interface VerificationOptions {
  client: MatrixClient;
  crypto: CryptoApi;
  ops: Operations;
  log: Log;
  /** Posts a notice to a room (the admin's room, for chat-started verifications). */
  notify(roomId: string, text: string, html: string, mentions: string[]): Promise<void>;
  /** A verification finished: trust summaries need a refresh. */
  onVerified?(userId: string, deviceId: string): void;
}

const ENDED: VerificationPhaseName[] = ["done", "cancelled", "mismatch"];

export function sasText(emoji: Array<[string, string]> | undefined, decimals: [number, number, number] | undefined): string {
  const e = emoji?.length ? emoji.map(([sym, name]) => `${sym} ${name}`).join("  ") : "";
  const d = decimals ? decimals.join(" ") : "";
  return [e && `Emoji: ${e}`, d && `Numbers: ${d}`].filter(Boolean).join("\n");
}

export class VerificationManager implements VerificationPort {
  private readonly entries = new Map<string, Entry>();
  private next = 1;

  constructor(private readonly o: VerificationOptions) {
    o.client.on(CryptoEvent.VerificationRequestReceived, (req) => this.onIncoming(req));
  }

  private get store() {
    return this.o.ops.store;
  }

  private onIncoming(request: VerificationRequest): void {
    const from = request.otherUserId;
    const me = this.o.client.getUserId();
    const perms = this.o.ops.permissions;
    if (from !== me && !perms.isAllowedUser(from)) {
      this.o.log.warn(`refusing a verification request from ${from}: not an allowed user`);
      void request.cancel({ reason: "not allowed", code: "m.user" }).catch(() => undefined);
      return;
    }
    const entry = this.register(request, { origin: "incoming" });
    this.o.log.info(
      `verification ${entry.state.id}: ${from} ${request.otherDeviceId ?? ""} asks to verify the bot; accepting, so the emoji can be compared at the console`,
    );
    void request.accept().catch((e) => this.fail(entry, `accepting failed: ${errorText(e)}`));
  }

  private register(request: VerificationRequest, how: { origin: VerificationState["origin"]; owner?: string; roomId?: string }): Entry {
    const now = Date.now();
    const state: VerificationState = {
      id: `v${this.next++}`,
      otherUserId: request.otherUserId,
      otherDeviceId: request.otherDeviceId,
      origin: how.origin,
      owner: how.owner,
      roomId: how.roomId,
      phase: "requested",
      createdAt: now,
      updatedAt: now,
    };
    const entry: Entry = { state, request };
    this.entries.set(state.id, entry);
    this.store.upsertVerification(state);
    request.on(VerificationRequestEvent.Change, () => this.onChange(entry));
    this.onChange(entry);
    return entry;
  }

  private update(entry: Entry, patch: Partial<VerificationState>): void {
    entry.state = { ...entry.state, ...patch, updatedAt: Date.now() };
    this.store.upsertVerification(entry.state);
  }

  private onChange(entry: Entry): void {
    const req = entry.request;
    if (ENDED.includes(entry.state.phase)) return;
    if (req.otherDeviceId && req.otherDeviceId !== entry.state.otherDeviceId) this.update(entry, { otherDeviceId: req.otherDeviceId });
    switch (req.phase) {
      case VerificationPhase.Ready:
        if (entry.state.phase === "requested") this.update(entry, { phase: "ready" });
        break;
      case VerificationPhase.Started:
        if (req.verifier && !entry.verifier) this.attachVerifier(entry, req.verifier);
        break;
      case VerificationPhase.Cancelled: {
        const mismatch = req.cancellationCode === "m.mismatched_sas" || req.cancellationCode === "m.key_mismatch";
        const canceller = req.cancellingUserId;
        this.update(entry, {
          phase: mismatch ? "mismatch" : "cancelled",
          detail: `${req.cancellationCode ?? "cancelled"}${canceller ? ` by ${canceller === this.o.client.getUserId() ? "the bot" : canceller}` : ""}`,
        });
        this.o.log.info(`verification ${entry.state.id} with ${entry.state.otherUserId} ended: ${entry.state.detail}`);
        break;
      }
      case VerificationPhase.Done:
        this.done(entry);
        break;
    }
  }

  private attachVerifier(entry: Entry, verifier: Verifier): void {
    entry.verifier = verifier;
    this.update(entry, { phase: "started" });
    verifier.on(VerifierEvent.ShowSas, (sas) => {
      entry.sas = sas;
      this.update(entry, { phase: "sas", emoji: sas.sas.emoji?.map(([e, n]) => [e, n] as [string, string]), decimals: sas.sas.decimal });
      this.o.log.info(
        `verification ${entry.state.id} with ${entry.state.otherUserId} ` +
          `${entry.state.otherDeviceId ?? ""}: compare the emoji, then confirm or report a mismatch`,
      );
      void this.showInChat(entry);
    });
    verifier.verify().then(
      () => this.done(entry),
      (e) => {
        if (!ENDED.includes(entry.state.phase))
          this.update(entry, { phase: entry.state.phase === "mismatch" ? "mismatch" : "cancelled", detail: errorText(e) });
      },
    );
  }

  private done(entry: Entry): void {
    if (entry.state.phase === "done") return;
    this.update(entry, { phase: "done", detail: undefined });
    const { otherUserId, otherDeviceId } = entry.state;
    this.o.log.info(`verification ${entry.state.id}: ${otherUserId} ${otherDeviceId ?? ""} is now verified`);
    if (otherDeviceId) this.o.onVerified?.(otherUserId, otherDeviceId);
    if (entry.state.roomId && entry.state.owner) {
      void this.o
        .notify(
          entry.state.roomId,
          `✅ Verification ${entry.state.id} done: ${otherUserId} ${otherDeviceId ?? ""} is verified.`,
          `✅ Verification ${entry.state.id} done: ${escapeHtml(otherUserId)} <code>${escapeHtml(otherDeviceId ?? "")}</code> is verified.`,
          [],
        )
        .catch(() => undefined);
    }
  }

  private fail(entry: Entry, detail: string): void {
    this.o.log.warn(`verification ${entry.state.id}: ${detail}`);
    this.update(entry, { phase: "cancelled", detail });
  }

  /** A chat-started verification: the emoji go to the admin who asked, in their room. */
  private async showInChat(entry: Entry): Promise<void> {
    const s = entry.state;
    if (s.origin !== "chat" || !s.roomId || !s.owner) return;
    const p = this.o.ops.config.values.bot.command_prefix;
    const sas = sasText(s.emoji, s.decimals);
    const text =
      `🔐 Verification ${s.id} with ${s.otherUserId} ${s.otherDeviceId ?? ""}: compare with what that device shows.\n${sas}\nThey match: ${p} verify ` +
      `confirm ${s.id} · They differ: ${p} verify mismatch ${s.id} · Only ${s.owner} can answer.`;
    const html =
      `🔐 Verification <b>${s.id}</b> with ${escapeHtml(s.otherUserId)} ` +
      `<code>${escapeHtml(s.otherDeviceId ?? "")}</code>: compare with what that device shows.<br/>` +
      `<font size="5">${(s.emoji ?? []).map(([e]) => escapeHtml(e)).join(" ")}</font><br/>` +
      `${escapeHtml((s.emoji ?? []).map(([, n]) => n).join(" · "))}<br/>${s.decimals ? `Numbers: ${s.decimals.join(" ")}<br/>` : ""}` +
      `They match: <code>${escapeHtml(`${p} verify confirm ${s.id}`)}</code> · They differ: <code>${escapeHtml(`${p} verify mismatch ${s.id}`)}</code> · ` +
      `Only ${escapeHtml(s.owner)} can answer.`;
    await this.o.notify(s.roomId, text, html, [s.owner]).catch((e) => this.o.log.warn(`posting the emoji of ${s.id} failed: ${errorText(e)}`));
  }

  // ---- VerificationPort ---------------------------------------------------------------------------------------

  async devices(userIds: string[]): Promise<DeviceTrust[]> {
    const me = this.o.client.getUserId();
    const own = this.o.client.getDeviceId();
    const map = await this.o.crypto.getUserDeviceInfo(userIds, true);
    const out: DeviceTrust[] = [];
    for (const [userId, devs] of map) {
      for (const [deviceId, d] of devs) {
        if (userId === me && deviceId === own) continue;
        const status = await this.o.crypto.getDeviceVerificationStatus(userId, deviceId);
        out.push({ userId, deviceId, displayName: d.displayName, verified: !!status?.isVerified() });
      }
    }
    return out.sort((a, b) => a.userId.localeCompare(b.userId) || a.deviceId.localeCompare(b.deviceId));
  }

  async start(actor: Actor, userId: string, deviceId: string): Promise<VerificationState> {
    const known = (await this.o.crypto.getUserDeviceInfo([userId], true)).get(userId)?.get(deviceId);
    if (!known) throw new OperationError(`${userId} has no device ${deviceId} that the bot knows of (see verify list).`, "bad_input");
    if ((await this.o.crypto.getDeviceVerificationStatus(userId, deviceId))?.isVerified())
      throw new OperationError(`${userId} ${deviceId} is already verified.`, "bad_input");
    const request = await this.o.crypto.requestDeviceVerification(userId, deviceId);
    const entry = this.register(request, actor.kind === "chat" ? { origin: "chat", owner: actor.userId, roomId: actor.roomId } : { origin: "console" });
    // Once the other side accepts, the bot starts SAS itself.
    const startSas = () => {
      if (request.phase !== VerificationPhase.Ready || entry.state.phase !== "ready" || request.verifier) return;
      request.off(VerificationRequestEvent.Change, startSas);
      request.startVerification("m.sas.v1").then(
        (v) => {
          if (!entry.verifier) this.attachVerifier(entry, v);
        },
        (e) => this.fail(entry, `starting SAS failed: ${errorText(e)}`),
      );
    };
    request.on(VerificationRequestEvent.Change, startSas);
    startSas();
    this.o.log.info(`verification ${entry.state.id}: requested by ${actor.kind === "chat" ? actor.userId : "the console"} with ${userId} ${deviceId}`);
    return entry.state;
  }

  get(id: string): VerificationState | undefined {
    return this.entries.get(id)?.state;
  }

  async confirm(id: string, match: boolean): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) throw new OperationError(`There is no verification ${id}.`, "bad_input");
    if (entry.state.phase !== "sas" || !entry.sas)
      throw new OperationError(`Verification ${id} is ${entry.state.phase}, not waiting for an emoji comparison.`, "bad_input");
    if (match) {
      this.update(entry, { phase: "confirmed" });
      await entry.sas.confirm();
    } else {
      this.update(entry, { phase: "mismatch", detail: "the emoji did not match" });
      // Logged here: onChange ignores the cancellation that follows, since the phase has already ended.
      this.o.log.warn(
        `verification ${id} with ${entry.state.otherUserId} ${entry.state.otherDeviceId ?? ""}: the emoji did not match; cancelled, nothing trusted`,
      );
      entry.sas.mismatch();
    }
  }

  async cancel(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) throw new OperationError(`There is no verification ${id}.`, "bad_input");
    if (ENDED.includes(entry.state.phase)) return;
    this.update(entry, { phase: "cancelled", detail: "cancelled by the bot's operator" });
    await entry.request.cancel({ reason: "cancelled", code: "m.user" }).catch(() => undefined);
  }

  /** On stop: open verifications are cancelled (they cannot survive a restart). */
  async close(): Promise<void> {
    for (const e of this.entries.values()) {
      if (!ENDED.includes(e.state.phase)) {
        this.update(e, { phase: "cancelled", detail: "the bot stopped" });
        await e.request.cancel().catch(() => undefined);
      }
    }
  }
}
