import { hostname, networkInterfaces, platform, arch } from "node:os";
import type { CommandSpec } from "../types.js";
import type { Store } from "../../core/store.js";
import type { ChatInfo } from "../../core/operations.js";
import { table } from "../format.js";
import { VERSION } from "../../version.js";
import { formatDuration } from "../../util/text.js";
import { isTerminalStatus } from "../../semaphore/types.js";

function encryptionSummary(store: Store, chat: ChatInfo): string {
  const c = store.crypto;
  const rooms = [...store.rooms.values()].filter((r) => r.encrypted);
  const utd = `${c.undecryptable} undecryptable${c.waitingForKeys ? ` (${c.waitingForKeys} still waiting for keys)` : ""}`;
  if (!chat.encryption)
    return (
      `not enabled${c.detail ? ` (${c.detail})` : ""}: the bot reads only unencrypted ` +
      `rooms${chat.encryptedRooms ? ` (${chat.encryptedRooms} of its ${chat.rooms} rooms are encrypted)` : ""}; ${utd}`
    );
  const devices = rooms.reduce((n, r) => n + (r.trust?.devices ?? 0), 0);
  const verified = rooms.reduce((n, r) => n + (r.trust?.verified ?? 0), 0);
  return [
    `enabled (device ${c.deviceId ?? chat.deviceId ?? "?"}, fingerprint ${c.ed25519 ?? "?"})`,
    `${rooms.length} encrypted room${rooms.length === 1 ? "" : "s"}; ${verified} of ${devices} member device${devices === 1 ? "" : "s"} verified`,
    `cross-signing ${c.crossSigning ? "set up" : "not set up"}`,
    utd,
  ].join("; ");
}

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
      ["Matrix", "Encryption", chat ? encryptionSummary(ops.store, chat) : "-"],
      ["Semaphore", "Version", conn.semaphoreVersion ?? "unknown"],
      ["Semaphore", "Reachable", ping.semaphore.ok ? `yes (${ping.semaphore.ms} ms)` : `no: ${ping.semaphore.error}`],
      ["Semaphore", "Updates", `${conn.semaphore}${conn.semaphoreDetail ? ` (${conn.semaphoreDetail})` : ""}`],
      ["Tasks", "Tracked", `${tasks.length} known, ${active} active, ${ops.approvals.pending().length} waiting for approval`],
      [
        "Counters",
        "Commands",
        `${ops.counters.commands} handled, ${ops.counters.refused} refused, ${ops.counters.errors} failed, ${ops.counters.messagesSent} messages sent`,
      ],
    ];
    if (ops.config.values.bot.show_host_info) {
      const addrs = Object.values(networkInterfaces())
        .flat()
        .filter((a) => a && !a.internal)
        .map((a) => a!.address);
      rows.push(["Host", "Name", hostname()], ["Host", "Addresses", addrs.join(", ") || "none"]);
    }
    const text = rows.map(([s, k, v]) => `${s} · ${k}: ${v}`).join("\n");
    return { text, html: `<b>ChatrixCD</b>${table(["", "", ""], rows)}` };
  },
};
