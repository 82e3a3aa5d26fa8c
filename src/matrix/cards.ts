// Live status cards: one m.notice per task (or per run waiting for approval) in each room that should see it, edited
// in place (m.replace) as the task moves, at most once per interval, always ending on the final state. The task's
// output goes into the card's thread (m.thread) in batches, size-capped, ANSI colours kept. The initiator is
// mentioned (a new message, since edits do not notify) only when the task fails or waits for a confirmation.
// Cards are saved in the Matrix store directory, so a restarted bot keeps editing the same messages.
import { readFileSync } from "node:fs";
import type { Operations, Actor } from "../core/operations.js";
import type { TaskState, OutputLine } from "../core/store.js";
import { taskKey } from "../core/store.js";
import type { ApprovalRequest } from "../core/approvals.js";
import type { Reply } from "../commands/types.js";
import type { SubscriptionFilter } from "../core/room-settings.js";
import { renderTaskCard, renderRequestCard, type Rendered } from "../commands/task-render.js";
import { taskName, taskUrl, escapeHtml } from "../commands/format.js";
import { replyForError } from "../commands/dispatch.js";
import { isTerminalStatus } from "../semaphore/types.js";
import { Coalescer } from "../util/coalesce.js";
import { ansiLinesToHtml, stripControl } from "../util/ansi.js";
import { jsonBytes, cutToBytes } from "../util/size.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { noticeContent, editContent, fitOne, mentionHtml, EDIT_BUDGET, type Part } from "./content.js";
import { reactionAnswer } from "./reactions.js";

export interface CardPorts {
  send(roomId: string, content: Record<string, unknown>): Promise<string | undefined>;
  roomName(roomId: string): string | undefined;
}

export interface CardOptions {
  ops: Operations;
  ports: CardPorts;
  log: Log;
  stateFile?: string;
  editIntervalMs?: number;
  threadIntervalMs?: number;
  /** Per thread message: lines and text bytes. */
  threadChunkLines?: number;
  threadChunkBytes?: number;
  /** Per task: total text bytes and messages in the thread before it is cut with a note. */
  threadMaxBytes?: number;
  threadMaxMessages?: number;
}

interface CardRecord {
  roomId: string;
  eventId?: string;
  taskKey?: string;
  requestId?: string;
  params?: string;
  /** Mentioned on failure or when a confirmation is needed. */
  initiator?: string;
  subscription?: SubscriptionFilter;
  mentioned: string[];
  threadLast?: string;
  threadBytes: number;
  threadMessages: number;
  threadClosed?: boolean;
  edits: number;
  lastText?: string;
  createdAt: number;
  finishedAt?: number;
}

interface Card {
  rec: CardRecord;
  editor: Coalescer;
  thread: Coalescer;
  buffer: string[];
  unfollow?: () => void;
  posted: Promise<void>;
}

const KEEP_MS = 24 * 3600_000;
const EXCERPT_LINES = 30;

export class CardManager {
  private cards: Card[] = [];
  private seen = new Set<string>();
  private saveTimer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly unsubs: Array<() => void> = [];
  readonly o: Required<Omit<CardOptions, "stateFile">> & { stateFile?: string };

  constructor(opts: CardOptions) {
    this.o = { editIntervalMs: 2000, threadIntervalMs: 3000, threadChunkLines: 80, threadChunkBytes: 8000, threadMaxBytes: 200_000, threadMaxMessages: 60, ...opts };
  }

  private get ops(): Operations { return this.o.ops; }

  start(): void {
    const store = this.ops.store;
    for (const k of store.tasks.keys()) this.seen.add(k);
    this.load();
    const onTask = (t: TaskState, prev: TaskState | undefined) => this.onTask(t, prev);
    const onTransition = (t: TaskState, prev: string | undefined) => void this.onTransition(t, prev);
    const onOutput = (key: string, lines: OutputLine[]) => this.onOutput(key, lines);
    const onRequest = (r: ApprovalRequest) => this.onRequest(r);
    store.on("task", onTask);
    store.on("transition", onTransition);
    store.on("output", onOutput);
    this.ops.approvals.on("changed", onRequest);
    this.unsubs.push(() => store.off("task", onTask), () => store.off("transition", onTransition), () => store.off("output", onOutput), () => this.ops.approvals.off("changed", onRequest));
    for (const c of this.cards) {
      const t = c.rec.taskKey ? store.tasks.get(c.rec.taskKey) : undefined;
      if (c.rec.taskKey && !c.rec.finishedAt) this.follow(c);
      if (t || c.rec.requestId) c.editor.poke();
    }
  }

  /** Flushes the final edits and thread output, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubs.splice(0)) u();
    await Promise.race([
      Promise.allSettled(this.cards.map(async (c) => { await c.posted; await c.editor.flush(); await c.thread.flush(); })),
      new Promise((r) => setTimeout(r, 5000)),
    ]);
    for (const c of this.cards) { c.editor.close(); c.thread.close(); c.unfollow?.(); }
    if (this.saveTimer) clearTimeout(this.saveTimer);
    await this.save();
  }

  /** Cards in a room (tests, console). */
  list(roomId?: string): ReadonlyArray<Readonly<CardRecord>> { return this.cards.filter((c) => !roomId || c.rec.roomId === roomId).map((c) => c.rec); }

  private webUrl(): string | undefined {
    const s = this.ops.config.values.semaphore;
    return s.web_url || s.url || this.ops.semaphore?.baseUrl || undefined;
  }

  private logOn(roomId: string): boolean {
    return this.ops.roomSettings.logSetting(roomId) ?? this.ops.config.values.bot.task_output_threads;
  }

  private render(c: Card): Rendered {
    const common = { webUrl: this.webUrl(), prefix: this.ops.config.values.bot.command_prefix, roomName: (id: string) => this.o.ports.roomName(id) };
    const task = c.rec.taskKey ? this.ops.store.tasks.get(c.rec.taskKey) : undefined;
    if (task) {
      const footer = c.rec.threadClosed ? "Output in the thread (cut; the full log is in Semaphore)." : this.logOn(c.rec.roomId) && c.rec.threadMessages > 0 ? "Output in the thread." : undefined;
      return renderTaskCard({ task, params: c.rec.params, footer, ...common });
    }
    const req = c.rec.requestId ? this.ops.approvals.get(c.rec.requestId) : undefined;
    if (req) return renderRequestCard({ request: req, waitingOn: this.ops.approvals.waitingOn(req), ...common });
    const [p, t] = (c.rec.taskKey ?? "0:0").split(":").map(Number);
    return { text: `Task ${t} (project ${p}): waiting for news from Semaphore…`, html: `Task ${t} (project ${p}): waiting for news from Semaphore…` };
  }

  private newCard(rec: CardRecord): Card {
    const card: Card = { rec, buffer: [], posted: Promise.resolve(), editor: undefined as unknown as Coalescer, thread: undefined as unknown as Coalescer };
    card.editor = new Coalescer(this.o.editIntervalMs, () => this.edit(card));
    card.thread = new Coalescer(this.o.threadIntervalMs, () => this.flushThread(card));
    this.cards.push(card);
    return card;
  }

  /** Posts the card a command asked for (Reply.card) as the reply to the command. Returns the card's event id. */
  async post(roomId: string, replyTo: string | undefined, spec: NonNullable<Reply["card"]>, reply: Reply, actor: Actor): Promise<string | undefined> {
    const initiator = actor.kind === "chat" ? actor.userId : undefined;
    let rec: CardRecord;
    if ("taskKey" in spec) {
      const existing = this.cards.find((c) => c.rec.roomId === roomId && c.rec.taskKey === spec.taskKey);
      if (existing) {
        // A subscription saw the task first (its websocket frame can beat the start reply): adopt that card.
        existing.rec.initiator ??= initiator;
        existing.rec.params ??= spec.params;
        existing.rec.subscription = undefined;
        existing.editor.poke();
        await existing.posted;
        return existing.rec.eventId;
      }
      rec = { roomId, taskKey: spec.taskKey, params: spec.params, initiator, mentioned: [], threadBytes: 0, threadMessages: 0, edits: 0, createdAt: Date.now() };
      this.seen.add(spec.taskKey);
    } else {
      const req = this.ops.approvals.get(spec.requestId);
      rec = { roomId, requestId: spec.requestId, params: req?.run.params, initiator, mentioned: [], threadBytes: 0, threadMessages: 0, edits: 0, createdAt: Date.now() };
    }
    const card = this.newCard(rec);
    await this.publish(card, replyTo, reply.mentions ?? []);
    return card.rec.eventId;
  }

  private async publish(card: Card, replyTo: string | undefined, mentions: string[]): Promise<void> {
    let done!: () => void;
    card.posted = new Promise<void>((r) => { done = r; });
    try {
      const r = this.render(card);
      let part: Part = r;
      if (mentions.length) part = { text: `${r.text}\n${mentions.join(" ")}`, html: `${r.html}<br/>${mentions.map(mentionHtml).join(" ")}` };
      part = fitOne(part);
      const id = await this.o.ports.send(card.rec.roomId, noticeContent(part, { replyTo }, mentions));
      card.editor.markSent();
      card.rec.lastText = r.text;
      card.rec.eventId = id;
      if (!id) { this.o.log.warn(`could not post a status card in ${card.rec.roomId}`); return; }
      if (card.rec.taskKey) this.attachTask(card);
      this.queueSave();
    } finally {
      done();
    }
    card.editor.poke();
    if (card.buffer.length) card.thread.poke();
  }

  private attachTask(card: Card): void {
    const key = card.rec.taskKey!;
    const t = this.ops.store.tasks.get(key);
    if (t && isTerminalStatus(t.status)) card.rec.finishedAt ??= Date.now();
    if (!card.rec.finishedAt) this.follow(card);
    if (this.logOn(card.rec.roomId) && card.rec.threadMessages === 0 && !card.rec.subscription) {
      const existing = this.ops.store.output(key).map((l) => l.text);
      if (existing.length) { card.buffer.push(...existing); card.thread.poke(); }
    }
    if (t?.status === "waiting_confirmation" || (t && t.status === "error")) void this.mentionIfNeeded(card, t);
  }

  private follow(card: Card): void {
    if (card.unfollow || !card.rec.taskKey || !this.ops.tracker) return;
    const [p, t] = card.rec.taskKey.split(":").map(Number);
    card.unfollow = this.ops.tracker.follow(p!, t!);
  }

  private async edit(card: Card): Promise<void> {
    await card.posted;
    if (!card.rec.eventId) return;
    const r = this.render(card);
    if (r.text === card.rec.lastText) return;
    const id = await this.o.ports.send(card.rec.roomId, editContent(card.rec.eventId, fitOne(r, EDIT_BUDGET)));
    if (!id) return;
    card.rec.lastText = r.text;
    card.rec.edits++;
    this.queueSave();
  }

  // ---- store events ----

  private onTask(t: TaskState, prev: TaskState | undefined): void {
    if (this.stopped) return;
    for (const c of this.cards) if (c.rec.taskKey === t.key) {
      c.editor.poke();
      if (isTerminalStatus(t.status) && !c.rec.finishedAt) { c.rec.finishedAt = Date.now(); c.unfollow?.(); c.unfollow = undefined; this.queueSave(); }
    }
    const firstSight = !this.seen.has(t.key);
    this.seen.add(t.key);
    const terminalNow = isTerminalStatus(t.status) && (!prev || !isTerminalStatus(prev.status));
    if (!firstSight && !terminalNow) return;
    for (const { roomId, sub } of this.ops.roomSettings.subscribersFor(t)) {
      if (this.cards.some((c) => c.rec.roomId === roomId && c.rec.taskKey === t.key)) continue;
      if (t.origin?.via === "chat" && t.origin.roomId === roomId) continue; // its own run card is posted there
      if (!this.ops.mayUseProjectId({ kind: "chat", userId: "", roomId }, t.projectId)) continue;
      const recent = !t.end || Date.now() - Date.parse(t.end) < 10 * 60_000;
      let create = false;
      if (sub.filter === "all") create = firstSight ? !isTerminalStatus(t.status) || recent : false;
      else if (terminalNow && recent) create = sub.filter === "finished" || t.status === "error";
      if (!create) continue;
      const card = this.newCard({ roomId, taskKey: t.key, subscription: sub.filter, initiator: t.origin?.via === "chat" && t.origin.roomId === roomId ? t.origin.user : undefined, mentioned: [], threadBytes: 0, threadMessages: 0, edits: 0, createdAt: Date.now() });
      void this.publish(card, undefined, []).then(() => this.seedSubscriptionThread(card, t));
    }
  }

  private async seedSubscriptionThread(card: Card, t: TaskState): Promise<void> {
    if (!card.rec.eventId || !this.logOn(card.rec.roomId)) return;
    if (card.rec.subscription === "all") {
      const existing = this.ops.store.output(t.key).map((l) => l.text);
      if (existing.length) { card.buffer.unshift(...existing); card.thread.poke(); }
      return;
    }
    if (t.status !== "error") return;
    // A failure card: the end of the output, so people see why without opening Semaphore.
    if (this.ops.store.output(t.key).length === 0 && this.ops.tracker) await this.ops.tracker.fetchOutput(t.projectId, t.taskId).catch(() => undefined);
    const tail = this.ops.store.output(t.key).slice(-EXCERPT_LINES).map((l) => l.text);
    if (tail.length) { card.buffer.push(`… last ${tail.length} lines:`, ...tail); card.thread.poke(); }
  }

  private async onTransition(t: TaskState, _prev: string | undefined): Promise<void> {
    if (this.stopped || (t.status !== "error" && t.status !== "waiting_confirmation")) return;
    for (const c of this.cards) if (c.rec.taskKey === t.key) await this.mentionIfNeeded(c, t);
  }

  /** A new message (edits do not notify) mentioning the initiator, once per failure or confirmation wait. */
  private async mentionIfNeeded(c: Card, t: TaskState): Promise<void> {
    const status = String(t.status);
    if (!c.rec.initiator || c.rec.mentioned.includes(status)) return;
    c.rec.mentioned.push(status);
    await c.posted;
    if (!c.rec.eventId) return;
    const p = this.ops.config.values.bot.command_prefix;
    const what = status === "error"
      ? { text: `❌ ${taskName(t)} failed.${this.logOn(c.rec.roomId) ? " The output is in the card's thread." : ` See ${p} logs ${t.taskId}.`}`, html: `❌ <b>${escapeHtml(taskName(t))}</b> failed.${this.logOn(c.rec.roomId) ? " The output is in the card's thread." : ` See <code>${escapeHtml(`${p} logs ${t.taskId}`)}</code>.`}` }
      : { text: `⏸️ ${taskName(t)} waits for a confirmation: ${p} confirm ${t.taskId} or ${p} reject ${t.taskId}.`, html: `⏸️ <b>${escapeHtml(taskName(t))}</b> waits for a confirmation: <code>${escapeHtml(`${p} confirm ${t.taskId}`)}</code> or <code>${escapeHtml(`${p} reject ${t.taskId}`)}</code>.` };
    const u = c.rec.initiator;
    await this.o.ports.send(c.rec.roomId, noticeContent({ text: `${u}: ${what.text}`, html: `${mentionHtml(u)}: ${what.html}` }, { replyTo: c.rec.eventId }, [u]));
    this.queueSave();
  }

  private onRequest(r: ApprovalRequest): void {
    if (this.stopped) return;
    for (const c of this.cards) if (c.rec.requestId === r.id) {
      if (r.status === "started" && r.taskId !== undefined && !c.rec.taskKey) {
        c.rec.taskKey = taskKey(r.run.project.id, r.taskId);
        this.seen.add(c.rec.taskKey);
        if (c.rec.eventId) this.attachTask(c);
      }
      c.editor.poke();
      this.queueSave();
    }
  }

  private onOutput(key: string, lines: OutputLine[]): void {
    if (this.stopped) return;
    for (const c of this.cards) {
      if (c.rec.taskKey !== key || c.rec.threadClosed || !this.logOn(c.rec.roomId)) continue;
      if (c.rec.subscription && c.rec.subscription !== "all") continue;
      c.buffer.push(...lines.map((l) => l.text));
      if (c.buffer.length > 5000) c.buffer.splice(0, c.buffer.length - 5000);
      c.thread.poke();
    }
  }

  private async flushThread(card: Card): Promise<void> {
    await card.posted;
    const root = card.rec.eventId;
    if (!root || card.buffer.length === 0 || card.rec.threadClosed) return;
    const lines: string[] = [];
    let bytes = 0;
    while (card.buffer.length && lines.length < this.o.threadChunkLines) {
      let line = card.buffer[0]!;
      if (line.length > 2000) line = `${cutToBytes(line, 2000)} …`;
      const b = jsonBytes(line);
      if (lines.length && bytes + b > this.o.threadChunkBytes) break;
      card.buffer.shift();
      lines.push(line);
      bytes += b;
    }
    const over = card.rec.threadBytes + bytes > this.o.threadMaxBytes || card.rec.threadMessages + 1 >= this.o.threadMaxMessages;
    let part: Part;
    if (over) {
      const [p, t] = (card.rec.taskKey ?? "0:0").split(":").map(Number);
      const url = taskUrl(this.webUrl(), p!, t!);
      const note = `✂️ Output cut here: this thread holds at most ${this.o.threadMaxMessages} messages / ${Math.round(this.o.threadMaxBytes / 1000)} kB.${url ? ` Full log: ${url}` : ""}`;
      part = { text: note, html: url ? `✂️ Output cut here: this thread holds at most ${this.o.threadMaxMessages} messages / ${Math.round(this.o.threadMaxBytes / 1000)} kB. <a href="${escapeHtml(url)}">Full log in Semaphore</a>` : escapeHtml(note) };
      card.rec.threadClosed = true;
      card.buffer = [];
    } else {
      part = { text: lines.map(stripControl).join("\n"), html: `<pre><code>${ansiLinesToHtml(lines).join("\n")}</code></pre>` };
    }
    const id = await this.o.ports.send(card.rec.roomId, noticeContent(fitOne(part), { thread: { root, last: card.rec.threadLast } }));
    if (id) {
      card.rec.threadLast = id;
      card.rec.threadMessages++;
      card.rec.threadBytes += bytes;
    } else if (!over) {
      card.buffer.unshift(...lines); // not sent: try again with the next batch
    }
    if (card.rec.threadMessages === 1 || over) card.editor.poke(); // the footer mentions the thread
    if (card.buffer.length) card.thread.poke();
    this.queueSave();
  }

  // ---- reactions on approval cards ----

  /** 👍/👎 on a card waiting for approval. Returns true when the reaction was about a card. */
  async onReaction(roomId: string, userId: string, target: string, key: string, reply: (roomId: string, replyTo: string, r: Reply) => Promise<void>): Promise<boolean> {
    const card = this.cards.find((c) => c.rec.roomId === roomId && c.rec.eventId === target && c.rec.requestId);
    if (!card) return false;
    const answer = reactionAnswer(key);
    const req = this.ops.approvals.get(card.rec.requestId!);
    if (!answer || !req || req.status !== "pending") return true;
    const actor: Actor = { kind: "chat", userId, roomId };
    try {
      if (answer === "yes") {
        const { req: after, task } = await this.ops.approvals.approve(actor, req);
        const msg = after.status === "started" && task ? `✅ ${userId} approved ${after.id} (${after.approvals.length}/${after.needed}); task ${task.taskId} started.` : after.status === "failed" ? `⚠️ ${userId} approved ${after.id}, but starting it failed: ${after.error}` : `👍 ${userId} approved ${after.id} (${after.approvals.length}/${after.needed}).`;
        await reply(roomId, target, { text: msg });
      } else {
        const after = await this.ops.approvals.deny(actor, req);
        await reply(roomId, target, { text: after.deniedBy === after.requester ? `↩️ ${userId} withdrew ${after.id}.` : `🚫 ${userId} denied ${after.id}; it will not run.` });
      }
    } catch (e) {
      await reply(roomId, target, replyForError(this.ops, actor, answer === "yes" ? "approve" : "deny", e));
    }
    return true;
  }

  // ---- persistence ----

  private load(): void {
    if (!this.o.stateFile) return;
    try {
      const data = JSON.parse(readFileSync(this.o.stateFile, "utf8")) as { version: number; cards: CardRecord[] };
      if (data.version !== 1 || !Array.isArray(data.cards)) return;
      for (const rec of data.cards) {
        if (typeof rec?.roomId !== "string" || !rec.eventId) continue;
        if (rec.finishedAt && Date.now() - rec.finishedAt > KEEP_MS) continue;
        const defaults: Partial<CardRecord> = { mentioned: [], threadBytes: 0, threadMessages: 0, edits: 0, createdAt: Date.now() };
        this.newCard({ ...defaults, ...rec } as CardRecord);
        if (rec.taskKey) this.seen.add(rec.taskKey);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") this.o.log.warn(`could not read ${this.o.stateFile} (${errorText(e)}); old status cards will not be updated`);
    }
  }

  private queueSave(): void {
    if (!this.o.stateFile || this.saveTimer) return;
    this.saveTimer = setTimeout(() => { this.saveTimer = undefined; void this.save(); }, 500);
  }

  private save(): Promise<void> {
    const file = this.o.stateFile;
    if (!file) return Promise.resolve();
    const now = Date.now();
    const keep = this.cards.filter((c) => c.rec.eventId && !(c.rec.finishedAt && now - c.rec.finishedAt > KEEP_MS)).map((c) => c.rec);
    const text = JSON.stringify({ version: 1, cards: keep });
    this.saving = this.saving.then(() => writeFileAtomic(file, text)).catch((e) => this.o.log.warn(`could not save ${file}: ${errorText(e)}`));
    return this.saving;
  }
}
