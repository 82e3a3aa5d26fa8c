import { EventEmitter } from "node:events";
import { Ring } from "../log/logger.js";
import { isTerminalStatus, type AnyTaskStatus } from "../semaphore/types.js";

// The one state store. Events come in (Matrix sync, Semaphore frames, keys), operations change the store, and
// every front end renders from it. Each change emits a typed event so views redraw only what changed.

export type MatrixConnection = "not_configured" | "starting" | "syncing" | "catching_up" | "reconnecting" | "error" | "stopped";
export type SemaphoreConnection = "not_configured" | "connecting" | "websocket" | "polling" | "down";

export interface ConnectionState {
  matrix: MatrixConnection;
  matrixDetail?: string;
  /** Epoch ms of the last successful sync, for health checks. */
  matrixLastSync?: number;
  semaphore: SemaphoreConnection;
  semaphoreDetail?: string;
  semaphoreVersion?: string;
}

export interface RoomState {
  roomId: string;
  name: string;
  encrypted: boolean;
  members: number;
  lastActivity?: number;
  /** What this room may do, as a short human summary derived from its policy. */
  abilities?: string;
  /** Encrypted rooms: how many of the members' devices the bot has verified (never automatically). */
  trust?: RoomTrust;
}

export interface RoomTrust {
  /** Devices of the other members the bot knows of. */
  devices: number;
  /** Of those, verified by the bot (SAS confirmed by an operator or admin). */
  verified: number;
}

/** End-to-end encryption: the bot's device and what it could not decrypt. */
export interface CryptoState {
  enabled: boolean;
  /** Why encryption is off, or a problem with it. */
  detail?: string;
  deviceId?: string;
  /** The device's ed25519 key (its fingerprint), for out-of-band comparison. */
  ed25519?: string;
  /** Whether the bot's account has cross-signing keys this device can use. */
  crossSigning?: boolean;
  /** Live messages the bot could not decrypt, since start. */
  undecryptable: number;
  /** Of those, how many are still undecryptable (the rest were decrypted when their keys arrived). */
  waitingForKeys: number;
  lastUndecryptable?: { roomId: string; sender: string; eventId: string; reason: string; at: number };
}

/**
 * An interactive login waiting for the operator. SSO: open `url`, then paste the token or redirect URL. OAuth device
 * grant (`code` set): open `url` and approve `code` there; nothing to paste, the prompt goes when the login ends.
 */
export interface LoginPromptState {
  message: string;
  url: string;
  since: number;
  code?: string;
}

export type VerificationPhaseName = "requested" | "ready" | "started" | "sas" | "confirmed" | "done" | "cancelled" | "mismatch";

/** An interactive (SAS emoji) verification between the bot's device and another device. */
export interface VerificationState {
  id: string;
  otherUserId: string;
  otherDeviceId?: string;
  /** incoming: the other side asked; chat: an admin asked with `verify start`; console: the operator asked. */
  origin: "incoming" | "chat" | "console";
  /** For chat-started verifications: the admin who asked, who alone may confirm. */
  owner?: string;
  /** Where the emoji are shown in chat (the admin's room). */
  roomId?: string;
  phase: VerificationPhaseName;
  emoji?: Array<[string, string]>;
  decimals?: [number, number, number];
  createdAt: number;
  updatedAt: number;
  detail?: string;
}

export interface Origin {
  via: "chat" | "console" | "semaphore";
  user?: string;
  roomId?: string;
}

export interface TaskState {
  /** `${projectId}:${taskId}`: task ids are only unique within a Semaphore instance, but keyed per project for clarity. */
  key: string;
  projectId: number;
  taskId: number;
  templateId?: number;
  templateName?: string;
  projectName?: string;
  status: AnyTaskStatus;
  /** Known only from the tracker's saved state (after a restart), not yet from Semaphore: name, times are missing. */
  fromSavedState?: boolean;
  created?: string;
  start?: string | null;
  end?: string | null;
  origin?: Origin;
  /** Parsed from Ansible output, for cards and the console. */
  currentPlay?: string;
  currentTask?: string;
  recap?: Record<string, Record<string, number>>;
  outputLines: number;
  updatedAt: number;
}

export interface PendingConfirmation {
  id: string;
  kind: "run" | "stop" | "exit";
  requester: string;
  roomId?: string;
  createdAt: number;
  expiresAt: number;
  summary: string;
}

export interface OutputLine {
  time: string;
  text: string;
}

export interface StoreEvents {
  connection: [ConnectionState];
  room: [RoomState];
  roomRemoved: [string];
  task: [TaskState, TaskState | undefined];
  /** A task's status changed (emitted once per change, however often the same status is reported). */
  transition: [TaskState, string | undefined];
  output: [string, OutputLine[]];
  pending: [PendingConfirmation[]];
  crypto: [CryptoState];
  /** A verification started, changed phase or ended. */
  verification: [VerificationState];
  /** An interactive login started waiting for the operator (state), or stopped waiting (undefined). */
  loginPrompt: [LoginPromptState | undefined];
}

/** The one "project:task" key (store maps, cards, the tracker); parseTaskKey is its inverse. */
export const taskKey = (projectId: number, taskId: number): string => `${projectId}:${taskId}`;
/** Newest first by creation time: task ids say nothing about age (a live v2.10 on BoltDB counts them down). A task
 * whose creation time is not known yet (just started) counts as the newest. */
export function newestFirst(a: TaskState, b: TaskState): number {
  const at = (t: TaskState): number => {
    const ms = t.created ? Date.parse(t.created) : NaN;
    return Number.isNaN(ms) ? Infinity : ms;
  };
  const ca = at(a),
    cb = at(b);
  if (ca !== cb) return ca < cb ? 1 : -1;
  return b.updatedAt - a.updatedAt || a.key.localeCompare(b.key);
}
export function parseTaskKey(key: string): { projectId: number; taskId: number } {
  const [projectId = 0, taskId = 0] = key.split(":").map(Number);
  return { projectId, taskId };
}

export class Store extends EventEmitter<StoreEvents> {
  connection: ConnectionState = { matrix: "not_configured", semaphore: "not_configured" };
  readonly rooms = new Map<string, RoomState>();
  readonly tasks = new Map<string, TaskState>();
  private readonly outputs = new Map<string, Ring<OutputLine>>();
  /** Lines ever appended per task (the ring keeps only the last ones): the absolute index of the next line. */
  private readonly outputTotals = new Map<string, number>();
  private pendingList: PendingConfirmation[] = [];
  crypto: CryptoState = { enabled: false, undecryptable: 0, waitingForKeys: 0 };
  readonly verifications = new Map<string, VerificationState>();
  loginPrompt?: LoginPromptState;

  /** Finished tasks that still have output here, oldest first (see keepFinishedOutputs). */
  private readonly finishedWithOutput: string[] = [];
  private readonly evictedOutputs = new Set<string>();

  /**
   * @param outputLinesPerTask the last lines kept per task
   * @param keepFinishedOutputs output is kept for this many finished tasks (the newest); older ones are dropped, so a
   *   bot that runs for months does not grow with every task it has seen (their output is fetched again on demand)
   */
  constructor(
    private readonly outputLinesPerTask = 2000,
    private readonly keepFinishedOutputs = 50,
  ) {
    super();
    this.setMaxListeners(50);
  }

  /** The output of this finished task was dropped from memory (keepFinishedOutputs): ask Semaphore for it. */
  outputEvicted(key: string): boolean {
    return this.evictedOutputs.has(key) && !this.outputs.has(key);
  }

  private noteFinished(key: string): void {
    if (!this.outputs.has(key) || this.finishedWithOutput.includes(key)) return;
    this.finishedWithOutput.push(key);
    while (this.finishedWithOutput.length > this.keepFinishedOutputs) {
      const old = this.finishedWithOutput.shift()!;
      this.outputs.delete(old);
      this.evictedOutputs.add(old);
    }
  }

  setConnection(patch: Partial<ConnectionState>): void {
    const next = { ...this.connection, ...patch };
    if (JSON.stringify(next) === JSON.stringify(this.connection)) return;
    this.connection = next;
    this.emit("connection", next);
  }

  upsertRoom(room: RoomState): void {
    const prev = this.rooms.get(room.roomId);
    if (prev && JSON.stringify(prev) === JSON.stringify(room)) return;
    this.rooms.set(room.roomId, room);
    this.emit("room", room);
  }

  setCrypto(patch: Partial<CryptoState>): void {
    const next = { ...this.crypto, ...patch };
    if (JSON.stringify(next) === JSON.stringify(this.crypto)) return;
    this.crypto = next;
    this.emit("crypto", next);
  }

  setLoginPrompt(p: LoginPromptState | undefined): void {
    this.loginPrompt = p;
    this.emit("loginPrompt", p);
  }

  upsertVerification(v: VerificationState): void {
    const prev = this.verifications.get(v.id);
    if (prev && JSON.stringify(prev) === JSON.stringify(v)) return;
    this.verifications.set(v.id, v);
    this.emit("verification", v);
  }

  /** Verifications still waiting for someone (not done, cancelled or mismatched). */
  activeVerifications(): VerificationState[] {
    return [...this.verifications.values()].filter((v) => !["done", "cancelled", "mismatch"].includes(v.phase));
  }

  removeRoom(roomId: string): void {
    if (this.rooms.delete(roomId)) this.emit("roomRemoved", roomId);
  }

  /** Merges a task update; emits only when something actually changed. Returns the new state. */
  upsertTask(patch: Partial<TaskState> & { projectId: number; taskId: number }): TaskState {
    const key = taskKey(patch.projectId, patch.taskId);
    const prev = this.tasks.get(key);
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const next: TaskState = { key, status: "waiting", outputLines: 0, ...prev, ...defined, updatedAt: prev?.updatedAt ?? Date.now() } as TaskState;
    const changed = !prev || Object.keys(defined).some((k) => JSON.stringify((prev as unknown as Record<string, unknown>)[k]) !== JSON.stringify(defined[k]));
    if (!changed) return prev!;
    next.updatedAt = Date.now();
    this.tasks.set(key, next);
    this.emit("task", next, prev);
    if (prev?.status !== next.status) {
      if (isTerminalStatus(next.status)) this.noteFinished(key);
      this.emit("transition", next, prev?.status);
    }
    return next;
  }

  appendOutput(projectId: number, taskId: number, lines: OutputLine[]): void {
    if (lines.length === 0) return;
    const key = taskKey(projectId, taskId);
    let ring = this.outputs.get(key);
    if (!ring) this.outputs.set(key, (ring = new Ring(this.outputLinesPerTask)));
    for (const l of lines) ring.push(l);
    this.outputTotals.set(key, (this.outputTotals.get(key) ?? 0) + lines.length);
    const t = this.tasks.get(key);
    if (t && isTerminalStatus(t.status)) this.noteFinished(key);
    if (t) this.tasks.set(key, { ...t, outputLines: t.outputLines + lines.length });
    this.emit("output", key, lines);
  }

  output(key: string): OutputLine[] {
    return this.outputs.get(key)?.toArray() ?? [];
  }

  /** How many lines were ever appended for this task: output(key) holds the last of them. */
  outputCount(key: string): number {
    return this.outputTotals.get(key) ?? 0;
  }

  /** The last task started per room ("console" for the console), for commands given without a task id. */
  readonly lastTasks = new Map<string, { projectId: number; taskId: number }>();

  get pending(): readonly PendingConfirmation[] {
    return this.pendingList;
  }

  addPending(p: PendingConfirmation): void {
    this.pendingList = [...this.pendingList.filter((x) => x.id !== p.id), p];
    this.emit("pending", this.pendingList);
  }

  removePending(id: string): PendingConfirmation | undefined {
    const found = this.pendingList.find((p) => p.id === id);
    if (!found) return undefined;
    this.pendingList = this.pendingList.filter((p) => p.id !== id);
    this.emit("pending", this.pendingList);
    return found;
  }
}
