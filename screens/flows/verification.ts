// SAS emoji verification as the console answers it: a dialog pops up when a verification reaches its emoji (never
// under the operator's fingers), Esc puts it off (V shows it again), the outcome is announced once; `v` on a room
// starts one with a member's device.
import { CONSOLE_ACTOR } from "../context.js";
import type { RoomState, VerificationState } from "../../src/core/store.js";
import { userMessage } from "../../src/core/operations.js";
import { SelectDialog } from "../dialogs/dialogs.js";
import { VerificationDialog, consoleAnswers, ENDED_PHASES, type VerifyButton } from "../dialogs/verify-dialog.js";
import { sanitize } from "../text.js";
import type { FlowHost } from "./host.js";

export class VerificationFlow {
  /** The open emoji comparison, if any (one at a time; others wait for V or for it to close). */
  dialog?: VerificationDialog;
  /** Verifications the operator put off with Esc: they do not pop up again by themselves. */
  private readonly laterIds = new Set<string>();
  /** Verifications the console answers that it has seen: their outcome is announced once. */
  private readonly watched = new Set<string>();
  private lastShown?: string;
  private readonly onChange = (v: VerificationState) => this.changed(v);

  /** `busy`: a dialog or the command bar has the keys, so nothing may pop up. */
  constructor(
    private readonly host: FlowHost,
    private readonly busy: () => boolean,
  ) {
    const store = host.app.store;
    store.on("verification", this.onChange);
    // What the engine already waits for (the console can start after it).
    for (const v of store.activeVerifications()) this.changed(v);
  }

  close(): void {
    this.host.app.store.removeListener("verification", this.onChange);
  }

  private changed(v: VerificationState): void {
    if (this.host.destroyed || !consoleAnswers(v)) return;
    const ended = ENDED_PHASES.includes(v.phase);
    const d = this.dialog;
    if (d?.id === v.id) {
      if (ended) {
        this.dialog = undefined;
        d.done();
      } else d.refresh();
    }
    if (ended) {
      this.laterIds.delete(v.id);
      if (this.watched.delete(v.id)) this.announce(v);
      return;
    }
    if (!this.watched.has(v.id)) {
      this.watched.add(v.id);
      if (v.origin === "incoming" && v.phase !== "sas")
        this.host.say(sanitize(`${v.otherUserId} ${v.otherDeviceId ?? ""} asks to verify the bot (${v.id}); its emoji show up here next.`));
    }
    if (v.phase === "sas" && d?.id !== v.id) this.popWaiting(v);
  }

  /** Opens the emoji of a verification waiting for the console, unless the keys are busy or it was put off. */
  popWaiting(prefer?: VerificationState): void {
    const h = this.host;
    if (h.destroyed || this.dialog) return;
    if (h.ctx.readOnly()) {
      // A read-only console cannot answer: say so once, and let V show the emoji.
      if (prefer)
        h.say(sanitize(`Verification ${prefer.id} with ${prefer.otherUserId} waits for its emoji comparison (read-only here; V shows it).`), "warn", 15_000);
      return;
    }
    const next = prefer ?? h.app.store.activeVerifications().find((v) => consoleAnswers(v) && v.phase === "sas" && !this.laterIds.has(v.id));
    if (!next || this.laterIds.has(next.id)) return;
    // Never under the operator's fingers: a y or n meant for a prompt must not answer the emoji.
    if (this.busy()) {
      h.say(sanitize(`Verification ${next.id} with ${next.otherUserId}: its emoji show when this closes (or press V).`), "warn", 15_000);
      return;
    }
    this.open(next.id);
  }

  private open(id: string): void {
    const h = this.host;
    const d = new VerificationDialog(h.modals, h.ctx, id, {
      state: (x) => h.app.store.verifications.get(x),
      readOnly: () => h.ctx.readOnly(),
      press: (b) => this.press(b),
    });
    this.dialog = d;
    this.lastShown = id;
    this.laterIds.delete(id);
    // Its keys replace the hint bar; an older message would hide them.
    h.clearMessage();
    h.openDialog(d);
  }

  show(): void {
    if (this.dialog) return;
    const store = this.host.app.store;
    const all = store.activeVerifications().filter((v) => consoleAnswers(v) && (v.phase === "sas" || v.phase === "confirmed"));
    if (!all.length) {
      const others = store.activeVerifications();
      const waiting = others.map((v) => `${v.id} ${v.phase}${v.origin === "chat" ? " (answered in chat)" : ""}`).join(", ");
      this.host.say(others.length ? `No emoji to compare yet: ${waiting}.` : "No verification is waiting for the console.", "warn");
      return;
    }
    // Several waiting: each V shows the next one.
    const i = all.findIndex((v) => v.id === this.lastShown);
    this.open(all[(i + 1) % all.length]!.id);
  }

  private press(b: VerifyButton): void {
    if (b === "later") this.later();
    else this.answer(b === "match");
  }

  answer(match: boolean): void {
    const d = this.dialog;
    const h = this.host;
    if (!d || h.modals.top !== d || !d.armed || !d.answerable) return;
    d.sending = match ? "match" : "mismatch";
    d.error = undefined;
    d.refresh();
    h.app.ops.confirmVerification(CONSOLE_ACTOR, d.id, match).then(
      () => {
        d.sending = undefined;
        if (this.dialog === d) d.refresh();
        if (match && h.app.store.verifications.get(d.id)?.phase === "confirmed")
          h.say(`Confirmed ${d.id}; waiting for the other device to confirm too.`, "ok", 15_000);
      },
      (e) => {
        d.sending = undefined;
        d.error = userMessage(e);
        if (this.dialog === d) d.refresh();
      },
    );
  }

  later(): void {
    const d = this.dialog;
    if (!d) return;
    this.dialog = undefined;
    const v = d.state;
    if (v && !ENDED_PHASES.includes(v.phase)) {
      this.laterIds.add(d.id);
      this.host.say(sanitize(`Verification ${d.id} with ${v.otherUserId} stays pending: V shows its emoji again.`), "info", 10_000);
    }
    d.done();
  }

  choose(dir: 1 | -1): void {
    this.dialog?.choose(dir);
  }

  pressChosen(): void {
    const d = this.dialog;
    if (d && d.armed) this.press(d.chosen);
  }

  /** The end of a verification the console answers: in the status line and the log. */
  private announce(v: VerificationState): void {
    const who = `${v.otherUserId} ${v.otherDeviceId ?? ""}`.trim();
    const detail = v.detail ? ` (${v.detail})` : "";
    const [text, level] =
      v.phase === "done"
        ? [`✔ Verification ${v.id}: ${who} is verified.`, "ok" as const]
        : v.phase === "mismatch"
          ? [`✖ Verification ${v.id} with ${who}: the emoji did not match${detail}; nothing is trusted.`, "error" as const]
          : [`Verification ${v.id} with ${who} ended: cancelled${detail}; nothing is trusted.`, "warn" as const];
    this.host.say(sanitize(text), level, 20_000);
    this.host.app.logger.log(level === "ok" ? "info" : "warn", "console", text);
  }

  /** `v` on a room: choose one of its members' unverified devices and ask it to verify. */
  verifyDevice(r: RoomState | undefined): void {
    const h = this.host;
    if (!r) {
      h.say(h.app.store.connection.matrix === "not_configured" ? "Matrix is not configured: there is nobody to verify." : "Select a room first.", "warn");
      return;
    }
    const members = h.app.ops.chat?.members?.(r.roomId) ?? [];
    h.say(sanitize(`Looking up the devices of ${r.name}'s members…`));
    h.app.ops.verificationDevices(CONSOLE_ACTOR, members).then(
      (devices) => {
        const open = devices.filter((x) => !x.verified);
        if (!open.length) {
          if (devices.length) h.say(`All ${devices.length} devices of ${sanitize(r.name)}'s members are verified.`, "ok");
          else h.say("The bot knows no devices of this room's members.", "warn");
          return;
        }
        h.clearMessage();
        const d = h.openDialog(
          new SelectDialog(h.modals, h.ctx, {
            title: `Verify a device in ${sanitize(r.name)}`,
            intro: [
              `${devices.length - open.length} of ${devices.length} devices are verified. ` +
                "The bot asks the one you choose to verify; accept on that device, then compare the emoji here.",
            ],
            items: open,
            key: (x) => `${x.userId} ${x.deviceId}`,
            label: (x) => sanitize(`${x.userId}  ${x.deviceId}${x.displayName ? `  (${x.displayName})` : ""}`),
          }),
        );
        void d.result.then(async (dev) => {
          if (!dev) return;
          try {
            const v = await h.app.ops.startVerification(CONSOLE_ACTOR, dev.userId, dev.deviceId);
            h.say(
              sanitize(`Verification ${v.id} requested with ${dev.userId} ${dev.deviceId}: accept it on that device; the emoji show up here.`),
              "ok",
              15_000,
            );
          } catch (e) {
            h.say(`Could not start the verification: ${userMessage(e)}`, "error");
          }
        });
      },
      (e) => h.say(userMessage(e), "error"),
    );
  }
}
