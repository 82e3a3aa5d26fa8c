import type { CommandContext, CommandSpec } from "../types.js";
import { plain, table, mxLink } from "../format.js";

export const admins: CommandSpec = {
  name: "admins",
  usage: "",
  summary: "List the bot's admins ([bot] admin_users).",
  permission: "read",
  async run(ctx) {
    const list = ctx.ops.config.values.bot.admin_users;
    if (list.length === 0) return plain("No admin_users are configured, so nobody may use admin commands (join, part, exit, aliases add/remove).");
    return {
      text: ["Admins (every permission in every room):", ...list.map((u) => `  ${u}`)].join("\n"),
      html: `<b>Admins</b> (every permission in every room)<ul>${list.map((u) => `<li>${mxLink(u)}</li>`).join("")}</ul>`,
    };
  },
};

function abilities(ctx: CommandContext, roomId: string): string {
  const perms = ctx.ops.permissions;
  const policy = perms.policy(roomId);
  const projects = (l: readonly string[]) => (l.length ? l.join(", ") : "none");
  if (!policy) {
    const access = ctx.ops.config.values.bot.default_room_access === "read" ? "read-only" : "nothing";
    return `${access} (no [room] section); projects: ${projects(perms.roomProjects(roomId))}`;
  }
  const who = (l: string[]) => (l.includes("*") ? "everyone" : l.length ? `${l.length} user${l.length === 1 ? "" : "s"}` : "nobody");
  return `run: ${who(policy.run)}; stop: ${who(policy.stop)}; approve: ${who(policy.approve)}; projects: ${projects(policy.projects)}`;
}

export const rooms: CommandSpec = {
  name: "rooms",
  usage: "[join <room id or alias> | part <room id, alias or here>]",
  summary: "List the rooms the bot is in and what each may do; admins can make it join or leave rooms.",
  permission: "read",
  permissionText: "read to list; admin to join or part",
  complete: (_ctx, index) => (index === 0 ? ["join", "part"] : []),
  async run(ctx, args) {
    const sub = args[0]?.toLowerCase();
    if (sub === undefined) {
      const list = ctx.ops.visibleRooms(ctx.actor).sort((a, b) => a.name.localeCompare(b.name));
      if (list.length === 0) return plain("The bot is not in any room.");
      const readable = ctx.ops.store.crypto.enabled;
      const enc = (r: (typeof list)[number]) =>
        !r.encrypted ? "no" : !readable ? "yes (the bot cannot read it)" : r.trust ? `yes (${r.trust.verified} of ${r.trust.devices} devices verified)` : "yes";
      const text = [
        "Rooms:",
        ...list.map(
          (r) =>
            `  ${r.name} (${r.roomId}) · ${r.members} ` +
            `member${r.members === 1 ? "" : "s"}${r.encrypted ? ` · encrypted: ${enc(r)}` : ""} ` +
            `· ${abilities(ctx, r.roomId)}`,
        ),
      ].join("\n");
      return {
        text,
        html: `<b>Rooms</b>${table(
          ["Name", "Room ID", "Members", "Encrypted", "Allowed here"],
          list.map((r) => [r.name, r.roomId, r.members, enc(r), abilities(ctx, r.roomId)]),
        )}`,
      };
    }
    if (sub === "join") {
      if (args.length !== 2) return plain(`⚠️ Usage: ${ctx.prefix} rooms join <room id or alias>, e.g. ${ctx.prefix} rooms join #ops:example.org`);
      const id = await ctx.ops.joinRoom(ctx.actor, args[1]!);
      return plain(`✅ Joined ${args[1]}${id !== args[1] ? ` (${id})` : ""}.`);
    }
    if (sub === "part" || sub === "leave") {
      if (args.length !== 2) return plain(`⚠️ Usage: ${ctx.prefix} rooms part <room id, alias or here>`);
      const id = await ctx.ops.partRoom(ctx.actor, args[1]!, `${ctx.prefix} rooms`);
      return plain(`👋 Left ${args[1]}${id !== args[1] ? ` (${id})` : ""}.`);
    }
    return plain(`⚠️ Unknown rooms action ${JSON.stringify(args[0]!.slice(0, 40))}: use join or part.\nUsage: ${ctx.prefix} rooms ${rooms.usage}`);
  },
};
