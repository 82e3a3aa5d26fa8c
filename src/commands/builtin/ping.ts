import type { CommandSpec } from "../types.js";
import { escapeHtml } from "../../util/html.js";

export const ping: CommandSpec = {
  name: "ping",
  usage: "",
  summary: "Check that the bot is alive and Semaphore is reachable.",
  permission: "read",
  async run(ctx) {
    const r = await ctx.ops.ping(ctx.actor);
    if (r.semaphore.ok) {
      const text = `🏓 Pong! Semaphore answered in ${r.semaphore.ms} ms.`;
      return { text, html: escapeHtml(text) };
    }
    const text = `🏓 Pong, but Semaphore is not reachable: ${r.semaphore.error}`;
    return { text, html: `🏓 Pong, but <font color="#cc0000">Semaphore is not reachable</font>: ${escapeHtml(r.semaphore.error ?? "")}` };
  },
};
