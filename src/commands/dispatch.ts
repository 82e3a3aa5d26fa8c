import { tokenize } from "./tokenize.js";
import { findCommand, commandList } from "./registry.js";
import type { CommandContext, Reply } from "./types.js";
import { OperationError, userMessage, actorName } from "../core/operations.js";
import { escapeHtml } from "../util/html.js";
import { closest } from "../util/text.js";

/** Turns a prefixed chat text into a command run. Returns undefined when the text is not addressed to the bot. */
export function stripPrefix(body: string, prefix: string): string | undefined {
  const t = body.trim();
  if (!t.toLowerCase().startsWith(prefix.toLowerCase())) return undefined;
  const rest = t.slice(prefix.length);
  // "!cdfoo" is not "!cd foo": the prefix must be followed by whitespace or the end.
  if (rest !== "" && !/^\s/.test(rest)) return undefined;
  return rest.trim();
}

const plain = (text: string): Reply => ({ text, html: escapeHtml(text) });

/** Runs one command line (without prefix). Every failure becomes a clear reply; nothing throws. */
export async function runCommandLine(ctx: CommandContext, line: string): Promise<Reply> {
  const toks = tokenize(line);
  if (!toks.ok) return plain(`⚠️ Could not read the command: ${toks.error}.`);
  const [name, ...args] = toks.tokens;
  if (!name) return (await findCommand("help")!.run(ctx, []));
  const cmd = findCommand(name);
  const log = ctx.ops.logger.child("commands");
  if (!cmd) {
    const hint = closest(name.toLowerCase(), commandList().filter((c) => !c.hidden).map((c) => c.name));
    return plain(`❓ Unknown command ${JSON.stringify(name.slice(0, 50))}.${hint ? ` Did you mean ${ctx.prefix} ${hint}?` : ""} Type ${ctx.prefix} help for the list.`);
  }
  const decision = ctx.ops.authorize(ctx.actor, cmd.permission);
  ctx.ops.counters.commands++;
  if (!decision.allowed) {
    ctx.ops.counters.refused++;
    log.warn(`refused ${cmd.name} for ${actorName(ctx.actor)}: ${decision.reason}`);
    return plain(`🚫 Not allowed: ${decision.reason}.`);
  }
  try {
    return await cmd.run(ctx, args);
  } catch (e) {
    if (e instanceof OperationError) return plain(`${e.code === "denied" ? "🚫" : "⚠️"} ${e.message}`);
    ctx.ops.counters.errors++;
    log.error(`${cmd.name} failed for ${actorName(ctx.actor)}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return plain(`⚠️ ${cmd.name} failed: ${userMessage(e)}`);
  }
}
