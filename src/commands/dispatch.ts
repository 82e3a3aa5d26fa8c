import { tokenize } from "../util/tokenize.js";
import { findCommand, commandList } from "./registry.js";
import type { CommandContext, Reply } from "./types.js";
import { OperationError, userMessage, actorName, type Operations, type Actor } from "../core/operations.js";
import { escapeHtml } from "../util/html.js";
import { closest } from "../util/text.js";
import type { CommandOutcome } from "../core/metrics.js";

/** Turns a prefixed chat text into a command run. Returns undefined when the text is not addressed to the bot. */
export function stripPrefix(body: string, prefix: string): string | undefined {
  const t = body.trim();
  if (!t.toLowerCase().startsWith(prefix.toLowerCase())) return undefined;
  const rest = t.slice(prefix.length);
  // "!cdfoo" is not "!cd foo": the prefix must be followed by whitespace or the end.
  if (rest !== "" && !/^\s/.test(rest)) return undefined;
  return rest.trim();
}

const plain = (text: string): Reply => ({ text, html: escapeHtml(text).replace(/\n/g, "<br/>") });

/** Runs one command line (without prefix). Every failure becomes a clear reply; nothing throws. */
export async function runCommandLine(ctx: CommandContext, line: string): Promise<Reply> {
  const log = ctx.ops.logger.child("commands");
  try {
    return await dispatch(ctx, line);
  } catch (e) {
    // Only a bug gets here (dispatch catches command failures); still answer.
    ctx.ops.counters.errors++;
    log.error(`command line failed for ${actorName(ctx.actor)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return plain(`⚠️ Something went wrong: ${userMessage(e)}`);
  }
}

async function dispatch(ctx: CommandContext, line: string): Promise<Reply> {
  const count = (command: string, outcome: CommandOutcome) => ctx.ops.metrics.commands.inc({ command, outcome, via: ctx.actor.kind });
  const toks = tokenize(line);
  if (!toks.ok) {
    count("unknown", "invalid");
    return plain(`⚠️ Could not read the command: ${toks.error}.`);
  }
  const expanded = ctx.ops.aliases.expand(toks.tokens);
  const [name, ...args] = expanded.tokens;
  if (!name) return await findCommand("help")!.run(ctx, []);
  const cmd = findCommand(name);
  if (!cmd) {
    count("unknown", "unknown");
    const hint = closest(name.toLowerCase(), [
      ...commandList()
        .filter((c) => !c.hidden)
        .map((c) => c.name),
      ...ctx.ops.aliases.list().map((a) => a.name),
    ]);
    return plain(
      `❓ Unknown command ${JSON.stringify(name.slice(0, 50))}.${hint ? ` Did you mean ${ctx.prefix} ${hint}?` : ""} Type ${ctx.prefix} help for the list.`,
    );
  }
  const cctx: CommandContext = expanded.alias ? { ...ctx, alias: expanded.alias } : ctx;
  const decision = await ctx.ops.admitCommand(ctx.actor, cmd.name, cmd.permission, expanded.alias);
  if (!decision.allowed) {
    count(cmd.name, "refused");
    return plain(`🚫 Not allowed to use ${cmd.name}: ${decision.reason}.`);
  }
  try {
    const reply = await cmd.run(cctx, args);
    count(cmd.name, "ok");
    return reply;
  } catch (e) {
    count(cmd.name, e instanceof OperationError ? (e.code === "denied" ? "refused" : "invalid") : "failed");
    return replyForError(ctx.ops, ctx.actor, cmd.name, e);
  }
}

/** The reply for a failed command (or confirmed action): refusals and bad input as themselves, the rest logged. */
export function replyForError(ops: Operations, actor: Actor, what: string, e: unknown): Reply {
  const log = ops.logger.child("commands");
  if (e instanceof OperationError) return plain(`${e.code === "denied" ? "🚫" : "⚠️"} ${e.message}`);
  if ((e as { kind?: string }).kind) {
    // A Semaphore failure: its message already says what happened and what to do.
    log.warn(`${what} for ${actorName(actor)}: ${userMessage(e)}`);
    return plain(`⚠️ ${what} failed: ${userMessage(e)}`);
  }
  ops.counters.errors++;
  log.error(`${what} failed for ${actorName(actor)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return plain(`⚠️ ${what} failed: ${userMessage(e)}`);
}
