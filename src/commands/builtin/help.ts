import type { CommandSpec } from "../types.js";
import { escapeHtml } from "../../util/html.js";
import { commandList, findCommand } from "../registry.js";

export const help: CommandSpec = {
  name: "help",
  usage: "[command]",
  summary: "List the commands, or explain one.",
  permission: "read",
  complete: (_ctx, index) => (index === 0 ? commandList().filter((c) => !c.hidden).map((c) => c.name) : []),
  async run(ctx, args) {
    const p = ctx.prefix;
    if (args[0]) {
      const c = findCommand(args[0]);
      if (!c) return { text: `No command named ${JSON.stringify(args[0])}. Try ${p} help.` , html: `No command named <code>${escapeHtml(args[0])}</code>. Try <code>${escapeHtml(p)} help</code>.` };
      const syn = `${p} ${c.name}${c.usage ? ` ${c.usage}` : ""}`;
      return { text: `${syn}\n${c.summary}\nNeeds permission: ${c.permission}.`, html: `<code>${escapeHtml(syn)}</code><br/>${escapeHtml(c.summary)}<br/>Needs permission: <b>${c.permission}</b>.` };
    }
    const visible = commandList().filter((c) => !c.hidden);
    const text = ["Commands:", ...visible.map((c) => `  ${p} ${c.name}${c.usage ? ` ${c.usage}` : ""} — ${c.summary}`), `Details: ${p} help <command>`].join("\n");
    const rows = visible.map((c) => `<tr><td><code>${escapeHtml(`${p} ${c.name}${c.usage ? ` ${c.usage}` : ""}`)}</code></td><td>${escapeHtml(c.summary)}</td></tr>`).join("");
    return { text, html: `<b>Commands</b><table><tbody>${rows}</tbody></table>Details: <code>${escapeHtml(p)} help &lt;command&gt;</code>` };
  },
};
