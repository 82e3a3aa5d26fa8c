// Rooms: the Matrix rooms the bot is in, whether they are encrypted and how many member devices the bot has
// verified, their size, last activity, and what the room's policy lets it do. Above the list, one or two lines on
// the bot's own encryption: on or off, its device, cross-signing, messages it could not decrypt.
import type blessed from "blessed";
import type { ViewContext } from "../context.js";
import type { CryptoState, RoomState } from "../../src/core/store.js";
import { Panel, type MouseEvent, type Nav } from "./panel.js";
import { ListView, navList, listMouse } from "../widgets/list-view.js";
import { ago, esc, sanitize, truncate, width as strWidth } from "../text.js";
import { tag, type Theme } from "../theme.js";

/** "🔒 1/3" (verified of the members' devices), "🔒" before the bot knows, "no" for unencrypted rooms. */
export function trustCell(r: RoomState): string {
  if (!r.encrypted) return "no";
  return r.trust ? `🔒 ${r.trust.verified}/${r.trust.devices}` : "🔒";
}

function trustStyle(r: RoomState, t: Theme): string {
  if (!r.encrypted) return t.text.warn;
  // Every device verified: green; some unverified (normal until someone compares emoji): plain.
  return r.trust && r.trust.devices > 0 && r.trust.verified === r.trust.devices ? t.text.ok : t.text.info;
}

/** The bot's encryption as parts, most important first: [plain, style]. */
export function cryptoParts(c: CryptoState, matrix: string): Array<[string, keyof Theme["text"]]> {
  // Encryption is set up after the login: until then "off" would be wrong.
  if (!c.enabled)
    return c.detail ? [[`E2E off: ${c.detail}`, "warn"]] : [[matrix === "starting" ? "E2E starting…" : "E2E off", matrix === "starting" ? "dim" : "warn"]];
  const parts: Array<[string, keyof Theme["text"]]> = [["E2E on", "ok"]];
  if (c.deviceId) parts.push([`device ${c.deviceId}`, "title"]);
  if (c.crossSigning !== undefined) parts.push([c.crossSigning ? "cross-signing on" : "cross-signing off", c.crossSigning ? "ok" : "dim"]);
  if (c.undecryptable > 0)
    parts.push([`${c.undecryptable} undecryptable${c.waitingForKeys ? ` (${c.waitingForKeys} waiting for keys)` : ""}`, c.waitingForKeys ? "warn" : "dim"]);
  return parts;
}

export class RoomsPanel extends Panel {
  readonly list: ListView<RoomState>;

  constructor(ctx: ViewContext, parent: blessed.Widgets.Node) {
    super(ctx, "rooms", parent);
    this.list = new ListView<RoomState>({
      key: (r) => r.roomId,
      filterText: (r) => `${r.name} ${r.roomId} ${r.abilities ?? ""}`,
      empty: () => this.emptyText(),
      columns: [
        { title: "Room", width: 12, flex: 3, priority: 9, value: (r) => r.name || r.roomId },
        { title: "E2E", width: 7, priority: 6, value: trustCell, style: trustStyle },
        { title: "Users", width: 5, priority: 4, align: "right", value: (r) => String(r.members) },
        { title: "Active", width: 8, priority: 5, value: (r, now) => ago(r.lastActivity, now) },
        { title: "May do", width: 10, flex: 2, priority: 3, value: (r) => r.abilities ?? "-", style: (_r, t) => t.text.dim },
      ],
    });
    const store = ctx.app.store;
    const refresh = () => {
      this.refresh();
      this.markDirty();
    };
    store.on("room", refresh);
    store.on("roomRemoved", refresh);
    store.on("connection", () => this.markDirty());
    store.on("crypto", () => this.markDirty());
    this.refresh();
  }

  /** Rows above the list (the bot's encryption), so mouse rows can be mapped to list rows. */
  private infoRows = 0;

  /** The bot's encryption packed into at most two lines of `width` cells. */
  infoLines(width: number): string[] {
    const store = this.ctx.app.store;
    const m = store.connection.matrix;
    if (m === "not_configured") return [];
    const t = this.ctx.theme();
    const sep = " · ";
    const lines: string[] = [];
    let line = "";
    let used = 0;
    for (const [part, style] of cryptoParts(store.crypto, m)) {
      const plain = sanitize(part); // details and device ids come from the homeserver
      const w = strWidth(plain);
      if (used && used + sep.length + w > width) {
        lines.push(line);
        if (lines.length === 2) return lines;
        line = "";
        used = 0;
      }
      const text = truncate(plain, width - used - (used ? sep.length : 0));
      line += (used ? tag(t.text.dim, sep) : "") + tag(t.text[style], esc(text));
      used += (used ? sep.length : 0) + strWidth(text);
    }
    if (line) lines.push(line);
    return lines.slice(0, 2);
  }

  private emptyText(): string {
    const c = this.ctx.app.store.connection;
    if (c.matrix === "not_configured")
      return [
        "Matrix is not configured, so the bot is in no rooms.",
        "Set [matrix] homeserver, user_id and a password or",
        "access token to serve chat rooms. The console works",
        "without it.",
      ].join("\n");
    if (c.matrix === "starting" || c.matrix === "catching_up") return "Connecting to Matrix…";
    if (c.matrix === "error") return `Matrix: ${c.matrixDetail ?? "error"}`;
    return this.ctx.readOnly() ? "The bot is in no rooms yet." : "The bot is in no rooms yet. Invite it, or press J to join one.";
  }

  refresh(): void {
    const rooms = [...this.ctx.app.store.rooms.values()].sort((a, b) => (b.lastActivity ?? 0) - (a.lastActivity ?? 0) || a.name.localeCompare(b.name));
    this.list.setRows(rooms);
  }

  get selected(): RoomState | undefined {
    return this.list.selected;
  }

  protected summary(): string {
    const n = this.list.rows.length;
    return n ? this.list.position() : "";
  }

  protected draw(width: number, height: number): string[] {
    const info = height > 4 ? this.infoLines(width) : [];
    this.infoRows = info.length;
    return [...info, ...this.list.render(width, height - info.length, this.focused, this.ctx.theme(), this.ctx.now())];
  }

  /** Called every second: "last active" times move. */
  tick(): void {
    if (this.list.rows.length) this.markDirty();
  }

  nav(n: Nav): void {
    navList(this.list, n);
    this.markDirty();
  }

  setFilter(text: string): void {
    this.filterText = text;
    this.list.setFilter(text);
    this.markDirty();
  }

  mouse(ev: MouseEvent, _x: number, y: number, double: boolean): boolean {
    return listMouse(this.list, ev, y - this.infoRows, double, () => this.activate?.()) && (this.markDirty(), true);
  }

  onActivate?: (room: RoomState) => void;
  override activate(): void {
    const r = this.selected;
    if (r) this.onActivate?.(r);
  }
}
