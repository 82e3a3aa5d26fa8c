import type { CommandContext, CommandSpec } from "../types.js";
import { plain, table, escapeHtml } from "../format.js";
import { sasText } from "../../matrix/verification.js";
import type { VerificationState } from "../../core/store.js";

const USAGE = "[list [@user …] | start <@user> <device> | confirm <id> | mismatch <id> | cancel <id> | pending]";

function describe(v: VerificationState): string {
  const who = v.origin === "chat" ? `started by ${v.owner}` : v.origin === "console" ? "started at the console" : "asked for by the other side";
  return `${v.id}: ${v.otherUserId} ${v.otherDeviceId ?? "?"} · ${v.phase}${v.detail ? ` (${v.detail})` : ""} · ${who}`;
}

async function list(ctx: CommandContext, users: string[]) {
  const devices = await ctx.ops.verificationDevices(ctx.actor, users.length ? users : undefined);
  const unverified = devices.filter((d) => !d.verified);
  const verified = devices.length - unverified.length;
  const scope = ctx.actor.kind === "chat" && !users.length ? " (members of this room and the bot's own other devices)" : "";
  const head = `${unverified.length} unverified device${unverified.length === 1 ? "" : "s"}, ${verified} verified${scope}.`;
  if (!unverified.length) return plain(`🔐 ${head}`);
  const rows = unverified.map((d) => [d.userId, d.deviceId, d.displayName ?? ""]);
  const how = `${ctx.prefix} verify start <@user> <device>`;
  const text = [`🔐 ${head}`, ...rows.map(([u, d, n]) => `  ${u} ${d}${n ? ` (${n})` : ""}`), `Start one: ${how}`].join("\n");
  return { text, html: `🔐 ${escapeHtml(head)}${table(["User", "Device", "Name"], rows)}Start one: <code>${escapeHtml(how)}</code>` };
}

export const verify: CommandSpec = {
  name: "verify",
  usage: USAGE,
  summary: "Verify other devices by comparing emoji (SAS): list unverified devices, start, answer, cancel. Nothing is ever trusted automatically.",
  permission: "admin",
  complete: (_ctx, index) => (index === 0 ? ["list", "start", "confirm", "mismatch", "cancel", "pending"] : []),
  async run(ctx, args) {
    const sub = (args[0] ?? "list").toLowerCase();
    const rest = args.slice(1);
    switch (sub) {
      case "list":
        if (rest.some((u) => !/^@[^:\s]+:\S+$/.test(u)))
          return plain(`⚠️ verify list takes Matrix IDs like @alice:example.org.\nUsage: ${ctx.prefix} verify ${USAGE}`);
        return list(ctx, rest);
      case "start": {
        if (rest.length !== 2 || !/^@[^:\s]+:\S+$/.test(rest[0]!))
          return plain(`⚠️ Usage: ${ctx.prefix} verify start <@user:server> <device id> (see ${ctx.prefix} verify list)`);
        const v = await ctx.ops.startVerification(ctx.actor, rest[0]!, rest[1]!);
        const where = ctx.actor.kind === "chat" ? "The emoji will be shown here; only you can confirm them." : "The emoji will be shown here.";
        return plain(`🔐 Verification ${v.id} requested with ${v.otherUserId} ${rest[1]}: accept it on that device. ${where}`);
      }
      case "confirm":
      case "mismatch": {
        if (rest.length !== 1) return plain(`⚠️ Usage: ${ctx.prefix} verify ${sub} <id>, e.g. ${ctx.prefix} verify ${sub} v1`);
        await ctx.ops.confirmVerification(ctx.actor, rest[0]!, sub === "confirm");
        return plain(
          sub === "confirm"
            ? `✅ Confirmed ${rest[0]}; the device is verified once the other side confirms too.`
            : `🚫 Reported a mismatch for ${rest[0]}; the verification is cancelled and nothing is trusted.`,
        );
      }
      case "cancel": {
        if (rest.length !== 1) return plain(`⚠️ Usage: ${ctx.prefix} verify cancel <id>`);
        await ctx.ops.cancelVerification(ctx.actor, rest[0]!);
        return plain(`Cancelled verification ${rest[0]}.`);
      }
      case "pending": {
        const active = ctx.ops.pendingVerifications(ctx.actor);
        if (!active.length) return plain("No verification is in progress.");
        const lines = active.map((v) => `${describe(v)}${v.phase === "sas" ? `\n    ${sasText(v.emoji, v.decimals).replace(/\n/g, "\n    ")}` : ""}`);
        return plain(["Verifications in progress:", ...lines.map((l) => `  ${l}`)].join("\n"));
      }
      default:
        return plain(`⚠️ Unknown verify action ${JSON.stringify(sub.slice(0, 40))}.\nUsage: ${ctx.prefix} verify ${USAGE}`);
    }
  },
};
