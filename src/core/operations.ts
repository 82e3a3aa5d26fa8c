import type { Store, VerificationState, RoomState } from "./store.js";
import { actorName, mayAnswerVerification, type Actor } from "./actor.js";
import { OperationError, userMessage } from "./errors.js";
import { SCHEMA, type KeyDef } from "../config/schema.js";
import type { Logger, Log } from "../log/logger.js";
import type { LoadedConfig } from "../config/load.js";
import { formatIssue } from "../config/load.js";
import { Permissions, RefusalLimiter, type Decision, type Permission } from "./permissions.js";
import type { SemaphoreClient } from "../semaphore/client.js";
import type { TaskTracker } from "../semaphore/tracker.js";
import type { Project, Template } from "../semaphore/types.js";
import { AuditLog } from "./audit.js";
import { TaskOps } from "./task-ops.js";
import { AliasStore } from "./aliases.js";
import { Messages } from "./messages.js";
import { RoomSettings } from "./room-settings.js";
import { ApprovalService } from "./approvals.js";
import { join } from "node:path";
import { COMMAND_NAMES } from "./command-names.js";
import { Metrics } from "./metrics.js";
import { SubscriptionOps } from "./subscriptions.js";
import { maskedRunParams, type ResolvedRun } from "./task-ops.js";
import { AliasError } from "./aliases.js";
import { TaskHistory } from "./history.js";

/** How long `ping` (and `info`) wait for Semaphore's answer before saying what the tracker knows instead. */
const PING_PROBE_MS = 1000;

export { actorName, mayAnswerVerification, OperationError, userMessage };
export type { Actor };

/** What the operations need from the Matrix side; the bot implements it, tests can fake it. */
export interface ChatPort {
  say(roomId: string, text: string, html?: string): Promise<string | undefined>;
  join(roomIdOrAlias: string): Promise<string>;
  leave(roomId: string): Promise<void>;
  /** The aliases a room's own state claims (canonical_alias, alt_aliases): display only, never trusted for access. */
  aliasesOf(roomId: string): string[];
  /** The room an alias points to in the homeserver's directory; undefined when the directory does not know it. */
  resolveAlias?(alias: string): Promise<string | undefined>;
  /** Facts for `info`. */
  describe?(): ChatInfo;
  /** Present when the bot can verify devices (encryption on). */
  verification?: VerificationPort;
  /** Joined members of a room, for `verify list`. */
  members?(roomId: string): string[];
}

/** A device of a room member (or of the bot's own account) and whether the bot has verified it. */
export interface DeviceTrust {
  userId: string;
  deviceId: string;
  displayName?: string;
  verified: boolean;
}

/** Interactive device verification (SAS emoji); the Matrix bot implements it when encryption is on. */
export interface VerificationPort {
  devices(userIds: string[]): Promise<DeviceTrust[]>;
  start(actor: Actor, userId: string, deviceId: string): Promise<VerificationState>;
  get(id: string): VerificationState | undefined;
  confirm(id: string, match: boolean): Promise<void>;
  cancel(id: string): Promise<void>;
}

export interface ChatInfo {
  homeserver: string;
  userId?: string;
  deviceId?: string;
  /** Whether the bot can read and write encrypted rooms. */
  encryption: boolean;
  rooms: number;
  encryptedRooms: number;
}

export interface AliasResolution {
  unresolved: string[];
}

/** What a run, stop or exit prompt asked about, so its cancellation is audited the same from chat and the console. */
export type PromptTarget = { kind: "run"; run: ResolvedRun } | { kind: "stop"; task: { projectId: number; taskId: number }; force: boolean } | { kind: "exit" };

export interface OperationsDeps {
  store: Store;
  logger: Logger;
  config: LoadedConfig;
  semaphore?: SemaphoreClient;
  /** Append-only audit file; undefined disables the audit log (tests). */
  auditFile?: string;
  /** Where aliases, room settings and approval requests are kept; default [bot] state_dir. */
  stateDir?: string;
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
  readonly aliases: AliasStore;
  readonly messages: Messages;
  readonly roomSettings: RoomSettings;
  readonly approvals: ApprovalService;
  readonly subscriptions: SubscriptionOps;
  private servicesStarted = false;
  readonly counters = { commands: 0, refused: 0, errors: 0, messagesSent: 0 };
  /** Commands from users the bot does not serve are answered (and audited) once per user per window. */
  readonly strangerRefusals = new RefusalLimiter();
  /** The latest resolution of the config's room aliases (start, reload); tests and the bot's start wait for it. */
  roomAliasesResolved: Promise<AliasResolution> = Promise.resolve({ unresolved: [] });
  private aliasGeneration = 0;
  /** Labelled counters and histograms for /metrics (src/http). */
  readonly metrics = new Metrics();
  /** Run history per template and activity per minute (the console's History view). */
  readonly history: TaskHistory;
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
    const stateDir = deps.stateDir ?? deps.config.values.bot.state_dir;
    const persist = deps.auditFile !== undefined || deps.stateDir !== undefined;
    const aliasFile = deps.config.values.bot.aliases_file || join(stateDir, "aliases.json");
    this.aliases = new AliasStore({ file: aliasFile, log: deps.logger.child("aliases"), commands: () => COMMAND_NAMES });
    this.messages = new Messages(deps.config.values.bot.messages_file || undefined, deps.logger.child("messages"));
    this.roomSettings = new RoomSettings(persist ? join(stateDir, "rooms.json") : undefined, deps.logger.child("rooms"));
    this.approvals = new ApprovalService(this, persist ? join(stateDir, "approvals.json") : undefined);
    this.subscriptions = new SubscriptionOps(this);
    this.metrics.watch(this.store);
    this.history = new TaskHistory(this);
  }

  /**
   * Loads aliases, personality lines, room settings and approval requests, and starts the file watchers. Idempotent;
   * the Matrix bot calls it on start, and the app should call it once before any front end starts.
   */
  startServices(): void {
    if (this.servicesStarted) return;
    this.servicesStarted = true;
    this.aliases.load();
    this.aliases.watch();
    this.messages.load();
    this.messages.watch();
    this.roomSettings.load();
    this.approvals.load();
    for (const p of this.roomSettings.watchedProjects()) this.tracker?.watchProject(p);
  }

  async stopServices(): Promise<void> {
    if (!this.servicesStarted) return;
    this.servicesStarted = false;
    this.approvals.close();
    await this.aliases.close();
    await this.messages.close();
  }

  /**
   * The projects or templates a chat actor's room is granted (its section, else the defaults for rooms without one).
   * Undefined means unrestricted: the console and admins see everything everywhere.
   */
  private roomGrant(actor: Actor, kind: "projects" | "templates"): readonly string[] | undefined {
    if (actor.kind !== "chat" || this.permissions.isAdmin(actor.userId)) return undefined;
    return kind === "projects" ? this.permissions.roomProjects(actor.roomId) : this.permissions.roomTemplates(actor.roomId);
  }

  mayUseProject(actor: Actor, p: Pick<Project, "id" | "name">): boolean {
    return this.permissions.allows(this.roomGrant(actor, "projects"), p.id, p.name);
  }

  mayUseProjectId(actor: Actor, projectId: number): boolean {
    return this.permissions.allows(this.roomGrant(actor, "projects"), projectId, this.projectNameOf(projectId));
  }

  /** Whether a room (whoever is in it) may see a project's cards: its grant, never an admin's. For subscriptions. */
  roomMaySeeProject(roomId: string, projectId: number): boolean {
    return this.permissions.allows(this.permissions.roomProjects(roomId), projectId, this.projectNameOf(projectId));
  }

  private projectNameOf(projectId: number): string | undefined {
    return [...this.store.tasks.values()].find((t) => t.projectId === projectId && t.projectName)?.projectName;
  }

  /** Whether the bot listens in this room at all ([bot] allowed_rooms; empty: every room). */
  servesRoom(roomId: string): boolean {
    return this.permissions.isAllowedRoom(roomId);
  }

  /** Whether the bot serves this user at all (admin_users or allowed_users). */
  servesUser(userId: string): boolean {
    return this.permissions.isAllowedUser(userId);
  }

  /** An invite is accepted only from a user the bot serves, and only to a room it may be in. */
  mayAcceptInvite(inviter: string, roomId: string): Decision {
    if (!this.servesUser(inviter)) return { allowed: false, reason: `${inviter} is not in [bot] allowed_users or admin_users` };
    if (!this.servesRoom(roomId)) return { allowed: false, reason: "the room is not in [bot] allowed_rooms" };
    return { allowed: true, reason: "an allowed user invited the bot to an allowed room" };
  }

  mayUseTemplate(actor: Actor, t: Pick<Template, "id" | "name">): boolean {
    return this.permissions.allows(this.roomGrant(actor, "templates"), t.id, t.name);
  }

  /** The rooms an actor may know about: a non-admin in chat only their own room; admins and the console all. */
  visibleRooms(actor: Actor): RoomState[] {
    this.require(actor, "read", "list rooms");
    const all = [...this.store.rooms.values()];
    return actor.kind === "console" || this.permissions.isAdmin(actor.userId) ? all : all.filter((r) => r.roomId === actor.roomId);
  }

  /** A room's name as this actor may see it: other rooms stay unnamed to non-admins in chat. */
  roomNameFor(actor: Actor, roomId: string): string {
    const mayKnow = actor.kind === "console" || this.permissions.isAdmin(actor.userId) || actor.roomId === roomId;
    return mayKnow ? (this.store.rooms.get(roomId)?.name ?? roomId) : "another room";
  }

  /**
   * Resolves the config's room aliases through the homeserver directory (a room's own alias state can be forged).
   * Until an alias resolves it grants nothing; an alias that does not resolve is a warning. The newest call wins.
   */
  resolveRoomAliases(): Promise<AliasResolution> {
    const generation = ++this.aliasGeneration;
    const aliases = this.permissions.configuredAliases();
    const chat = this.chat;
    const run = async (): Promise<AliasResolution> => {
      const resolved = new Map<string, string>();
      const unresolved: string[] = [];
      await Promise.all(
        aliases.map(async (alias) => {
          let why = chat?.resolveAlias ? "the homeserver's room directory does not know it" : "Matrix is not configured";
          let id: string | undefined;
          try {
            id = await chat?.resolveAlias?.(alias);
          } catch (e) {
            why = `looking it up failed (${userMessage(e)})`;
          }
          if (id) {
            resolved.set(alias, id);
            return;
          }
          unresolved.push(alias);
          this.log.warn(`room alias ${alias} in the config grants nothing: ${why}. Check the alias, or name the room by its id (!…:server), then reload`);
        }),
      );
      if (generation === this.aliasGeneration) {
        this.permissions.setResolvedAliases(resolved);
        if (resolved.size) this.log.info(`room aliases resolved: ${[...resolved].map(([a, id]) => `${a} → ${id}`).join(", ")}`);
      }
      return { unresolved: unresolved.sort() };
    };
    this.roomAliasesResolved = run();
    return this.roomAliasesResolved;
  }

  /**
   * A command from a user who is neither admin nor allowed. Every one is counted; only the first per user per window
   * is logged, audited and answered (returns true), so a flood cannot make the bot write or send a line for each.
   */
  refuseStranger(actor: Extract<Actor, { kind: "chat" }>, what: string): boolean {
    this.counters.refused++;
    this.metrics.commands.inc({ command: "unknown", outcome: "refused", via: "chat" });
    if (!this.strangerRefusals.shouldAnswer(actor.userId)) return false;
    const detail = `${actor.userId} is not in [bot] allowed_users or admin_users`;
    this.log.warn(`refused a command from ${actor.userId} in ${actor.roomId}: ${detail} (answered once per user per 5 minutes)`);
    void this.audit.record(actor, what.slice(0, 50), "refused", { detail });
    return true;
  }

  requireProject(actor: Actor, projectId: number): void {
    if (!this.mayUseProjectId(actor, projectId)) throw new OperationError(`Project ${projectId} is not available in this room.`, "denied");
  }

  rememberLastTask(actor: Actor, projectId: number, taskId: number): void {
    this.store.lastTasks.set(actor.kind === "chat" ? actor.roomId : "console", { projectId, taskId });
  }

  lastTask(actor: Actor): { projectId: number; taskId: number } | undefined {
    return this.store.lastTasks.get(actor.kind === "chat" ? actor.roomId : "console");
  }

  /** Console actors are the operator at the terminal: everything is allowed unless the console is read-only. */
  authorize(actor: Actor, permission: Permission): Decision {
    if (actor.kind === "console") {
      if (permission !== "read" && this.config.values.console.read_only)
        return { allowed: false, reason: "the console is read-only ([console] read_only or --read-only)" };
      return { allowed: true, reason: "console operator" };
    }
    return this.permissions.check(actor.userId, actor.roomId, permission);
  }

  /**
   * Whether a command may run for this actor, by the permission it declares. Every command is counted; a refusal is
   * logged and audited (with the alias typed, if any).
   */
  async admitCommand(actor: Actor, command: string, permission: Permission, alias?: string): Promise<Decision> {
    const d = this.authorize(actor, permission);
    this.counters.commands++;
    if (d.allowed) {
      // Arguments are not logged: survey answers may be secrets the redactor does not know.
      this.logger.log("info", "commands", `${actorName(actor)} ran ${command}${actor.kind === "chat" ? ` in ${actor.roomId}` : ""}`);
      return d;
    }
    this.counters.refused++;
    this.logger.log("warn", "commands", `refused ${command} for ${actorName(actor)}: ${d.reason}`);
    await this.audit.record(actor, command, "refused", { detail: d.reason, params: alias ? { alias } : undefined });
    return d;
  }

  require(actor: Actor, permission: Permission, what: string): void {
    const d = this.authorize(actor, permission);
    if (!d.allowed) {
      this.counters.refused++;
      this.log.warn(`refused ${what} for ${actorName(actor)}: ${d.reason}`);
      void this.audit.record(actor, what, "refused", { detail: d.reason });
      throw new OperationError(`Not allowed to ${what}: ${d.reason}.`, "denied");
    }
  }

  /**
   * Liveness of the bot and reachability of Semaphore, with the round-trip time. Answers within about a second even
   * when Semaphore hangs: a short probe, and on failure what the tracker knows (websocket up or down, since when).
   */
  async ping(actor: Actor): Promise<{ semaphore: { ok: boolean; ms?: number; error?: string } }> {
    this.require(actor, "read", "ping");
    if (!this.semaphore) return { semaphore: { ok: false, error: "Semaphore is not configured" } };
    const t0 = performance.now();
    const probe = this.semaphore.ping({ timeoutMs: PING_PROBE_MS });
    let timer: NodeJS.Timeout | undefined;
    // The race also covers a wait for a free request slot (all taken by requests stuck on a hung server).
    const late = new Promise<"late">((r) => {
      timer = setTimeout(() => r("late"), PING_PROBE_MS);
    });
    let failure: unknown = "late";
    try {
      if ((await Promise.race([probe, late])) !== "late") return { semaphore: { ok: true, ms: Math.round(performance.now() - t0) } };
      probe.catch(() => undefined);
    } catch (e) {
      failure = e;
    } finally {
      clearTimeout(timer);
    }
    const known = this.tracker?.describe();
    if (failure !== "late" && (failure as { kind?: string }).kind !== "timeout") {
      return { semaphore: { ok: false, error: `${userMessage(failure)}${known ? ` (${known})` : ""}` } };
    }
    const what = `Semaphore at ${this.semaphore.baseUrl} gave no answer to GET /api/ping within ${PING_PROBE_MS / 1000} s`;
    return { semaphore: { ok: false, error: `${what}${known ? `; ${known}` : ""}. Check that it is running and not overloaded.` } };
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
    if (!/^[!#][^:\s]+:\S+$/.test(room))
      throw new OperationError(`${JSON.stringify(room)} is not a room ID or alias (expected !id:server or #alias:server).`, "bad_input");
    let id: string;
    try {
      id = await this.chat.join(room);
    } catch (e) {
      await this.audit.record(actor, "join room", "failed", { params: { room }, detail: userMessage(e) });
      throw new OperationError(`Could not join ${room}: ${userMessage(e)}`, "failed");
    }
    await this.audit.record(actor, "join room", "ok", { params: { room, roomId: id } });
    this.log.info(`${actorName(actor)} made the bot join ${room}`);
    return id;
  }

  async leaveRoom(actor: Actor, roomId: string): Promise<void> {
    this.require(actor, "admin", "leave rooms");
    if (!this.chat) throw new OperationError("Matrix is not configured.", "unavailable");
    try {
      await this.chat.leave(roomId);
    } catch (e) {
      await this.audit.record(actor, "leave room", "failed", { params: { roomId }, detail: userMessage(e) });
      throw new OperationError(`Could not leave ${roomId}: ${userMessage(e)}`, "failed");
    }
    await this.audit.record(actor, "leave room", "ok", { params: { roomId } });
    this.store.removeRoom(roomId);
    this.log.info(`${actorName(actor)} made the bot leave ${roomId}`);
  }

  /**
   * Leaves a room given as `here`, an id, or an alias as the homeserver directory resolves it, and forgets its
   * settings; returns its id. `listHint` names how to list the rooms, for the messages.
   */
  async partRoom(actor: Actor, ref: string, listHint = "rooms"): Promise<string> {
    this.require(actor, "admin", "leave rooms");
    let id: string | undefined;
    if (ref.toLowerCase() === "here" && actor.kind === "chat") id = actor.roomId;
    else if (ref.startsWith("!")) id = ref;
    // A room's own alias state can lie: only the directory's answer counts.
    else if (ref.startsWith("#")) id = this.permissions.roomIdOf(ref) ?? (await this.chat?.resolveAlias?.(ref).catch(() => undefined));
    if (!id) throw new OperationError(`The bot is not in a room called ${JSON.stringify(ref.slice(0, 80))}. See ${listHint}.`, "bad_input");
    if (!this.store.rooms.has(id)) throw new OperationError(`The bot is not in ${id}. See ${listHint}.`, "bad_input");
    await this.leaveRoom(actor, id);
    await this.roomSettings.forgetRoom(id);
    return id;
  }

  /** Task output in the cards' threads of the actor's room, on or off. */
  async setRoomLog(actor: Actor, on: boolean): Promise<void> {
    if (actor.kind !== "chat") throw new OperationError("log on/off is a setting of a Matrix room; the console shows output in its task view.", "bad_input");
    this.require(actor, "run", "change this room's log setting");
    await this.roomSettings.setLog(actor.roomId, on);
    await this.audit.record(actor, `log ${on ? "on" : "off"}`, "ok");
  }

  /** Adds (or replaces) a command alias; `prefix` is only for the messages. */
  /** Adds or replaces a command alias; the commands it returns (and audits) have their secrets masked. */
  async addAlias(actor: Actor, name: string, command: string, prefix?: string): Promise<{ shown: string; replaced?: string }> {
    this.require(actor, "admin", "add aliases");
    try {
      const { shown, replaced } = await this.aliases.add(name, command, prefix);
      await this.audit.record(actor, "aliases add", "ok", { params: { alias: name, command: shown, replaced } });
      return { shown, replaced };
    } catch (e) {
      if (e instanceof AliasError) throw new OperationError(`Cannot add alias ${JSON.stringify(name.slice(0, 40))}: ${e.message}.`, "bad_input");
      throw e;
    }
  }

  /** Removes a command alias; false when there was none. */
  async removeAlias(actor: Actor, name: string): Promise<boolean> {
    this.require(actor, "admin", "remove aliases");
    const removed = await this.aliases.remove(name).catch((e: unknown) => {
      throw new OperationError((e as Error).message, "failed");
    });
    if (removed) await this.audit.record(actor, "aliases remove", "ok", { params: { alias: name } });
    return removed;
  }

  /**
   * A run, stop or exit prompt answered no (or timed out, or replaced): nothing happens, and the audit says so the
   * same way from chat and from the console.
   */
  async cancelPrompt(actor: Actor, target: PromptTarget): Promise<void> {
    if (target.kind === "run") {
      await this.audit.record(actor, "run", "cancelled", { projectId: target.run.project.id, params: maskedRunParams(target.run) });
    } else if (target.kind === "stop") {
      await this.audit.record(actor, target.force ? "stop --force" : "stop", "cancelled", { projectId: target.task.projectId, taskId: target.task.taskId });
    } else await this.audit.record(actor, "exit", "cancelled");
  }

  /** The confirmed `exit`: audited, then the bot shuts down after `delayMs` (so a goodbye can be sent first). */
  async exit(actor: Actor, delayMs = 0): Promise<void> {
    this.require(actor, "admin", "shut the bot down");
    await this.audit.record(actor, "exit", "ok");
    setTimeout(() => {
      try {
        this.shutdown(actor, "exit command");
      } catch {
        /* refused: already audited */
      }
    }, delayMs);
  }

  /**
   * Re-reads the config file and applies it: the one reload, whatever asked for it (the file was saved, SIGHUP, the
   * console's R). An invalid file changes nothing. Its problems are logged and returned.
   */
  reloadConfig(actor: Actor): { ok: boolean; problems: string[] } {
    this.require(actor, "admin", "reload the configuration");
    if (!this.deps.reload) throw new OperationError("This instance has no config file to reload.", "unavailable");
    const next = this.deps.reload();
    const problems = next.issues.map(formatIssue);
    if (!next.ok) {
      this.log.error(`config reload refused, keeping the running config: ${problems.filter((p) => p.startsWith("error")).join("; ")}`);
      return { ok: false, problems };
    }
    const before = this.config.values;
    this.config = next;
    this.permissions.update(next.values, next.rooms);
    if (this.chat) void this.resolveRoomAliases();
    this.logger.redactor.add(...next.secrets);
    this.logger.level = next.values.bot.log_level;
    // A new Semaphore token (the old one was revoked) takes effect now; the connection itself needs a restart.
    if (next.values.semaphore.api_token !== before.semaphore.api_token && this.semaphore) {
      this.semaphore.setToken(next.values.semaphore.api_token);
      this.tracker?.reconnect();
      this.log.info("[semaphore] api_token changed: reconnecting with the new token");
    }
    const restartKeys = Object.entries(SCHEMA).flatMap(([section, keys]) =>
      Object.entries(keys as Record<string, KeyDef>)
        .filter(([key, def]) => def.restart && String((before as any)[section][key]) !== String((next.values as any)[section][key]))
        .map(([key]) => [section, key] as const),
    );
    for (const [section, key] of restartKeys) problems.push(`warning: [${section}] ${key} changed; it takes effect after a restart`);
    for (const p of problems) this.log.warn(p);
    const later = restartKeys.map(([s, k]) => `[${s}] ${k}`).join(", ");
    this.log.info(`config reloaded from ${next.path ?? "defaults"}${later ? `; after a restart: ${later}` : ""}`);
    return { ok: true, problems };
  }

  // ---- device verification (SAS) ----

  private verificationPort(): VerificationPort {
    const v = this.chat?.verification;
    if (!v)
      throw new OperationError(
        this.chat ? "Encryption is off ([matrix] encryption = false), so there is nothing to verify." : "Matrix is not configured.",
        "unavailable",
      );
    return v;
  }

  /** Devices of the given users (default: the members of the actor's room, and the bot's own other devices). */
  async verificationDevices(actor: Actor, userIds?: string[]): Promise<DeviceTrust[]> {
    this.require(actor, "admin", "verify devices");
    const port = this.verificationPort();
    const me = this.store.crypto.deviceId ? this.chat?.describe?.().userId : undefined;
    const users = userIds ?? [...new Set([...(actor.kind === "chat" ? (this.chat?.members?.(actor.roomId) ?? []) : []), ...(me ? [me] : [])])];
    return port.devices(users);
  }

  /** Asks another device for a SAS verification; its emoji are shown to the actor, who alone confirms. */
  async startVerification(actor: Actor, userId: string, deviceId: string): Promise<VerificationState> {
    this.require(actor, "admin", "verify devices");
    const state = await this.verificationPort().start(actor, userId, deviceId);
    await this.audit.record(actor, "verify start", "ok", { params: { userId, deviceId, id: state.id } });
    return state;
  }

  /**
   * The answer to a verification's emoji comparison: match confirms (the device becomes verified once the other
   * side confirms too), no match cancels it as a mismatch. Chat-started verifications are answered only by the admin
   * who started them; the others (incoming requests, console-started) only at the console.
   */
  async confirmVerification(actor: Actor, id: string, match: boolean): Promise<void> {
    this.require(actor, "admin", "verify devices");
    const port = this.verificationPort();
    const v = port.get(id);
    if (!v) throw new OperationError(`There is no verification ${id}.`, "bad_input");
    if (!mayAnswerVerification(actor, v)) {
      const who = v.origin === "chat" ? `${v.owner}, who started it,` : "the operator at the console";
      void this.audit.record(actor, "verify confirm", "refused", { params: { id }, detail: `only ${who} may answer` });
      throw new OperationError(`Only ${who} can answer verification ${id}.`, "denied");
    }
    await port.confirm(id, match);
    await this.audit.record(actor, match ? "verify confirm" : "verify mismatch", "ok", { params: { id, userId: v.otherUserId, deviceId: v.otherDeviceId } });
  }

  async cancelVerification(actor: Actor, id: string): Promise<void> {
    this.require(actor, "admin", "verify devices");
    const port = this.verificationPort();
    const v = port.get(id);
    if (!v) throw new OperationError(`There is no verification ${id}.`, "bad_input");
    if (v.origin === "chat" && actor.kind === "chat" && actor.userId !== v.owner)
      throw new OperationError(`Only ${v.owner}, who started it, can cancel verification ${id}.`, "denied");
    await port.cancel(id);
    await this.audit.record(actor, "verify cancel", "ok", { params: { id } });
  }

  /** Device verifications in progress. */
  pendingVerifications(actor: Actor): VerificationState[] {
    this.require(actor, "admin", "verify devices");
    return this.store.activeVerifications();
  }

  /** Set by an interactive Matrix login (SSO) while it waits for the operator's token. */
  loginPromptHandler?: (text: string) => void;

  /**
   * The operator's answer to a waiting SSO login: the login token, or the URL the browser was redirected to.
   * Console only. Returns false when no login is waiting.
   */
  answerLoginPrompt(actor: Actor, text: string): boolean {
    if (actor.kind !== "console") throw new OperationError("Only the operator at the console can answer the login prompt.", "denied");
    const handler = this.loginPromptHandler;
    if (!handler) return false;
    handler(text);
    return true;
  }

  shutdown(actor: Actor, reason: string): void {
    this.require(actor, "admin", "shut the bot down");
    this.log.warn(`shutdown requested by ${actorName(actor)}: ${reason}`);
    this.deps.requestShutdown?.(reason);
  }
}
