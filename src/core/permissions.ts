import type { ConfigValues, RoomPolicy } from "../config/schema.js";
import type { Permission } from "../commands/types.js";

export interface Decision { allowed: boolean; reason: string }

const listed = (list: readonly string[], user: string) => list.includes("*") || list.includes(user);

/**
 * Who may do what where. admin_users may do everything everywhere. Elsewhere the room's policy section decides;
 * rooms without one allow read-only commands to allowed users only.
 */
export class Permissions {
  constructor(private config: ConfigValues, private rooms: RoomPolicy[]) {}

  update(config: ConfigValues, rooms: RoomPolicy[]): void { this.config = config; this.rooms = rooms; }

  isAdmin(user: string): boolean { return this.config.bot.admin_users.includes(user); }

  /** May this user talk to the bot at all, and invite it? */
  isAllowedUser(user: string): boolean {
    const { admin_users, allowed_users } = this.config.bot;
    if (admin_users.length === 0 && allowed_users.length === 0) return true;
    return admin_users.includes(user) || allowed_users.includes(user);
  }

  isAllowedRoom(roomId: string, aliases: string[] = []): boolean {
    const allowed = this.config.bot.allowed_rooms;
    return allowed.length === 0 || allowed.includes(roomId) || aliases.some((a) => allowed.includes(a));
  }

  policy(roomId: string, aliases: string[] = []): RoomPolicy | undefined {
    return this.rooms.find((r) => r.room === roomId || aliases.includes(r.room));
  }

  /** Room policy lists of projects/templates: `*`, ids or names (case-insensitive). No policy: everything visible. */
  allows(list: readonly string[] | undefined, id: number, name?: string): boolean {
    if (!list) return true;
    return list.some((x) => x === "*" || x === String(id) || (name !== undefined && x.toLowerCase() === name.toLowerCase()));
  }

  check(user: string, roomId: string | undefined, permission: Permission, aliases: string[] = []): Decision {
    if (this.isAdmin(user)) return { allowed: true, reason: "admin" };
    if (permission === "admin") return { allowed: false, reason: `only admin_users may do this, and ${user} is not one` };
    if (!this.isAllowedUser(user)) return { allowed: false, reason: `${user} is not in [bot] allowed_users` };
    if (roomId === undefined) return { allowed: false, reason: "no room given" };
    const policy = this.policy(roomId, aliases);
    if (!policy) {
      if (permission === "read" && this.config.bot.default_room_access === "read") return { allowed: true, reason: "read-only command in a room without a policy" };
      return { allowed: false, reason: `this room has no [room "${roomId}"] section${this.config.bot.default_room_access === "read" ? ", so only read-only commands are allowed here" : ""}` };
    }
    const list = policy[permission];
    return listed(list, user) ? { allowed: true, reason: `listed in ${permission} for this room` } : { allowed: false, reason: `${user} is not in ${permission} for this room` };
  }
}
