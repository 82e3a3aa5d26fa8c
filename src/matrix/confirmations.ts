// Pending yes/no confirmations of run, stop and exit in chat. The requester answers by a message (yes/no, as a
// reply to the prompt or not) or by a 👍/👎 reaction on the prompt. Anything else they write is handled normally and
// leaves the prompt open. One pending prompt per requester per room: a newer one replaces the older. Timeouts cancel.
import type { Reply } from "../commands/types.js";
import type { Operations, Actor } from "../core/operations.js";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { reactionAnswer, textAnswer } from "./reactions.js";
import { replyForError } from "../commands/dispatch.js";

export interface ConfirmPorts {
  /** Sends a reply (may become a status card) and returns the event id of the (first) message. */
  reply(roomId: string, inReplyTo: string | undefined, reply: Reply, actor: Actor): Promise<string | undefined>;
  /** Replaces the text of an earlier notice. */
  edit(roomId: string, eventId: string, text: string, html?: string): Promise<void>;
}

interface Pending {
  id: string;
  roomId: string;
  userId: string;
  actor: Actor;
  promptId?: string;
  reply: Reply;
  timer?: NodeJS.Timeout;
  settled: boolean;
  /** How it was settled; a prompt settled while still being posted is marked once its event id is known. */
  outcome?: Outcome;
}

type Outcome = "yes" | "no" | "timeout" | "superseded";

let seq = 0;

/** How long a confirmed action may take before the prompt is marked confirmed ahead of its answer. */
export const CONFIRMED_EDIT_AFTER_MS = 500;

export class Confirmations {
  private byKey = new Map<string, Pending>();
  /** Prompts already answered, replaced or timed out (the last few hundred): a late "yes" to one must not confirm another. */
  private closed = new Map<string, { outcome: string; summary: string }>();

  constructor(
    private readonly ops: Operations,
    private readonly ports: ConfirmPorts,
    private readonly log: Log,
  ) {}

  private key(roomId: string, userId: string) {
    return `${roomId}\u0000${userId}`;
  }

  get size(): number {
    return this.byKey.size;
  }

  pendingFor(roomId: string, userId: string): { promptId?: string; summary: string } | undefined {
    const p = this.byKey.get(this.key(roomId, userId));
    return p && { promptId: p.promptId, summary: p.reply.confirm!.summary };
  }

  /** Posts the prompt of a reply that needs confirmation and waits for the answer. */
  async offer(roomId: string, userId: string, commandEventId: string | undefined, reply: Reply): Promise<void> {
    const c = reply.confirm!;
    const key = this.key(roomId, userId);
    const older = this.byKey.get(key);
    // The new prompt takes the place before any await, so a third offer at the same time replaces this one.
    const p: Pending = { id: `confirm-${++seq}`, roomId, userId, actor: { kind: "chat", userId, roomId, eventId: commandEventId }, reply, settled: false };
    this.byKey.set(key, p);
    if (older) await this.settle(older, "superseded");
    if (p.settled) return;
    const promptReply: Reply = { text: reply.text, html: reply.html };
    p.promptId = await this.ports.reply(roomId, commandEventId, promptReply, p.actor);
    if (p.settled) {
      await this.markClosed(p)();
      return;
    }
    const timeoutMs = c.timeoutMs ?? this.ops.config.values.bot.confirm_timeout * 1000;
    p.timer = setTimeout(() => void this.settle(p, "timeout"), timeoutMs);
    this.ops.store.addPending({
      id: p.id,
      kind: c.kind,
      requester: userId,
      roomId,
      createdAt: Date.now(),
      expiresAt: Date.now() + timeoutMs,
      summary: c.summary,
    });
  }

  /** A message from `userId`: true when it answered their pending prompt (and must not be treated as a command). */
  async onMessage(roomId: string, userId: string, eventId: string, body: string, inReplyTo: string | undefined): Promise<boolean> {
    const p = this.byKey.get(this.key(roomId, userId));
    const answer = textAnswer(body, this.ops.config.values.bot.command_prefix);
    const old = inReplyTo ? this.closed.get(inReplyTo) : undefined;
    if (answer && old && inReplyTo !== p?.promptId) {
      // A yes/no in reply to a prompt that is no longer open (e.g. it crossed a newer request in a slow room).
      const open = p && !p.settled ? ` The open request is: ${p.reply.confirm!.summary}; answer its prompt.` : "";
      await this.ports.reply(
        roomId,
        eventId,
        { text: `That request was already ${old.outcome} (${old.summary}); your "${answer}" changed nothing.${open}` },
        { kind: "chat", userId, roomId, eventId },
      );
      return true;
    }
    if (!p || p.settled) return false;
    if (!answer) {
      if (inReplyTo && inReplyTo === p.promptId) {
        await this.ports.reply(
          roomId,
          eventId,
          { text: `Please answer yes or no (or react 👍 / 👎 on the prompt). The request is still open: ${p.reply.confirm!.summary}.` },
          p.actor,
        );
        return true;
      }
      return false;
    }
    await this.settle(p, answer, eventId);
    return true;
  }

  /** A reaction: true when it answered a prompt. Reactions by others on a prompt are pointed to the requester. */
  async onReaction(roomId: string, userId: string, target: string, key: string): Promise<boolean> {
    const p = [...this.byKey.values()].find((x) => x.roomId === roomId && x.promptId === target && !x.settled);
    if (!p) return false;
    const answer = reactionAnswer(key);
    if (!answer) return true;
    if (p.userId !== userId) {
      this.log.info(`ignoring ${key} by ${userId} on the prompt of ${p.userId}`);
      await this.ports.reply(roomId, target, { text: `Only ${p.userId}, who asked, can answer this prompt.` }, { kind: "chat", userId, roomId });
      return true;
    }
    await this.settle(p, answer, target);
    return true;
  }

  /**
   * Remembers how the prompt ended (for late answers) at once, and returns the edit that says so on the prompt: a
   * function, so that a confirmed run can post its card first.
   */
  private markClosed(p: Pending): () => Promise<void> {
    const c = p.reply.confirm!;
    const outcome = p.outcome;
    if (!p.promptId || !outcome) return async () => undefined;
    const mark: Record<Outcome, string> = {
      yes: `✅ Confirmed by ${p.userId}: ${c.summary}`,
      no: `✖️ Cancelled by ${p.userId}: ${c.summary}`,
      timeout: `⌛ Timed out (no answer): ${c.summary}`,
      superseded: `↪️ Replaced by a newer request from ${p.userId}: ${c.summary}`,
    };
    const said: Record<Outcome, string> = { yes: "confirmed", no: "cancelled", timeout: "timed out", superseded: "replaced by a newer request" };
    this.closed.set(p.promptId, { outcome: said[outcome], summary: c.summary });
    if (this.closed.size > 500) this.closed.delete(this.closed.keys().next().value!);
    const promptId = p.promptId;
    return () => this.ports.edit(p.roomId, promptId, mark[outcome]).catch((e) => this.log.warn(`could not edit the prompt: ${errorText(e)}`));
  }

  private async settle(p: Pending, outcome: Outcome, answerEventId?: string): Promise<void> {
    if (p.settled) return;
    p.settled = true;
    p.outcome = outcome;
    if (p.timer) clearTimeout(p.timer);
    if (this.byKey.get(this.key(p.roomId, p.userId)) === p) this.byKey.delete(this.key(p.roomId, p.userId));
    this.ops.store.removePending(p.id);
    const c = p.reply.confirm!;
    const editPrompt = this.markClosed(p);
    if (outcome !== "yes") {
      await editPrompt();
      try {
        await c.onCancel?.();
      } catch (e) {
        this.log.warn(`cancel handler failed: ${errorText(e)}`);
      }
      if (outcome === "superseded") return;
      const line = outcome === "no" ? this.ops.messages.pick("cancel") : this.ops.messages.pick("timeout");
      await this.ports.reply(p.roomId, answerEventId ?? p.promptId, { text: `${line} (${c.summary})` }, p.actor);
      return;
    }
    // The answer to "yes" (the task's card, with its real id) goes out as soon as Semaphore answers the start, before
    // the prompt's "Confirmed" edit: one room's messages are sent one at a time, so the edit first would delay the
    // card by a round trip. A slow start still gets the edit after CONFIRMED_EDIT_AFTER_MS, so the asker sees it taken.
    let edited: Promise<void> | undefined;
    const slow = setTimeout(() => {
      edited = editPrompt();
    }, CONFIRMED_EDIT_AFTER_MS);
    let result: Reply;
    try {
      result = await c.onConfirm();
    } catch (e) {
      result = replyForError(this.ops, p.actor, c.kind, e);
    } finally {
      clearTimeout(slow);
    }
    try {
      await this.ports.reply(p.roomId, answerEventId ?? p.promptId, result, p.actor);
    } finally {
      await (edited ?? editPrompt()); // a reply that failed still leaves the prompt marked confirmed
    }
  }

  /** Cancels every pending prompt (shutdown). */
  async cancelAll(): Promise<void> {
    for (const p of [...this.byKey.values()]) {
      p.settled = true;
      if (p.timer) clearTimeout(p.timer);
      this.ops.store.removePending(p.id);
    }
    this.byKey.clear();
  }
}
