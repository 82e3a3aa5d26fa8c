import type { CommandSpec } from "../types.js";
import { plain } from "../format.js";

export const exit: CommandSpec = {
  name: "exit",
  usage: "",
  summary: "Shut the bot down (asks you to confirm).",
  permission: "admin",
  async run(ctx, args) {
    if (args.length) return plain(`⚠️ exit takes no arguments.\nUsage: ${ctx.prefix} exit`);
    return {
      ...plain("⚠️ Shut ChatrixCD down? It stops answering until someone restarts it. Reply yes or no (or react 👍 / 👎)."),
      confirm: {
        kind: "exit",
        summary: "Shut the bot down",
        timeoutMs: Math.min(ctx.ops.config.values.bot.confirm_timeout, 120) * 1000,
        onConfirm: async () => {
          // Let the goodbye be sent first; shutdown waits for replies in flight.
          await ctx.ops.exit(ctx.actor, 300);
          return plain(ctx.ops.messages.pick("shutdown"));
        },
        onCancel: () => ctx.ops.cancelPrompt(ctx.actor, { kind: "exit" }),
      },
    };
  },
};
