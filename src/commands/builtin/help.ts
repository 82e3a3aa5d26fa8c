import type { CommandSpec } from "../types.js";
import { escapeHtml } from "../../util/html.js";

/** `help` over the registry's list, handed in so this module does not import the registry that lists it. */
export const helpCommand = (commandList: () => readonly CommandSpec[]): CommandSpec => ({
  name: "help",
  usage: "[command]",
  summary: "List the commands, or explain one.",
  permission: "read",
  complete: (_ctx, index) =>
    index === 0
      ? commandList()
          .filter((c) => !c.hidden)
          .map((c) => c.name)
      : [],
  async run(ctx, args) {
    const p = ctx.prefix;
    if (args[0]) {
      const c = commandList().find((x) => x.name === args[0]!.toLowerCase());
      if (!c) {
        const alias = ctx.ops.aliases.shown(args[0]);
        if (alias)
          return {
            text: `${args[0]} is an alias for: ${p} ${alias}`,
            html: `<code>${escapeHtml(args[0])}</code> is an alias for <code>${escapeHtml(`${p} ${alias}`)}</code>`,
          };
        return {
          text: `No command named ${JSON.stringify(args[0].slice(0, 50))}. Try ${p} help.`,
          html: `No command named <code>${escapeHtml(args[0].slice(0, 50))}</code>. Try <code>${escapeHtml(p)} help</code>.`,
        };
      }
      const syn = `${p} ${c.name}${c.usage ? ` ${c.usage}` : ""}`;
      const perm = c.permissionText ?? c.permission;
      return {
        text: `${syn}\n${c.summary}\nNeeds: ${perm}.`,
        html: `<code>${escapeHtml(syn)}</code><br/>${escapeHtml(c.summary)}<br/>Needs: <b>${escapeHtml(perm)}</b>.`,
      };
    }
    const visible = commandList().filter((c) => !c.hidden);
    const aliases = ctx.ops.aliases.list();
    const text = [
      "Commands:",
      ...visible.map((c) => `  ${p} ${c.name}${c.usage ? ` ${c.usage}` : ""} — ${c.summary}`),
      ...(aliases.length ? [`Aliases: ${aliases.map((a) => a.name).join(", ")}`] : []),
      `Details: ${p} help <command>. Confirm prompts: reply yes/no or react 👍/👎.`,
    ].join("\n");
    const rows = visible
      .map((c) => `<tr><td><code>${escapeHtml(`${p} ${c.name}${c.usage ? ` ${c.usage}` : ""}`)}</code></td><td>${escapeHtml(c.summary)}</td></tr>`)
      .join("");
    const aliasHtml = aliases.length ? `Aliases: ${aliases.map((a) => `<code>${escapeHtml(a.name)}</code>`).join(", ")}<br/>` : "";
    return {
      text,
      html:
        `<b>Commands</b><table><tbody>${rows}</tbody></table>${aliasHtml}Details: <code>${escapeHtml(p)} help &lt;command&gt;</code>. Confirm prompts: ` +
        `reply yes/no or react 👍/👎.`,
    };
  },
});
