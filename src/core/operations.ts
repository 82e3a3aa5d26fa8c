import type { Store } from "./store.js";
import type { Logger, Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import type { LoadedConfig } from "../config/load.js";
import { formatIssue } from "../config/load.js";
import { Permissions, type Decision } from "./permissions.js";
import type { Permission } from "../commands/types.js";
import type { SemaphoreClient } from "../semaphore/client.js";
import type { TaskTracker } from "../semaphore/tracker.js";
import type { Project, Template } from "../semaphore/types.js";
import { AuditLog } from "./audit.js";
import { TaskOps } from "./task-ops.js";

/** Who asked: a Matrix user in a room, or the operator at the console. */
export type Actor =
  | { kind: "chat"; userId: string; roomId: string; eventId?: string }
  | { kind: "console"; user?: string };

export const actorName = (a: Actor): string => (a.kind === "chat" ? a.userId : `console${a.user ? `:${a.user}` : ""}`);

/** What the operations need from the Matrix side; the bot implements it, tests can fake it. */
export interface ChatPort {
  say(roomId: string, text: string, html?: string): Promise<string | undefined>;
  join(roomIdOrAlias: string): Promise<string>;
  leave(roomId: string): Promise<void>;
  aliasesOf(roomId: string): string[];
}

export class OperationError extends Error {
  constructor(message: string, readonly code: "denied" | "bad_input" | "unavailable" | "failed") { super(message); }
}

export interface OperationsDeps {
  store: Store;
  logger: Logger;
  config: LoadedConfig;
  semaphore?: SemaphoreClient;
  /** Append-only audit file; undefined disables the audit log (tests). */
  auditFile?: string;
  /** Called by reloadConfig to re-read the file with the same options as at start. */
  reload?: () => LoadedConfig;
  requestShutdown?: (reason: string) => void;
}

/**
 * The single door for actions. Chat commands and the console both call these methods; permission checks and the
 * audit trail live here so no front end can bypass them.
 */
export class Operations {
  readonly store: Store;
  readonly logger: Logger;
  readonly permissions: Permissions;
  readonly startedAt = Date.now();
  config: LoadedConfig;
  semaphore?: SemaphoreClient;
  tracker?: TaskTracker;
  chat?: ChatPort;
  readonly audit: AuditLog;
  readonly tasks: TaskOps;
  /** The last task started per room (and for the console), for commands given without a task id. */
  private readonly lastTasks = new Map<string, { projectId: number; taskId: number }>();
  readonly counters = { commands: 0, refused: 0, errors: 0, messagesSent: 0 };
  private readonly log: Log;

  constructor(private readonly deps: OperationsDeps) {
    this.store = deps.store;
    this.logger = deps.logger;
    this.config = deps.config;
    this.semaphore = deps.semaphore;
    this.permissions = new Permissions(deps.config.values, deps.config.rooms);
    this.log = deps.logger.child("ops");
    this.audit = new AuditLog(deps.auditFile, deps.logger.redactor);
    this.tasks = new TaskOps(this);
  }

  private roomPolicy(actor: Actor) {
    if (actor.kind !== "chat" || this.permissions.isAdmin(actor.userId)) return undefined;
    return this.permissions.policy(actor.roomId, this.chat?.aliasesOf(actor.roomId) ?? []);
  }

  mayUseProject(actor: Actor, p: Pick<Project, "id" | "name">): boolean {
    return this.permissions.allows(this.roomPolicy(actor)?.projects, p.id, p.name);
  }

  mayUseProjectId(actor: Actor, projectId: number): boolean {
    const name = [...this.store.tasks.values()].find((t) => t.projectId === projectId && t.projectName)?.projectName;
    return this.permissions.allows(this.roomPolicy(actor)?.projects, projectId, name);
  }

  mayUseTemplate(actor: Actor, t: Pick<Template, "id" | "name">): boolean {
    return this.permissions.allows(this.roomPolicy(actor)?.templates, t.id, t.name);
  }

  requireProject(actor: Actor, projectId: number): void {
    if (!this.mayUseProjectId(actor, projectId)) throw new OperationError(`Project ${projectId} is not available in this room.`, "denied");
  }

  rememberLastTask(actor: Actor, projectId: number, taskId: number): void {
    this.lastTasks.set(actor.kind === "chat" ? actor.roomId : "console", { projectId, taskId });
  }

  lastTask(actor: Actor): { projectId: number; taskId: number } | undefined {
    return this.lastTasks.get(actor.kind === "chat" ? actor.roomId : "console");
  }

  /** Console actors are the operator at the terminal: everything is allowed unless the console is read-only. */
  authorize(actor: Actor, permission: Permission): Decision {
    if (actor.kind === "console") {
      if (permission !== "read" && this.config.values.console.read_only) return { allowed: false, reason: "the console is read-only ([console] read_only or --read-only)" };
      return { allowed: true, reason: "console operator" };
    }
    return this.permissions.check(actor.userId, actor.roomId, permission, this.chat?.aliasesOf(actor.roomId) ?? []);
  }

  require(actor: Actor, permission: Permission, what: string): void {
    const d = this.authorize(actor, permission);
    if (!d.allowed) {
      this.counters.refused++;
      this.log.warn(`refused ${what} for ${actorName(actor)}: ${d.reason}`);
      throw new OperationError(`Not allowed to ${what}: ${d.reason}.`, "denied");
    }
  }

  /** Liveness of the bot and reachability of Semaphore, with the round-trip time. */
  async ping(actor: Actor): Promise<{ semaphore: { ok: boolean; ms?: number; error?: string } }> {
    this.require(actor, "read", "ping");
    if (!this.semaphore) return { semaphore: { ok: false, error: "Semaphore is not configured" } };
    const t0 = performance.now();
    try {
      await this.semaphore.ping();
      return { semaphore: { ok: true, ms: Math.round(performance.now() - t0) } };
    } catch (e) {
      return { semaphore: { ok: false, error: userMessage(e) } };
    }
  }

  async say(actor: Actor, roomId: string, text: string): Promise<string | undefined> {
    this.require(actor, "admin", "send messages as the bot");
    if (!this.chat) throw new OperationError("Matrix is not configured, so there is no room to talk to.", "unavailable");
    if (!text.trim()) throw new OperationError("Nothing to say: the message is empty.", "bad_input");
    const id = await this.chat.say(roomId, text);
    this.log.info(`${actorName(actor)} said in ${roomId}: ${text.slice(0, 200)}`);
    return id;
  }

  async joinRoom(actor: Actor, room: string): Promise<string> {
    this.require(actor, "admin", "join rooms");
    if (!this.chat) throw new OperationError("Matrix is not configured.", "unavailable");
    if (!/^[!#][^:\s]+:\S+$/.test(room)) throw new OperationError(`${JSON.stringify(room)} is not a room ID or alias (expected !id:server or #alias:server).`, "bad_input");
    const id = await this.chat.join(room);
    this.log.info(`${actorName(actor)} made the bot join ${room}`);
    return id;
  }

  async leaveRoom(actor: Actor, roomId: string): Promise<void> {
    this.require(actor, "admin", "leave rooms");
    if (!this.chat) throw new OperationError("Matrix is not configured.", "unavailable");
    await this.chat.leave(roomId);
    this.store.removeRoom(roomId);
    this.log.info(`${actorName(actor)} made the bot leave ${roomId}`);
  }

  /** Re-reads the config file. An invalid file changes nothing; its problems are returned. */
  reloadConfig(actor: Actor): { ok: boolean; problems: string[] } {
    this.require(actor, "admin", "reload the configuration");
    if (!this.deps.reload) throw new OperationError("This instance has no config file to reload.", "unavailable");
    const next = this.deps.reload();
    const problems = next.issues.map(formatIssue);
    if (!next.ok) {
      this.log.error(`config reload refused, keeping the running config: ${problems.filter((p) => p.startsWith("error")).join("; ")}`);
      return { ok: false, problems };
    }
    this.config = next;
    this.permissions.update(next.values, next.rooms);
    this.logger.redactor.add(...next.secrets);
    this.logger.level = next.values.bot.log_level;
    this.log.info(`config reloaded from ${next.path ?? "defaults"}`);
    return { ok: true, problems };
  }

  shutdown(actor: Actor, reason: string): void {
    this.require(actor, "admin", "shut the bot down");
    this.log.warn(`shutdown requested by ${actorName(actor)}: ${reason}`);
    this.deps.requestShutdown?.(reason);
  }
}

export function userMessage(e: unknown): string {
  const maybe = e as { userMessage?: () => string };
  if (maybe && typeof maybe.userMessage === "function") return maybe.userMessage();
  return errorText(e);
}

