import type { CommandSpec } from "../types.js";
import { plain, table, escapeHtml } from "../format.js";

export const aliases: CommandSpec = {
  name: "aliases",
  usage: "[add <alias> <command…> | remove <alias>]",
  summary: 'List command shortcuts; admins add or remove them (e.g. aliases add deploy "run Infrastructure Deploy --tags web").',
  permission: "read",
  permissionText: "read to list; admin to add or remove",
  complete: (_ctx, index) => (index === 0 ? ["add", "remove"] : []),
  async run(ctx, args) {
    const store = ctx.ops.aliases;
    const p = ctx.prefix;
    const sub = args[0]?.toLowerCase();
    if (sub === undefined) {
      const list = store.list();
      const problems = store.problems.length ? `\nProblems in ${store.file}: ${store.problems.join("; ")}` : "";
      if (list.length === 0) return plain(`No aliases yet. Add one: ${p} aliases add <alias> <command…>${problems}`);
      const text = ["Aliases:", ...list.map((a) => `  ${a.name} → ${a.shown}`)].join("\n") + problems;
      return {
        text,
        html: `<b>Aliases</b>${table(
          ["Alias", "Runs"],
          list.map((a) => [a.name, { html: `<code>${escapeHtml(`${p} ${a.shown}`)}</code>` }]),
        )}${problems ? escapeHtml(problems) : ""}`,
      };
    }
    if (sub === "add") {
      const [, name, ...rest] = args;
      if (!name || rest.length === 0)
        return plain(`⚠️ Usage: ${p} aliases add <alias> <command…>, e.g. ${p} aliases add deploy run Infrastructure "Deploy web" --tags web`);
      // `aliases add x "run 1 5"` (the whole command quoted) and `aliases add x run 1 "Deploy web"` both work.
      const command =
        rest.length === 1 && /\s/.test(rest[0]!)
          ? rest[0]!
          : rest.map((r) => (/[\s"'\\]/.test(r) || r === "" ? `"${r.replace(/(["\\])/g, "\\$1")}"` : r)).join(" ");
      const { shown, replaced } = await ctx.ops.addAlias(ctx.actor, name, command, p);
      return plain(`✅ Alias ${name} → ${p} ${shown}${replaced ? ` (was: ${replaced})` : ""}`);
    }
    if (sub === "remove" || sub === "rm" || sub === "delete") {
      if (args.length !== 2) return plain(`⚠️ Usage: ${p} aliases remove <alias>`);
      if (!(await ctx.ops.removeAlias(ctx.actor, args[1]!))) return plain(`There is no alias ${JSON.stringify(args[1]!.slice(0, 40))}. See ${p} aliases.`);
      return plain(`🗑️ Alias ${args[1]} removed.`);
    }
    return plain(`⚠️ Unknown aliases action ${JSON.stringify(args[0]!.slice(0, 40))}.\nUsage: ${p} aliases ${aliases.usage}`);
  },
};
