import WebSocket from "ws";
import { REPLY_LIMITS, type SemaphoreClient } from "./client.js";
import { isSemaphoreError, type SemaphoreError } from "./errors.js";
import type { Task, TaskWithTpl, WsFrame } from "./types.js";
import { parseWsFrame, isTaskDone, isTerminalStatus } from "./types.js";
import type { Store, Origin, TaskState } from "../core/store.js";
import { parseTaskKey, taskKey } from "../core/store.js";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { foldAnsible } from "./ansible.js";
import { formatDuration } from "../util/text.js";
import { PersistedState, versionOne } from "../util/persisted-state.js";

export interface TrackedTask {
  projectId: number;
  taskId: number;
  origin?: Origin;
  templateName?: string;
  status?: string;
  /** Epoch ms when it was first seen terminal; tracked entries are pruned an hour after that. */
  finishedAt?: number;
}

/** Files of older versions also hold `projects` (subscriptions): those are ignored, rooms.json owns them. */
interface Persisted {
  version: 1;
  tasks: TrackedTask[];
}

export interface TrackerOptions {
  client: SemaphoreClient;
  store: Store;
  log: Log;
  /** Where tracked tasks are saved; tracking resumes from it after a restart. */
  stateFile?: string;
  pollIntervalMs: number;
  /** Follow every project the token can see (the console shows them all). Default true. */
  watchAll?: boolean;
  /** How often to retry the websocket while polling. Default 60 s. */
  wsRetryMs?: number;
  /** Safety reconcile while the websocket is up. Default 5 min. */
  safetyReconcileMs?: number;
  /**
   * Our own websocket pings: one every wsPingMs (default 5 s); no answer (or any frame) within wsPongTimeoutMs
   * (default 5 s) and Semaphore counts as down: a frozen server keeps the socket open and would otherwise go unnoticed.
   */
  wsPingMs?: number;
  wsPongTimeoutMs?: number;
}

const RECENT_PER_PROJECT = 20;
const PRUNE_FINISHED_MS = 3600_000;

/**
 * Follows Semaphore tasks into the store: one websocket for all projects, a REST reconcile after every
 * (re)connect so no transition is missed, and a polling fallback (one list request per project per interval)
 * when the websocket is refused. Output arrives incrementally: websocket `log` frames, or only the new lines
 * of followed tasks while polling.
 */
export class TaskTracker {
  private ws?: WebSocket;
  private tracked = new Map<string, TrackedTask>();
  private projects = new Set<number>();
  private knownProjects = new Map<number, string>();
  private projectsFetchedAt = 0;
  private templateNames = new Map<string, string>();
  /** Lines of output already in the store, per task, so a catch-up fetch appends only what is new. */
  private linesSeen = new Map<string, number>();
  /** When the last websocket update of each task arrived; an older REST snapshot must not overwrite it. */
  private lastPush = new Map<string, number>();
  /** Tasks whose output someone is reading (console task view, chat tail): fetched while polling. */
  private followers = new Map<string, number>();
  /** After a websocket gap, log frames of these tasks wait here until the REST catch-up has placed the missed lines. */
  private catchingUp = new Map<string, Array<{ time: string; text: string }>>();
  private finalFetched = new Set<string>();
  /** Tasks whose log is over the size cap: reported once, then not downloaded again (the error is repeated). */
  private outputTooLarge = new Map<string, SemaphoreError>();
  /** Finished tasks whose last lines could not be fetched yet (polling). */
  private finalPending = new Set<string>();
  private timers = new Set<NodeJS.Timeout>();
  private pollTimer?: NodeJS.Timeout;
  private wsRetryTimer?: NodeJS.Timeout;
  private safetyTimer?: NodeJS.Timeout;
  private livenessTimer?: NodeJS.Timeout;
  private stopped = false;
  private wsFailures = 0;
  private reconciling?: Promise<void>;
  private readonly state: PersistedState<Persisted>;
  mode: "connecting" | "websocket" | "polling" | "down" = "connecting";
  /** Epoch ms: when the mode last changed, and when the websocket last showed Semaphore alive (pong or frame). */
  modeSince = Date.now();
  lastHeardAt?: number;
  readonly stats = { wsFrames: 0, reconciles: 0, polls: 0, wsConnects: 0, wsPongs: 0 };

  constructor(private readonly o: TrackerOptions) {
    this.state = new PersistedState<Persisted>({
      file: o.stateFile,
      log: o.log,
      indent: 1,
      startsEmpty: "starting with no tracked tasks",
      validate: (data) => {
        const d = versionOne(data);
        if (d.tasks !== undefined && !Array.isArray(d.tasks)) throw new Error("tasks is not a list");
        return { version: 1, tasks: (d.tasks as TrackedTask[] | undefined) ?? [] };
      },
      snapshot: () => this.snapshot(),
    });
  }

  private get watchAll(): boolean {
    return this.o.watchAll ?? true;
  }

  async start(): Promise<void> {
    this.load();
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.pollTimer, this.wsRetryTimer, this.safetyTimer, this.livenessTimer, ...this.timers]) if (t) clearTimeout(t);
    // Forgotten too, not only cleared: a poll or ping still under way re-arms only while its timer is set.
    this.pollTimer = this.wsRetryTimer = this.safetyTimer = this.livenessTimer = undefined;
    this.timers.clear();
    this.ws?.removeAllListeners();
    this.ws?.on("error", () => undefined);
    this.ws?.terminate();
    await this.reconciling?.catch(() => undefined);
    await this.state.close();
  }

  /** Drops the websocket and connects again at once (e.g. with a new API token), then reconciles. */
  reconnect(): void {
    if (this.stopped) return;
    for (const t of [this.wsRetryTimer, this.livenessTimer]) if (t) clearTimeout(t);
    const old = this.ws;
    this.ws = undefined;
    if (old) {
      old.removeAllListeners();
      old.on("error", () => undefined);
      old.terminate();
    }
    this.wsFailures = 0;
    this.connect();
    void this.reconcile("reconnect");
  }

  /** A task this bot started: followed and persisted until it finishes. */
  track(projectId: number, taskId: number, info: { origin?: Origin; templateName?: string } = {}): void {
    const key = taskKey(projectId, taskId);
    this.tracked.set(key, { ...this.tracked.get(key), projectId, taskId, ...info });
    this.o.store.upsertTask({ projectId, taskId, origin: info.origin, templateName: info.templateName });
    this.queueSave();
  }

  isTracked(projectId: number, taskId: number): boolean {
    return this.tracked.has(taskKey(projectId, taskId));
  }

  /** Subscriptions: tasks of this project are followed wherever they were started (rooms.json keeps them). */
  watchProject(projectId: number): void {
    this.projects.add(projectId);
  }
  unwatchProject(projectId: number): void {
    this.projects.delete(projectId);
  }
  watchedProjects(): number[] {
    return [...this.projects];
  }

  /** Someone is reading this task's output. Returns a function that stops following. */
  follow(projectId: number, taskId: number): () => void {
    const key = taskKey(projectId, taskId);
    this.followers.set(key, (this.followers.get(key) ?? 0) + 1);
    if (!this.linesSeen.has(key)) void this.catchUpOutput(projectId, taskId).catch((e) => this.o.log.debug(`output of task ${taskId}: ${errorText(e)}`));
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.followers.get(key) ?? 1) - 1;
      if (n <= 0) this.followers.delete(key);
      else this.followers.set(key, n);
    };
  }

  /** Brings the store's copy of this task's output up to date now (one request). */
  fetchOutput(projectId: number, taskId: number): Promise<void> {
    return this.catchUpOutput(projectId, taskId);
  }

  // ---- websocket ----

  private connect(): void {
    if (this.stopped) return;
    const c = this.o.client;
    const ws = new WebSocket(c.websocketUrl(), { headers: c.authHeaders(), handshakeTimeout: 10_000, maxPayload: REPLY_LIMITS.json, ...c.tlsOptions() });
    this.ws = ws;
    let opened = false;
    ws.on("open", () => {
      opened = true;
      this.wsFailures = 0;
      this.stats.wsConnects++;
      this.setMode("websocket");
      this.stopPolling();
      this.lastHeardAt = Date.now();
      this.pingLater(ws);
      this.o.log.info("Semaphore websocket connected");
      // Lines pushed while disconnected were lost; hold new frames of active tasks until REST fills the gap.
      for (const t of this.o.store.tasks.values()) {
        if (!isTaskDone(t) && (this.followers.has(t.key) || this.tracked.has(t.key))) this.catchingUp.set(t.key, []);
      }
      void this.reconcile("websocket connected");
      this.scheduleSafetyReconcile();
    });
    ws.on("message", (data) => {
      this.lastHeardAt = Date.now();
      let frame: WsFrame | null;
      try {
        frame = parseWsFrame(data as Buffer);
      } catch (e) {
        this.o.log.warn(`ignoring a malformed websocket frame from Semaphore: ${errorText(e)}`);
        return;
      }
      this.onFrame(frame);
    });
    ws.on("ping", () => {
      this.lastHeardAt = Date.now();
    });
    ws.on("pong", () => {
      this.lastHeardAt = Date.now();
      this.stats.wsPongs++;
    });
    ws.on("unexpected-response", (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      ws.terminate();
      if (status === 401) this.o.log.error("Semaphore refused the websocket with 401: the API token is not accepted. Check [semaphore] api_token.");
      else this.o.log.warn(`Semaphore refused the websocket (HTTP ${status}); polling every ${Math.round(this.o.pollIntervalMs / 1000)} s instead`);
      this.wsFailures = Math.max(this.wsFailures, 3); // a refusal will not fix itself in a second: poll now
    });
    ws.on("error", (e) => this.o.log.debug(`Semaphore websocket error: ${errorText(e)}`));
    ws.on("close", () => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = undefined;
      if (this.livenessTimer) clearTimeout(this.livenessTimer);
      if (this.safetyTimer) clearTimeout(this.safetyTimer);
      if (opened) this.o.log.warn("Semaphore websocket closed; reconnecting");
      this.wsFailures++;
      if (this.wsFailures >= 3) {
        this.startPolling();
        this.wsRetryTimer = setTimeout(() => this.connect(), this.o.wsRetryMs ?? 60_000);
      } else {
        this.wsRetryTimer = setTimeout(() => this.connect(), Math.min(1000 * 2 ** (this.wsFailures - 1), 10_000));
      }
    });
  }

  /**
   * Liveness: a ping, then a check that Semaphore answered (or sent anything) since. Silence means down: the socket
   * is dropped and the usual reconnect, polling fallback and reconcile follow.
   */
  private pingLater(ws: WebSocket): void {
    if (this.stopped) return;
    const timeoutMs = this.o.wsPongTimeoutMs ?? 5000;
    this.livenessTimer = setTimeout(
      () => {
        if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
        const sentAt = Date.now();
        ws.ping();
        // setImmediate: an answer that arrived while this process was busy is read (poll phase) before the verdict.
        this.livenessTimer = setTimeout(
          () =>
            setImmediate(() => {
              if (this.ws !== ws) return;
              if ((this.lastHeardAt ?? 0) >= sentAt) {
                this.pingLater(ws);
                return;
              }
              this.setMode("down", `no answer to a websocket ping within ${timeoutMs / 1000} s`); // logged as unreachable
              ws.terminate();
            }),
          timeoutMs,
        );
      },
      Math.max(0, (this.o.wsPingMs ?? 5000) - timeoutMs),
    );
  }

  /** What the tracker knows of Semaphore's health, for liveness answers (`ping`, `info`) that must not wait. */
  describe(now = Date.now()): string {
    const since = `since ${new Date(this.modeSince).toISOString().slice(11, 19)} UTC`;
    const detail = this.o.store.connection.semaphoreDetail;
    if (this.mode === "down") return `websocket down ${since}${detail ? ` (${detail})` : ""}`;
    if (this.mode === "websocket") return `websocket up, last heard from ${formatDuration(now - (this.lastHeardAt ?? now))} ago`;
    if (this.mode === "polling") return `polling every ${Math.round(this.o.pollIntervalMs / 1000)} s (no websocket) ${since}`;
    return `connecting ${since}`;
  }

  private scheduleSafetyReconcile(): void {
    if (this.safetyTimer) clearTimeout(this.safetyTimer);
    if (this.stopped) return;
    this.safetyTimer = setTimeout(() => {
      void this.reconcile("periodic check");
      this.scheduleSafetyReconcile();
    }, this.o.safetyReconcileMs ?? 300_000);
  }

  private onFrame(frame: WsFrame | null): void {
    if (!frame) return;
    this.stats.wsFrames++;
    if (!this.inScope(frame.project_id, frame.task_id)) return;
    if (frame.type === "update") {
      this.lastPush.set(taskKey(frame.project_id, frame.task_id), performance.now());
      this.applyTask({
        id: frame.task_id,
        project_id: frame.project_id,
        template_id: frame.template_id,
        status: frame.status,
        start: frame.start,
        end: frame.end,
      });
    } else {
      const key = taskKey(frame.project_id, frame.task_id);
      const buffer = this.catchingUp.get(key);
      if (buffer) {
        buffer.push({ time: frame.time, text: frame.output });
        return;
      }
      this.linesSeen.set(key, (this.linesSeen.get(key) ?? 0) + 1);
      this.appendLines(frame.project_id, frame.task_id, [{ time: frame.time, text: frame.output }]);
    }
  }

  private inScope(projectId: number, taskId: number): boolean {
    return this.watchAll || this.projects.has(projectId) || this.tracked.has(taskKey(projectId, taskId));
  }

  // ---- REST: reconcile and polling ----

  /** Brings the store up to date from REST. Concurrent calls share one run. */
  reconcile(why: string): Promise<void> {
    if (this.reconciling) return this.reconciling;
    this.reconciling = this.doReconcile(why).finally(() => {
      this.reconciling = undefined;
    });
    return this.reconciling;
  }

  private async doReconcile(why: string): Promise<void> {
    this.stats.reconciles++;
    try {
      const ok = await this.pollProjects();
      this.o.log.debug(`reconciled with Semaphore (${why})${ok ? "" : " with errors"}`);
      // Output lines pushed while we were disconnected were lost: fetch what is missing for active tasks.
      for (const t of this.o.store.tasks.values()) {
        if (this.catchingUp.has(t.key) || (!isTaskDone(t) && (this.followers.has(t.key) || this.tracked.has(t.key)))) {
          await this.catchUpOutput(t.projectId, t.taskId).catch(() => undefined);
        }
      }
      for (const [key] of this.catchingUp) {
        const { projectId, taskId } = parseTaskKey(key);
        this.flushBuffered(key, projectId, taskId, new Set());
      }
    } catch (e) {
      this.o.log.warn(`reconcile with Semaphore failed (${why}): ${errorText(e)}`);
    }
  }

  /** One list request per project in scope. Returns false if any request failed. */
  private async pollProjects(): Promise<boolean> {
    const c = this.o.client;
    let ok = true;
    const scope = new Set<number>(this.projects);
    for (const t of this.tracked.values())
      if (!isTerminalStatus(t.status ?? "waiting") || (t.status === "stopped" && t.finishedAt === undefined)) scope.add(t.projectId);
    // The project list changes rarely: refreshed on (re)connect and at most once a minute while polling.
    if (this.watchAll && (this.mode !== "polling" || Date.now() - this.projectsFetchedAt > 60_000 || this.knownProjects.size === 0)) {
      try {
        for (const p of await c.projects()) {
          this.knownProjects.set(p.id, p.name);
          scope.add(p.id);
        }
        this.projectsFetchedAt = Date.now();
      } catch (e) {
        ok = false;
        this.noteFailure(e);
      }
    }
    for (const id of this.knownProjects.keys()) scope.add(id);
    const listed = new Set<string>();
    await Promise.all(
      [...scope].map(async (projectId) => {
        try {
          const snapshotAt = performance.now();
          const list = await c.lastTasks(projectId, 200);
          for (const task of list) listed.add(taskKey(projectId, task.id));
          this.applyList(projectId, list, snapshotAt);
        } catch (e) {
          ok = false;
          this.noteFailure(e);
        }
      }),
    );
    // A tracked task that fell off the list (very busy project) is fetched on its own.
    for (const t of this.tracked.values()) {
      const key = taskKey(t.projectId, t.taskId);
      const known = this.o.store.tasks.get(key);
      if (listed.has(key) || !scope.has(t.projectId) || (known ? isTaskDone(known) : isTerminalStatus(t.status ?? "waiting"))) continue;
      const snapshotAt = performance.now();
      try {
        this.applyTask(await c.task(t.projectId, t.taskId), undefined, snapshotAt);
      } catch (e) {
        ok = false;
        this.noteFailure(e);
      }
    }
    if (ok && this.mode === "down") this.setMode(this.ws?.readyState === WebSocket.OPEN ? "websocket" : "polling");
    return ok;
  }

  private noteFailure(e: unknown): void {
    const kind = (e as { kind?: string }).kind;
    if (kind === "unreachable" || kind === "timeout" || kind === "server" || kind === "not_json") this.setMode("down", errorText(e));
    this.o.log.debug(`Semaphore request failed: ${errorText(e)}`);
  }

  private applyList(projectId: number, list: TaskWithTpl[], snapshotAt: number): void {
    let recent = 0;
    for (const task of list) {
      const key = taskKey(projectId, task.id);
      const keep = this.tracked.has(key) || this.o.store.tasks.has(key) || !isTerminalStatus(task.status) || recent < RECENT_PER_PROJECT;
      recent++;
      if (!keep) continue;
      if (task.tpl_alias) this.templateNames.set(`${projectId}:${task.template_id}`, task.tpl_alias);
      this.applyTask(task, task.user_name ?? undefined, snapshotAt);
    }
  }

  /**
   * Merges one task into the store. `snapshotAt` marks a REST reply: it must not undo a websocket update that
   * arrived while the request was in flight (the reply may predate it).
   */
  private applyTask(
    task: Pick<Task, "id" | "project_id" | "template_id" | "status" | "start" | "end"> & Partial<Task>,
    userName?: string,
    snapshotAt?: number,
  ): void {
    const key = taskKey(task.project_id, task.id);
    const stale = snapshotAt !== undefined && (this.lastPush.get(key) ?? -Infinity) > snapshotAt;
    const tracked = this.tracked.get(key);
    const existing = this.o.store.tasks.get(key);
    const origin: Origin | undefined =
      tracked?.origin ??
      existing?.origin ??
      (userName || task.user_id === null
        ? { via: "semaphore", user: userName ?? (task.schedule_id ? "schedule" : task.integration_id ? "integration" : undefined) }
        : undefined);
    const templateName = tracked?.templateName ?? this.templateNames.get(`${task.project_id}:${task.template_id}`);
    if (!templateName && task.template_id) void this.learnTemplates(task.project_id);
    this.o.store.upsertTask({
      projectId: task.project_id,
      taskId: task.id,
      templateId: task.template_id,
      ...(stale ? {} : { status: task.status, start: task.start, end: task.end }),
      created: task.created ?? undefined,
      origin,
      templateName,
      projectName: this.knownProjects.get(task.project_id),
      ...(existing?.fromSavedState ? { fromSavedState: false } : {}),
    });
    if (tracked && !stale && (tracked.status !== task.status || (tracked.finishedAt === undefined && isTaskDone(task)))) {
      tracked.status = task.status;
      if (isTaskDone(task)) tracked.finishedAt ??= Date.now();
      this.queueSave();
    }
  }

  private learning = new Set<number>();
  private async learnTemplates(projectId: number): Promise<void> {
    if (this.learning.has(projectId)) return;
    this.learning.add(projectId);
    try {
      for (const tpl of await this.o.client.templates(projectId)) this.templateNames.set(`${projectId}:${tpl.id}`, tpl.name);
      for (const t of this.o.store.tasks.values()) {
        const name = t.projectId === projectId && t.templateId !== undefined ? this.templateNames.get(`${projectId}:${t.templateId}`) : undefined;
        if (name && !t.templateName) this.o.store.upsertTask({ projectId, taskId: t.taskId, templateName: name });
      }
    } catch (e) {
      this.o.log.debug(`could not list templates of project ${projectId}: ${errorText(e)}`);
    } finally {
      const t = setTimeout(() => {
        this.learning.delete(projectId);
        this.timers.delete(t);
      }, 30_000);
      this.timers.add(t);
    }
  }

  /**
   * Fetches the output and appends only the lines the store does not have yet. Frames buffered during the fetch
   * are then appended unless the fetch already contained them (matched by timestamp and text).
   */
  private async catchUpOutput(projectId: number, taskId: number): Promise<void> {
    const key = taskKey(projectId, taskId);
    const tooLarge = this.outputTooLarge.get(key);
    if (tooLarge) throw tooLarge;
    let lines;
    try {
      lines = await this.o.client.taskOutput(projectId, taskId);
    } catch (e) {
      if (isSemaphoreError(e, "too_large")) {
        this.outputTooLarge.set(key, e);
        if (this.outputTooLarge.size > 1000) this.outputTooLarge.delete(this.outputTooLarge.keys().next().value!);
        this.o.log.warn(`task ${taskId} of project ${projectId}: ${e.userMessage()}`);
      }
      this.flushBuffered(key, projectId, taskId, new Set());
      throw e;
    }
    const seen = this.linesSeen.get(key) ?? 0;
    if (lines.length > seen) {
      this.linesSeen.set(key, lines.length);
      this.appendLines(
        projectId,
        taskId,
        lines.slice(seen).map((l) => ({ time: l.time, text: l.output })),
      );
    }
    this.flushBuffered(key, projectId, taskId, new Set(lines.map((l) => `${l.time}|${l.output}`)));
  }

  private flushBuffered(key: string, projectId: number, taskId: number, fetched: Set<string>): void {
    const buffer = this.catchingUp.get(key);
    if (!buffer) return;
    this.catchingUp.delete(key);
    const fresh = buffer.filter((l) => !fetched.has(`${l.time}|${l.text}`));
    if (fresh.length === 0) return;
    this.linesSeen.set(key, (this.linesSeen.get(key) ?? 0) + fresh.length);
    this.appendLines(projectId, taskId, fresh);
  }

  private appendLines(projectId: number, taskId: number, lines: Array<{ time: string; text: string }>): void {
    const store = this.o.store;
    store.appendOutput(projectId, taskId, lines);
    const t = store.tasks.get(taskKey(projectId, taskId));
    const progress = foldAnsible(
      { currentPlay: t?.currentPlay, currentTask: t?.currentTask, recap: t?.recap },
      lines.map((l) => l.text),
    );
    if (progress) store.upsertTask({ projectId, taskId, ...progress } as Partial<TaskState> & { projectId: number; taskId: number });
  }

  private startPolling(): void {
    if (this.pollTimer || this.stopped) return;
    if (this.mode !== "down") this.setMode("polling"); // a hung Semaphore stays down until a poll gets an answer
    const tick = async () => {
      this.stats.polls++;
      // Taken before the poll: a task this poll sees finish is unfollowed at once (its card is final), but the lines
      // it printed since the previous poll still have to be fetched.
      const followed = [...this.followers.keys()];
      const ok = await this.pollProjects().catch(() => false);
      if (ok && this.mode !== "websocket") this.setMode("polling");
      // Followed tasks get their new lines; a finished one gets one last fetch for its final lines.
      for (const key of new Set([...followed, ...this.followers.keys(), ...this.finalPending])) {
        const t = this.o.store.tasks.get(key);
        if (!t || this.finalFetched.has(key)) continue;
        const last = isTaskDone(t);
        try {
          await this.catchUpOutput(t.projectId, t.taskId);
          if (last) {
            this.finalFetched.add(key);
            this.finalPending.delete(key);
          }
        } catch {
          if (last) this.finalPending.add(key); // retried at the next poll
        }
      }
      if (this.pollTimer && !this.stopped) this.pollTimer = setTimeout(() => void tick(), this.o.pollIntervalMs);
    };
    this.pollTimer = setTimeout(() => void tick(), 0);
  }

  private stopPolling(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  private setMode(mode: TaskTracker["mode"], detail?: string): void {
    if (this.mode === mode) return;
    this.mode = mode;
    this.modeSince = Date.now();
    this.o.store.setConnection({ semaphore: mode, semaphoreDetail: detail });
    if (mode === "down") this.o.log.warn(`Semaphore is unreachable${detail ? `: ${detail}` : ""}`);
  }

  // ---- persistence ----

  private load(): void {
    for (const t of this.state.load()?.tasks ?? []) {
      if (typeof t?.projectId !== "number" || typeof t.taskId !== "number") continue;
      this.tracked.set(taskKey(t.projectId, t.taskId), t);
      const { projectId, taskId, origin, templateName } = t;
      this.o.store.upsertTask({ projectId, taskId, status: t.status ?? "waiting", origin, templateName, fromSavedState: true });
    }
    if (this.tracked.size) this.o.log.info(`resuming tracking of ${this.tracked.size} task(s)`);
  }

  private queueSave(): void {
    this.state.saveLater();
  }

  private snapshot(): Persisted {
    const now = Date.now();
    for (const [key, t] of this.tracked) if (t.finishedAt && now - t.finishedAt > PRUNE_FINISHED_MS) this.tracked.delete(key);
    return { version: 1, tasks: [...this.tracked.values()] };
  }
}
