import type { CommandContext, CommandSpec } from "../types.js";
import { plain } from "../format.js";

const nameOf = (ctx: CommandContext) => (ctx.actor.kind === "chat" ? ctx.actor.userId : "operator");

export const pet: CommandSpec = {
  name: "pet",
  usage: "",
  summary: "Be nice to the bot.",
  permission: "read",
  hidden: true,
  async run(ctx) {
    return plain(ctx.ops.messages.pick("pet", { name: nameOf(ctx) }));
  },
};

export const scold: CommandSpec = {
  name: "scold",
  usage: "",
  summary: "Tell the bot off.",
  permission: "read",
  hidden: true,
  async run(ctx) {
    return plain(ctx.ops.messages.pick("scold", { name: nameOf(ctx) }));
  },
};

export const log: CommandSpec = {
  name: "log",
  usage: "on|off | [task]",
  summary: "log on/off: post task output into the cards' threads in this room, or not. log <task>: same as logs.",
  permission: "read",
  permissionText: "run permission for on/off; read for showing output",
  complete: (_ctx, index) => (index === 0 ? ["on", "off"] : []),
  async run(ctx, args) {
    const sub = args[0]?.toLowerCase();
    if (sub === "on" || sub === "off") {
      if (args.length > 1) return plain(`⚠️ Usage: ${ctx.prefix} log on|off`);
      await ctx.ops.setRoomLog(ctx.actor, sub === "on");
      return plain(
        sub === "on"
          ? "📜 Task output now goes into each status card's thread in this room."
          : "🔇 Task output is no longer posted here; cards still show progress, and logs <task> shows the end of the output.",
      );
    }
    if (args.length > 1) return plain(`⚠️ Usage: ${ctx.prefix} log on|off, or ${ctx.prefix} logs [task]`);
    const { logsReply } = await import("./tasks.js");
    return logsReply(ctx, args[0]);
  },
};
