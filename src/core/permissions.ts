import type { ConfigValues, RoomPolicy } from "../config/schema.js";

/** What a command or operation needs: read, run, stop or approve in a room (its section), or admin anywhere. */
export type Permission = "read" | "run" | "stop" | "approve" | "admin";

export interface Decision {
  allowed: boolean;
  reason: string;
}

const listed = (list: readonly string[], user: string) => list.includes("*") || list.includes(user);

/** True when no Matrix user may use the bot at all (both user lists empty): only the console can. For check-config. */
export function nobodyMayUseTheBot(config: ConfigValues): boolean {
  return config.bot.admin_users.length === 0 && config.bot.allowed_users.length === 0;
}

/**
 * Who may do what where. admin_users may do everything everywhere. Elsewhere the room's policy section decides;
 * rooms without one get [bot] default_room_access for commands and [bot] default_room_projects for projects.
 * Empty user lists mean nobody (fail closed). Room aliases in the config count only once the homeserver's
 * directory has resolved them to a room id (setResolvedAliases): a room's own alias state can be forged.
 */
export class Permissions {
  /** Configured alias → room id, from the homeserver directory. */
  private resolved = new Map<string, string>();

  constructor(
    private config: ConfigValues,
    private rooms: RoomPolicy[],
  ) {}

  /** A new config keeps the resolutions of aliases it still names, until they are resolved again. */
  update(config: ConfigValues, rooms: RoomPolicy[]): void {
    this.config = config;
    this.rooms = rooms;
    const still = new Set(this.configuredAliases());
    for (const alias of [...this.resolved.keys()]) if (!still.has(alias)) this.resolved.delete(alias);
  }

  /** Every room alias the config refers to (room sections, allowed_rooms, greeting_rooms). */
  configuredAliases(): string[] {
    const refs = [...this.rooms.map((r) => r.room), ...this.config.bot.allowed_rooms, ...this.config.bot.greeting_rooms];
    return [...new Set(refs.filter((r) => r.startsWith("#")))];
  }

  setResolvedAliases(resolved: ReadonlyMap<string, string>): void {
    this.resolved = new Map(resolved);
  }

  /** The room id a configured room reference stands for: itself for ids, the directory's answer for aliases. */
  roomIdOf(ref: string): string | undefined {
    return ref.startsWith("#") ? this.resolved.get(ref) : ref;
  }

  private matches(ref: string, roomId: string): boolean {
    return this.roomIdOf(ref) === roomId;
  }

  isAdmin(user: string): boolean {
    return this.config.bot.admin_users.includes(user);
  }

  /** May this user talk to the bot at all, and invite it? Empty lists: nobody. */
  isAllowedUser(user: string): boolean {
    const { admin_users, allowed_users } = this.config.bot;
    return admin_users.includes(user) || allowed_users.includes(user);
  }

  isAllowedRoom(roomId: string): boolean {
    const allowed = this.config.bot.allowed_rooms;
    return allowed.length === 0 || allowed.some((ref) => this.matches(ref, roomId));
  }

  /** The room's section: one keyed by its id first, else one keyed by an alias the directory resolved to it. */
  policy(roomId: string): RoomPolicy | undefined {
    return this.rooms.find((r) => r.room === roomId) ?? this.rooms.find((r) => r.room.startsWith("#") && this.matches(r.room, roomId));
  }

  /** The projects a room may see: its section's list, or [bot] default_room_projects (empty: none) without one. */
  roomProjects(roomId: string): readonly string[] {
    return this.policy(roomId)?.projects ?? this.config.bot.default_room_projects;
  }

  /** The templates a room may run: its section's list; without one, any template of the projects it may see. */
  roomTemplates(roomId: string): readonly string[] {
    return this.policy(roomId)?.templates ?? ["*"];
  }

  /** Room policy lists of projects/templates: `*`, ids or names (case-insensitive). Undefined: unrestricted. */
  allows(list: readonly string[] | undefined, id: number, name?: string): boolean {
    if (!list) return true;
    return list.some((x) => x === "*" || x === String(id) || (name !== undefined && x.toLowerCase() === name.toLowerCase()));
  }

  check(user: string, roomId: string | undefined, permission: Permission): Decision {
    if (this.isAdmin(user)) return { allowed: true, reason: "admin" };
    if (permission === "admin") return { allowed: false, reason: `only admin_users may do this, and ${user} is not one` };
    if (!this.isAllowedUser(user)) return { allowed: false, reason: `${user} is not in [bot] allowed_users` };
    if (roomId === undefined) return { allowed: false, reason: "no room given" };
    const policy = this.policy(roomId);
    if (!policy) {
      if (permission === "read" && this.config.bot.default_room_access === "read")
        return { allowed: true, reason: "read-only command in a room without a policy" };
      return {
        allowed: false,
        reason:
          `this room has no [room "${roomId}"] section` +
          (this.config.bot.default_room_access === "read" ? ", so only read-only commands are allowed here" : ""),
      };
    }
    const list = policy[permission];
    return listed(list, user)
      ? { allowed: true, reason: `listed in ${permission} for this room` }
      : { allowed: false, reason: `${user} is not in ${permission} for this room` };
  }
}

/**
 * Answers a refused stranger at most once per window, so a flood of commands from users the bot does not serve
 * cannot make it send (or audit) a line each. Bounded: when the map is full of fresh entries, new users get no answer.
 */
export class RefusalLimiter {
  private readonly last = new Map<string, number>();
  now: () => number = Date.now;
  private readonly windowMs: number;
  private readonly maxEntries: number;

  constructor(opts: { windowMs?: number; maxEntries?: number } = {}) {
    this.windowMs = opts.windowMs ?? 5 * 60_000;
    this.maxEntries = opts.maxEntries ?? 1000;
  }

  get size(): number {
    return this.last.size;
  }

  /** True the first time per window for this user (the caller answers and audits); false: stay silent. */
  shouldAnswer(user: string): boolean {
    const now = this.now();
    const at = this.last.get(user);
    if (at !== undefined && now - at < this.windowMs) return false;
    this.last.delete(user);
    if (this.last.size >= this.maxEntries) {
      for (const [u, t] of this.last) if (now - t >= this.windowMs) this.last.delete(u);
      if (this.last.size >= this.maxEntries) return false;
    }
    this.last.set(user, now);
    return true;
  }
}
