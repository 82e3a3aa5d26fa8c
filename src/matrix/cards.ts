// Live status cards: one m.notice per task (or per run waiting for approval) in each room that should see it, edited
// in place (m.replace) as the task moves, at most once per interval, always ending on the final state. The task's
// output goes into the card's thread (m.thread) in batches, size-capped, ANSI colours kept. The initiator is
// mentioned (a new message, since edits do not notify) only when the task fails or waits for a confirmation.
// Cards are saved in the Matrix store directory, so a restarted bot keeps editing the same messages.
import { randomBytes } from "node:crypto";
import type { Operations, Actor } from "../core/operations.js";
import type { TaskState, OutputLine } from "../core/store.js";
import { parseTaskKey, taskKey } from "../core/store.js";
import type { ApprovalRequest } from "../core/approvals.js";
import type { Reply } from "../commands/types.js";
import type { SubscriptionFilter } from "../core/room-settings.js";
import { renderTaskCard, renderRequestCard, type Rendered } from "../commands/task-render.js";
import { taskName, taskUrl, escapeHtml } from "../commands/format.js";
import { replyForError } from "../commands/dispatch.js";
import { isTaskDone, isTerminalStatus } from "../semaphore/types.js";
import { Coalescer } from "../util/coalesce.js";
import { ansiLinesToHtml, stripControl } from "../util/ansi.js";
import { jsonBytes, cutToBytes } from "../util/size.js";
import { PersistedState, versionOne } from "../util/persisted-state.js";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { noticeContent, editContent, fitOne, mentionHtml, EDIT_BUDGET, type Part } from "./content.js";
import { reactionAnswer } from "./reactions.js";

export interface CardPorts {
  /** Sends with this transaction id (the homeserver answers a repeat of it with the event it already has). */
  send(roomId: string, content: Record<string, unknown>, txnId?: string): Promise<string | undefined>;
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
  /** How many of the task's output lines are in the thread (or were skipped): a restarted bot continues from here. */
  threadLines?: number;
  /** The message on its way out, saved before it is sent (see sendOnce). */
  sending?: Sending;
  edits: number;
  lastText?: string;
  createdAt: number;
  finishedAt?: number;
}

/** A card message on its way out. */
interface Sending {
  kind: "post" | "edit" | "thread" | "mention";
  txnId: string;
  content: Record<string, unknown>;
  /** post, edit: the card text it shows. */
  text?: string;
  /** thread: the output line index the thread reaches with it, and its text bytes. */
  lines?: number;
  bytes?: number;
}

/** A room's card messages waiting to go out, one at a time. */
interface Lane {
  busy: boolean;
  jobs: Array<{ first: boolean; run: () => Promise<void> }>;
}

/** A line waiting for the thread; `i` is its index in the task's output (absent for the excerpt of a failure). */
interface Buffered {
  text: string;
  i?: number;
}

interface Card {
  rec: CardRecord;
  editor: Coalescer;
  thread: Coalescer;
  buffer: Buffered[];
  /**
   * Index of the next output line of the task to buffer; undefined until the card takes the task's output (posted).
   * Lines are taken by index, from the store or from output events, so each line goes into the thread once, even
   * when lines arrive while the card is being posted, or after a restart (when the store is refilled from line 0).
   */
  next?: number;
  unfollow?: () => void;
  posted: Promise<void>;
  /** When an edit of this card last went out, by whatever path (the editor, or a resend after a restart). */
  lastEditAt?: number;
}

const KEEP_MS = 24 * 3600_000;
const EXCERPT_LINES = 30;

export class CardManager {
  private cards: Card[] = [];
  private seen = new Set<string>();
  private readonly state: PersistedState<{ version: 1; cards: CardRecord[] }>;
  private stopped = false;
  private readonly unsubs: Array<() => void> = [];
  /** Per room: the card messages queued to go out, one at a time (see inLane). */
  private readonly lanes = new Map<string, Lane>();
  readonly o: Required<Omit<CardOptions, "stateFile">> & { stateFile?: string };

  constructor(opts: CardOptions) {
    this.o = {
      editIntervalMs: 2000,
      threadIntervalMs: 3000,
      threadChunkLines: 80,
      threadChunkBytes: 8000,
      threadMaxBytes: 200_000,
      threadMaxMessages: 60,
      ...opts,
    };
    this.state = this.persisted();
  }

  private get ops(): Operations {
    return this.o.ops;
  }

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
    this.unsubs.push(
      () => store.off("task", onTask),
      () => store.off("transition", onTransition),
      () => store.off("output", onOutput),
      () => this.ops.approvals.off("changed", onRequest),
    );
    for (const c of this.cards) {
      const pending = c.rec.sending;
      if (pending) void this.resend(c, pending);
      if (!c.rec.eventId) continue; // its post is being resent; resend() attaches it
      const t = c.rec.taskKey ? store.tasks.get(c.rec.taskKey) : undefined;
      if (c.rec.taskKey && !c.rec.finishedAt) this.follow(c);
      if (t || c.rec.requestId) c.editor.poke();
      // The thread continues after the lines already in it (the store may already hold the output again).
      if (c.rec.taskKey && !c.rec.threadClosed && this.logOn(c.rec.roomId) && (!c.rec.subscription || c.rec.subscription === "all")) {
        c.next = (pending?.kind === "thread" ? pending.lines : undefined) ?? c.rec.threadLines ?? (c.rec.threadMessages === 0 ? 0 : undefined);
        this.fill(c);
        // Ended shortly before the bot stopped: its last lines may not have reached the thread, and a finished task
        // is not followed any more, so they are fetched once (the thread goes on from threadLines).
        if (c.rec.finishedAt && c.next !== undefined && Date.now() - c.rec.finishedAt < 10 * 60_000 && this.ops.tracker) {
          const { projectId, taskId } = parseTaskKey(c.rec.taskKey);
          void this.ops.tracker.fetchOutput(projectId, taskId).catch((e) => this.o.log.debug(`output of task ${taskId}: ${errorText(e)}`));
        }
      }
      // A failure (or a wait for confirmation) seen before the cards were listening again still mentions, once.
      if (t && (t.status === "error" || t.status === "waiting_confirmation")) void this.mentionIfNeeded(c, t);
    }
  }

  /** Flushes the final edits and thread output, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubs.splice(0)) u();
    await Promise.race([
      Promise.allSettled(
        this.cards.map(async (c) => {
          await c.posted;
          await c.editor.flush();
          await c.thread.flush();
        }),
      ),
      new Promise((r) => setTimeout(r, 5000)),
    ]);
    for (const c of this.cards) {
      c.editor.close();
      c.thread.close();
      c.unfollow?.();
    }
    await this.state.close();
  }

  /** Card messages waiting in a room's lane behind the one on its way out (tests). */
  queued(roomId: string): number {
    return this.lanes.get(roomId)?.jobs.length ?? 0;
  }

  /** Cards in a room (tests, console). */
  list(roomId?: string): ReadonlyArray<Readonly<CardRecord>> {
    return this.cards.filter((c) => !roomId || c.rec.roomId === roomId).map((c) => c.rec);
  }

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
      const footer = c.rec.threadClosed
        ? "Output in the thread (cut; the full log is in Semaphore)."
        : this.logOn(c.rec.roomId) && c.rec.threadMessages > 0
          ? "Output in the thread."
          : undefined;
      return renderTaskCard({ task, params: c.rec.params, footer, ...common });
    }
    const req = c.rec.requestId ? this.ops.approvals.get(c.rec.requestId) : undefined;
    if (req) return renderRequestCard({ request: req, waitingOn: this.ops.approvals.waitingOn(req), ...common });
    const { projectId: p, taskId: t } = parseTaskKey(c.rec.taskKey ?? "0:0");
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
      rec = {
        roomId,
        taskKey: spec.taskKey,
        params: spec.params,
        initiator,
        mentioned: [],
        threadBytes: 0,
        threadMessages: 0,
        edits: 0,
        createdAt: Date.now(),
      };
      this.seen.add(spec.taskKey);
    } else {
      const req = this.ops.approvals.get(spec.requestId);
      rec = {
        roomId,
        requestId: spec.requestId,
        params: req?.run.params,
        initiator,
        mentioned: [],
        threadBytes: 0,
        threadMessages: 0,
        edits: 0,
        createdAt: Date.now(),
      };
    }
    const card = this.newCard(rec);
    await this.publish(card, replyTo, reply.mentions ?? [], true);
    return card.rec.eventId;
  }

  /**
   * Card messages of a room go out one at a time, each rendered when its turn comes. Under the homeserver's rate
   * limit (M_LIMIT_EXCEEDED, retried) a room's messages can wait for minutes: an edit rendered when it was queued
   * went out showing a state long gone, and cost every card a second edit to show the final one.
   * `first`: a final state, a failure mention, or the card answering a command goes ahead of what waits (thread
   * output, intermediate edits), behind earlier `first` ones, so only the homeserver's rate limit delays it.
   */
  private inLane<T>(roomId: string, fn: () => Promise<T>, first = false): Promise<T> {
    let lane = this.lanes.get(roomId);
    if (!lane) this.lanes.set(roomId, (lane = { busy: false, jobs: [] }));
    const jobs = lane.jobs;
    const done = new Promise<T>((resolve, reject) => {
      const job = { first, run: () => Promise.resolve().then(fn).then(resolve, reject) };
      const at = first ? jobs.findIndex((j) => !j.first) : -1;
      if (at >= 0) jobs.splice(at, 0, job);
      else jobs.push(job);
    });
    void this.drain(roomId, lane);
    return done;
  }

  private async drain(roomId: string, lane: Lane): Promise<void> {
    if (lane.busy) return;
    lane.busy = true;
    for (let job = lane.jobs.shift(); job; job = lane.jobs.shift()) await job.run();
    this.lanes.delete(roomId);
  }

  /** A final state (or a wait on someone): its edit goes first in the room's lane. */
  private isFinal(card: Card): boolean {
    const task = card.rec.taskKey ? this.ops.store.tasks.get(card.rec.taskKey) : undefined;
    if (task) return isTaskDone(task) || task.status === "waiting_confirmation";
    const req = card.rec.requestId ? this.ops.approvals.get(card.rec.requestId) : undefined;
    return !!req && req.status !== "pending";
  }

  /**
   * Sends a card message exactly once, even across a crash: it is saved with its transaction id before it goes out,
   * and a bot restarted before the outcome was saved sends it again with the same id (resend), which the homeserver
   * answers with the event it already has. Without this, a bot killed right after a send posted that thread batch,
   * mention or edit a second time (or lost its card). Call in the room's lane.
   */
  private async sendOnce(card: Card, s: Omit<Sending, "txnId">): Promise<string | undefined> {
    const sending: Sending = { ...s, txnId: `cd${Date.now().toString(36)}${randomBytes(6).toString("hex")}` };
    card.rec.sending = sending;
    await this.save();
    const id = await this.o.ports.send(card.rec.roomId, sending.content, sending.txnId);
    this.sent(card, sending, id);
    return id;
  }

  /** What a sent message changes in the card's record. */
  private sent(card: Card, s: Sending, id: string | undefined): void {
    if (card.rec.sending === s) card.rec.sending = undefined;
    if (id && (s.kind === "post" || s.kind === "edit")) card.rec.lastText = s.text;
    if (id && s.kind === "post") card.rec.eventId = id;
    if (id && s.kind === "edit") {
      card.rec.edits++;
      card.lastEditAt = Date.now();
    }
    if (id && s.kind === "thread") {
      card.rec.threadLast = id;
      card.rec.threadMessages++;
      card.rec.threadBytes += s.bytes ?? 0;
      if (s.lines !== undefined) card.rec.threadLines = s.lines;
    }
    this.queueSave(); // a crash before this save only makes resend() ask again with the same transaction id
  }

  /** After a restart: the message that was on its way out, again with its transaction id. */
  private async resend(card: Card, s: Sending): Promise<void> {
    let done = () => {};
    if (s.kind === "post")
      card.posted = new Promise<void>((r) => {
        done = r;
      });
    try {
      await this.inLane(card.rec.roomId, async () => this.sent(card, s, await this.o.ports.send(card.rec.roomId, s.content, s.txnId)));
    } finally {
      done();
    }
    if (s.kind === "post" && card.rec.eventId && card.rec.taskKey) {
      this.attachTask(card);
      card.editor.poke();
    }
  }

  private async publish(card: Card, replyTo: string | undefined, mentions: string[], first = false): Promise<void> {
    let done!: () => void;
    card.posted = new Promise<void>((r) => {
      done = r;
    });
    try {
      const id = await this.inLane(
        card.rec.roomId,
        () => {
          const r = this.render(card);
          let part: Part = r;
          if (mentions.length) part = { text: `${r.text}\n${mentions.join(" ")}`, html: `${r.html}<br/>${mentions.map(mentionHtml).join(" ")}` };
          part = fitOne(part);
          return this.sendOnce(card, { kind: "post", content: noticeContent(part, { replyTo }, mentions), text: r.text });
        },
        first,
      );
      card.editor.markSent();
      if (!id) {
        this.o.log.warn(`could not post a status card in ${card.rec.roomId}`);
        return;
      }
      if (card.rec.taskKey) this.attachTask(card);
    } finally {
      done();
    }
    card.editor.poke();
    if (card.buffer.length) card.thread.poke();
  }

  private attachTask(card: Card): void {
    const key = card.rec.taskKey!;
    const t = this.ops.store.tasks.get(key);
    if (t && isTaskDone(t)) card.rec.finishedAt ??= Date.now();
    if (!card.rec.finishedAt) this.follow(card);
    if (this.logOn(card.rec.roomId) && card.rec.threadMessages === 0 && !card.rec.subscription) {
      card.next ??= 0;
      this.fill(card);
    }
    if (t?.status === "waiting_confirmation" || (t && t.status === "error")) void this.mentionIfNeeded(card, t);
  }

  private follow(card: Card): void {
    if (card.unfollow || !card.rec.taskKey || !this.ops.tracker) return;
    const { projectId, taskId } = parseTaskKey(card.rec.taskKey);
    card.unfollow = this.ops.tracker.follow(projectId, taskId);
  }

  private async edit(card: Card): Promise<void> {
    await card.posted;
    if (!card.rec.eventId) return;
    await this.inLane(
      card.rec.roomId,
      async () => {
        // Just restarted, Semaphore not asked yet: the saved state lacks the project name and times, and an edit
        // from it made the card lose them until the next one. The answer from Semaphore pokes the card again.
        if (card.rec.taskKey && this.ops.store.tasks.get(card.rec.taskKey)?.fromSavedState) return;
        // An intermediate state waits the interval after any edit, also one resent outside the editor after a restart.
        if (!this.isFinal(card) && card.lastEditAt !== undefined && Date.now() - card.lastEditAt < this.o.editIntervalMs) {
          card.editor.poke();
          return;
        }
        const r = this.render(card);
        if (r.text === card.rec.lastText) return;
        await this.sendOnce(card, { kind: "edit", content: editContent(card.rec.eventId!, fitOne(r, EDIT_BUDGET)), text: r.text });
      },
      this.isFinal(card),
    );
  }

  // ---- store events ----

  private onTask(t: TaskState, prev: TaskState | undefined): void {
    if (this.stopped) return;
    // The final state (and its details arriving after it: end time, recap) or a wait for a confirmation goes out at
    // once; only intermediate states wait for the interval.
    const decisive = isTaskDone(t) || (t.status === "waiting_confirmation" && prev?.status !== t.status);
    for (const c of this.cards)
      if (c.rec.taskKey === t.key) {
        c.editor.poke(decisive);
        // `stopped` with end null: Semaphore still streams the playbook's output, so the card keeps following
        if (isTaskDone(t) && !c.rec.finishedAt) {
          c.rec.finishedAt = Date.now();
          c.unfollow?.();
          c.unfollow = undefined;
          this.queueSave();
        }
      }
    const firstSight = !this.seen.has(t.key);
    this.seen.add(t.key);
    const terminalNow = isTerminalStatus(t.status) && (!prev || !isTerminalStatus(prev.status));
    if (!firstSight && !terminalNow) return;
    for (const { roomId, sub } of this.ops.roomSettings.subscribersFor(t)) {
      if (this.cards.some((c) => c.rec.roomId === roomId && c.rec.taskKey === t.key)) continue;
      if (t.origin?.via === "chat" && t.origin.roomId === roomId) continue; // its own run card is posted there
      if (!this.ops.roomMaySeeProject(roomId, t.projectId)) continue;
      const recent = !t.end || Date.now() - Date.parse(t.end) < 10 * 60_000;
      let create = false;
      if (sub.filter === "all") create = firstSight ? !isTerminalStatus(t.status) || recent : false;
      else if (terminalNow && recent) create = sub.filter === "finished" || t.status === "error";
      if (!create) continue;
      const card = this.newCard({
        roomId,
        taskKey: t.key,
        subscription: sub.filter,
        initiator: t.origin?.via === "chat" && t.origin.roomId === roomId ? t.origin.user : undefined,
        mentioned: [],
        threadBytes: 0,
        threadMessages: 0,
        edits: 0,
        createdAt: Date.now(),
      });
      void this.publish(card, undefined, []).then(() => this.seedSubscriptionThread(card, t));
    }
  }

  private async seedSubscriptionThread(card: Card, t: TaskState): Promise<void> {
    if (!card.rec.eventId || !this.logOn(card.rec.roomId)) return;
    if (card.rec.subscription === "all") {
      card.next ??= 0;
      this.fill(card);
      return;
    }
    if (t.status !== "error") return;
    // A failure card: the end of the output, so people see why without opening Semaphore.
    if (this.ops.store.output(t.key).length === 0 && this.ops.tracker) await this.ops.tracker.fetchOutput(t.projectId, t.taskId).catch(() => undefined);
    const tail = this.ops.store
      .output(t.key)
      .slice(-EXCERPT_LINES)
      .map((l) => l.text);
    if (tail.length) {
      card.buffer.push({ text: `… last ${tail.length} lines:` }, ...tail.map((text) => ({ text })));
      card.thread.poke();
    }
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
    const what =
      status === "error"
        ? {
            text: `❌ ${taskName(t)} failed.${this.logOn(c.rec.roomId) ? " The output is in the card's thread." : ` See ${p} logs ${t.taskId}.`}`,
            html:
              `❌ <b>${escapeHtml(taskName(t))}</b> failed.` +
              (this.logOn(c.rec.roomId) ? " The output is in the card's thread." : ` See <code>${escapeHtml(`${p} logs ${t.taskId}`)}</code>.`),
          }
        : {
            text: `⏸️ ${taskName(t)} waits for a confirmation: ${p} confirm ${t.taskId} or ${p} reject ${t.taskId}.`,
            html:
              `⏸️ <b>${escapeHtml(taskName(t))}</b> waits for a confirmation: ` +
              `<code>${escapeHtml(`${p} confirm ${t.taskId}`)}</code> or <code>${escapeHtml(`${p} reject ${t.taskId}`)}</code>.`,
          };
    const u = c.rec.initiator;
    const content = noticeContent({ text: `${u}: ${what.text}`, html: `${mentionHtml(u)}: ${what.html}` }, { replyTo: c.rec.eventId }, [u]);
    await this.inLane(c.rec.roomId, () => this.sendOnce(c, { kind: "mention", content }), true);
  }

  private onRequest(r: ApprovalRequest): void {
    if (this.stopped) return;
    for (const c of this.cards)
      if (c.rec.requestId === r.id) {
        if (r.status === "started" && r.taskId !== undefined && !c.rec.taskKey) {
          c.rec.taskKey = taskKey(r.run.project.id, r.taskId);
          this.seen.add(c.rec.taskKey);
          if (c.rec.eventId) this.attachTask(c);
        }
        c.editor.poke(r.status !== "pending"); // decided (started, denied, expired, failed): at once
        this.queueSave();
      }
  }

  private onOutput(key: string, lines: OutputLine[]): void {
    if (this.stopped) return;
    const end = this.ops.store.outputCount(key);
    for (const c of this.cards) {
      if (c.rec.taskKey !== key || c.rec.threadClosed || !this.logOn(c.rec.roomId)) continue;
      if (c.rec.subscription && c.rec.subscription !== "all") continue;
      // Not posted yet: the lines are taken from the store once it is (taking them here too doubled them).
      if (!c.rec.eventId) continue;
      c.next ??= end - lines.length; // logs switched on for a posted card: from these lines on
      const first = end - lines.length;
      if (first > c.next) {
        this.fill(c);
        continue;
      }
      const fresh = lines.slice(c.next - first);
      if (fresh.length === 0) continue;
      c.buffer.push(...fresh.map((l, n) => ({ text: l.text, i: c.next! + n })));
      c.next = end;
      if (c.buffer.length > 5000) c.buffer.splice(0, c.buffer.length - 5000);
      c.thread.poke();
    }
  }

  /** Buffers the task's output lines from the store that the card has not taken yet. */
  private fill(c: Card): void {
    if (!c.rec.taskKey || c.next === undefined) return;
    const end = this.ops.store.outputCount(c.rec.taskKey);
    if (end <= c.next) return;
    const kept = this.ops.store.output(c.rec.taskKey);
    const first = end - kept.length;
    const from = Math.max(c.next, first);
    c.buffer.push(...kept.slice(from - first).map((l, n) => ({ text: l.text, i: from + n })));
    c.next = end;
    if (c.buffer.length > 5000) c.buffer.splice(0, c.buffer.length - 5000);
    c.thread.poke();
  }

  private async flushThread(card: Card): Promise<void> {
    await card.posted;
    await this.inLane(card.rec.roomId, () => this.sendThreadBatch(card));
  }

  private async sendThreadBatch(card: Card): Promise<void> {
    const root = card.rec.eventId;
    if (!root || card.buffer.length === 0 || card.rec.threadClosed) return;
    const lines: string[] = [];
    const taken: Buffered[] = [];
    let bytes = 0;
    while (card.buffer.length && lines.length < this.o.threadChunkLines) {
      let line = card.buffer[0]!.text;
      if (line.length > 2000) line = `${cutToBytes(line, 2000)} …`;
      const b = jsonBytes(line);
      if (lines.length && bytes + b > this.o.threadChunkBytes) break;
      taken.push(card.buffer.shift()!);
      lines.push(line);
      bytes += b;
    }
    const over = card.rec.threadBytes + bytes > this.o.threadMaxBytes || card.rec.threadMessages + 1 >= this.o.threadMaxMessages;
    let part: Part;
    if (over) {
      const { projectId, taskId } = parseTaskKey(card.rec.taskKey ?? "0:0");
      const url = taskUrl(this.webUrl(), projectId, taskId);
      const note =
        `✂️ Output cut here: this thread holds at most ${this.o.threadMaxMessages} messages / ` +
        `${Math.round(this.o.threadMaxBytes / 1000)} kB.${url ? ` Full log: ${url}` : ""}`;
      part = {
        text: note,
        html: url
          ? `✂️ Output cut here: this thread holds at most ${this.o.threadMaxMessages} messages / ${Math.round(this.o.threadMaxBytes / 1000)} kB. <a ` +
            `href="${escapeHtml(url)}">Full log in Semaphore</a>`
          : escapeHtml(note),
      };
      card.rec.threadClosed = true;
      card.buffer = [];
    } else {
      part = { text: lines.map(stripControl).join("\n"), html: `<pre><code>${ansiLinesToHtml(lines).join("\n")}</code></pre>` };
    }
    const lastIndex = taken.reduce((m, l) => (l.i !== undefined ? Math.max(m, l.i) : m), -1);
    const id = await this.sendOnce(card, {
      kind: "thread",
      content: noticeContent(fitOne(part), { thread: { root, last: card.rec.threadLast } }),
      lines: lastIndex >= 0 ? lastIndex + 1 : undefined,
      bytes,
    });
    if (!id && !over) card.buffer.unshift(...taken); // not sent: try again with the next batch
    if (card.rec.threadMessages === 1 || over) card.editor.poke(); // the footer mentions the thread
    if (card.buffer.length) card.thread.poke();
  }

  // ---- reactions on approval cards ----

  /** 👍/👎 on a card waiting for approval. Returns true when the reaction was about a card. */
  async onReaction(
    roomId: string,
    userId: string,
    target: string,
    key: string,
    reply: (roomId: string, replyTo: string, r: Reply) => Promise<void>,
  ): Promise<boolean> {
    const card = this.cards.find((c) => c.rec.roomId === roomId && c.rec.eventId === target && c.rec.requestId);
    if (!card) return false;
    const answer = reactionAnswer(key);
    const req = this.ops.approvals.get(card.rec.requestId!);
    if (!answer || !req || req.status !== "pending") return true;
    const actor: Actor = { kind: "chat", userId, roomId };
    try {
      if (answer === "yes") {
        const { req: after, task } = await this.ops.approvals.approve(actor, req);
        const msg =
          after.status === "started" && task
            ? `✅ ${userId} approved ${after.id} (${after.approvals.length}/${after.needed}); task ${task.taskId} started.`
            : after.status === "failed"
              ? `⚠️ ${userId} approved ${after.id}, but starting it failed: ${after.error}`
              : `👍 ${userId} approved ${after.id} (${after.approvals.length}/${after.needed}).`;
        await reply(roomId, target, { text: msg });
      } else {
        const after = await this.ops.approvals.deny(actor, req);
        await reply(roomId, target, {
          text: after.deniedBy === after.requester ? `↩️ ${userId} withdrew ${after.id}.` : `🚫 ${userId} denied ${after.id}; it will not run.`,
        });
      }
    } catch (e) {
      await reply(roomId, target, replyForError(this.ops, actor, answer === "yes" ? "approve" : "deny", e));
    }
    return true;
  }

  // ---- persistence ----

  private persisted(): PersistedState<{ version: 1; cards: CardRecord[] }> {
    const kept = (rec: CardRecord) => (rec.eventId || rec.sending?.kind === "post") && !(rec.finishedAt && Date.now() - rec.finishedAt > KEEP_MS);
    return new PersistedState({
      file: this.o.stateFile,
      log: this.o.log,
      debounceMs: 500,
      startsEmpty: "the status cards posted before will not be updated",
      validate: (data) => {
        const d = versionOne(data);
        if (!Array.isArray(d.cards)) throw new Error("no cards list");
        return d as { version: 1; cards: CardRecord[] };
      },
      snapshot: () => ({ version: 1, cards: this.cards.map((c) => c.rec).filter(kept) }),
    });
  }

  private load(): void {
    for (const rec of this.state.load()?.cards ?? []) {
      if (typeof rec?.roomId !== "string" || !(rec.eventId || rec.sending?.kind === "post")) continue;
      if (rec.finishedAt && Date.now() - rec.finishedAt > KEEP_MS) continue;
      const defaults: Partial<CardRecord> = { mentioned: [], threadBytes: 0, threadMessages: 0, edits: 0, createdAt: Date.now() };
      this.newCard({ ...defaults, ...rec } as CardRecord);
      if (rec.taskKey) this.seen.add(rec.taskKey);
    }
  }

  private queueSave(): void {
    this.state.saveLater();
  }

  /** Saves now (a card message is saved before it is sent); a failure is logged, the next save tries again. */
  private save(): Promise<void> {
    return this.state.save();
  }
}
