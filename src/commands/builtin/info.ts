import { hostname, networkInterfaces, platform, arch } from "node:os";
import type { CommandSpec } from "../types.js";
import { table } from "../format.js";
import { VERSION } from "../../version.js";
import { formatDuration } from "../../util/text.js";
import { isTerminalStatus } from "../../semaphore/types.js";

export const info: CommandSpec = {
  name: "info",
  usage: "",
  summary: "Version, uptime, Matrix and Semaphore connection, tracked tasks and counters.",
  permission: "read",
  async run(ctx) {
    const ops = ctx.ops;
    const conn = ops.store.connection;
    const chat = ops.chat?.describe?.();
    const ping = await ops.ping(ctx.actor);
    const tasks = [...ops.store.tasks.values()];
    const active = tasks.filter((t) => !isTerminalStatus(t.status)).length;
    const rows: Array<[string, string, string]> = [
      ["Bot", "Version", `ChatrixCD ${VERSION} (Node ${process.version}, ${platform()}/${arch()})`],
      ["Bot", "Uptime", formatDuration(Date.now() - ops.startedAt)],
      ["Matrix", "Homeserver", chat?.homeserver ?? (ops.config.values.matrix.homeserver || "not configured")],
      ["Matrix", "User / device", chat ? `${chat.userId ?? "?"} / ${chat.deviceId ?? "?"}` : "-"],
      ["Matrix", "Connection", `${conn.matrix}${conn.matrixDetail ? ` (${conn.matrixDetail})` : ""}`],
      ["Matrix", "Encryption", chat ? (chat.encryption ? "enabled" : `not enabled: the bot reads only unencrypted rooms${chat.encryptedRooms ? ` (${chat.encryptedRooms} of its ${chat.rooms} rooms are encrypted)` : ""}`) : "-"],
      ["Semaphore", "Version", conn.semaphoreVersion ?? "unknown"],
      ["Semaphore", "Reachable", ping.semaphore.ok ? `yes (${ping.semaphore.ms} ms)` : `no: ${ping.semaphore.error}`],
      ["Semaphore", "Updates", `${conn.semaphore}${conn.semaphoreDetail ? ` (${conn.semaphoreDetail})` : ""}`],
      ["Tasks", "Tracked", `${tasks.length} known, ${active} active, ${ops.approvals.pending().length} waiting for approval`],
      ["Counters", "Commands", `${ops.counters.commands} handled, ${ops.counters.refused} refused, ${ops.counters.errors} failed, ${ops.counters.messagesSent} messages sent`],
    ];
    if (ops.config.values.bot.show_host_info) {
      const addrs = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal).map((a) => a!.address);
      rows.push(["Host", "Name", hostname()], ["Host", "Addresses", addrs.join(", ") || "none"]);
    }
    const text = rows.map(([s, k, v]) => `${s} · ${k}: ${v}`).join("\n");
    return { text, html: `<b>ChatrixCD</b>${table(["", "", ""], rows)}` };
  },
};
