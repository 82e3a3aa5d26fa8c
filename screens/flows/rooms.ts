// Room actions: details, say something as the bot, join, leave. Each through the operations as the console actor.
import { CONSOLE_ACTOR } from "../context.js";
import type { RoomState } from "../../src/core/store.js";
import { userMessage } from "../../src/core/operations.js";
import { ConfirmDialog, PromptDialog } from "../dialogs/dialogs.js";
import { ago, sanitize } from "../text.js";
import type { FlowHost } from "./host.js";

export class RoomFlow {
  constructor(private readonly host: FlowHost) {}

  private notConfigured(): boolean {
    return this.host.app.store.connection.matrix === "not_configured";
  }

  details(r: RoomState): void {
    const trust = r.trust ? `; the bot verified ${r.trust.verified} of ${r.trust.devices} member devices (v verifies one)` : "";
    this.host.showText(`Room ${sanitize(r.name)}`, [
      `Name:        ${sanitize(r.name)}`,
      `Room ID:     ${r.roomId}`,
      `Encrypted:   ${r.encrypted ? `yes${trust}` : "no"}`,
      `Members:     ${r.members}`,
      `Last active: ${ago(r.lastActivity, Date.now())}`,
      `May do:      ${sanitize(r.abilities ?? "-")}`,
    ]);
  }

  say(r: RoomState | undefined): void {
    const h = this.host;
    if (!r) {
      h.say(this.notConfigured() ? "Matrix is not configured: there is no room to talk to." : "Select a room first.", "warn");
      return;
    }
    const d = h.openDialog(
      new PromptDialog(h.modals, h.ctx, {
        title: `Say in ${sanitize(r.name)}`,
        lines: [`The bot posts this message in ${sanitize(r.name)} (${r.roomId}).`],
        validate: (v) => (v ? undefined : "Type a message, or Esc to cancel."),
      }),
    );
    void d.result.then(async (text) => {
      if (!text) return;
      try {
        await h.app.ops.say(CONSOLE_ACTOR, r.roomId, text);
        h.say(`Said in ${r.name}.`, "ok");
      } catch (e) {
        h.say(`Could not send: ${userMessage(e)}`, "error");
      }
    });
  }

  join(): void {
    const h = this.host;
    if (this.notConfigured()) {
      h.say("Matrix is not configured: there is no room to join. Set [matrix] homeserver first.", "warn");
      return;
    }
    const d = h.openDialog(
      new PromptDialog(h.modals, h.ctx, {
        title: "Join a room",
        lines: ["Room ID or alias, e.g. #ops:example.org or !abc123:example.org."],
        validate: (v) => (/^[!#][^:\s]+:\S+$/.test(v) ? undefined : "Expected !id:server or #alias:server."),
      }),
    );
    void d.result.then(async (room) => {
      if (!room) return;
      try {
        const id = await h.app.ops.joinRoom(CONSOLE_ACTOR, room);
        h.say(`Joined ${room} (${id}).`, "ok");
      } catch (e) {
        h.say(`Could not join ${room}: ${userMessage(e)}`, "error");
      }
    });
  }

  leave(r: RoomState | undefined): void {
    const h = this.host;
    if (!r) {
      h.say("Select a room to leave first.", "warn");
      return;
    }
    const d = h.openDialog(
      new ConfirmDialog(h.modals, h.ctx, {
        title: "Leave room",
        lines: [`Make the bot leave ${sanitize(r.name)} (${r.roomId})?`, "It stops answering there until it is invited again."],
        yes: "Leave room",
        danger: true,
      }),
    );
    void d.result.then(async (yes) => {
      if (!yes) return;
      try {
        await h.app.ops.leaveRoom(CONSOLE_ACTOR, r.roomId);
        h.say(`Left ${r.name}.`, "ok");
      } catch (e) {
        h.say(`Could not leave: ${userMessage(e)}`, "error");
      }
    });
  }
}
