// Rooms: the Matrix rooms the bot is in, whether they are encrypted, their size, last activity, and what the
// room's policy lets it do.
import type blessed from "blessed";
import type { ViewContext } from "./context.js";
import type { RoomState } from "../src/core/store.js";
import { Panel, type MouseEvent, type Nav } from "./panel.js";
import { ListView } from "./list-view.js";
import { ago, sanitize } from "./text.js";

export class RoomsPanel extends Panel {
  readonly list: ListView<RoomState>;

  constructor(ctx: ViewContext, parent: blessed.Widgets.Node) {
    super(ctx, "rooms", parent);
    this.list = new ListView<RoomState>({
      key: (r) => r.roomId,
      filterText: (r) => `${r.name} ${r.roomId} ${r.abilities ?? ""}`,
      empty: () => this.emptyText(),
      columns: [
        { title: "Room", width: 12, flex: 3, priority: 9, value: (r) => sanitize(r.name || r.roomId) },
        { title: "E2E", width: 3, priority: 6, value: (r) => (r.encrypted ? "yes" : "no"), style: (r, t) => (r.encrypted ? t.text.ok : t.text.warn) },
        { title: "Users", width: 5, priority: 4, align: "right", value: (r) => String(r.members) },
        { title: "Active", width: 8, priority: 5, value: (r, now) => ago(r.lastActivity, now) },
        { title: "May do", width: 10, flex: 2, priority: 3, value: (r) => sanitize(r.abilities ?? "-"), style: (_r, t) => t.text.dim },
      ],
    });
    const store = ctx.app.store;
    const refresh = () => { this.refresh(); this.markDirty(); };
    store.on("room", refresh);
    store.on("roomRemoved", refresh);
    store.on("connection", () => { if (store.rooms.size === 0) this.markDirty(); });
    this.refresh();
  }

  private emptyText(): string {
    const c = this.ctx.app.store.connection;
    if (c.matrix === "not_configured") return "Matrix is not configured, so the bot is in no rooms.\nSet [matrix] homeserver, user_id and a password or\naccess token to serve chat rooms. The console works\nwithout it.";
    if (c.matrix === "starting" || c.matrix === "catching_up") return "Connecting to Matrix…";
    if (c.matrix === "error") return `Matrix: ${c.matrixDetail ?? "error"}`;
    return this.ctx.readOnly() ? "The bot is in no rooms yet." : "The bot is in no rooms yet. Invite it, or press J to join one.";
  }

  refresh(): void {
    const rooms = [...this.ctx.app.store.rooms.values()].sort((a, b) => (b.lastActivity ?? 0) - (a.lastActivity ?? 0) || a.name.localeCompare(b.name));
    this.list.setRows(rooms);
  }

  get selected(): RoomState | undefined { return this.list.selected; }

  protected summary(): string {
    const n = this.list.rows.length;
    return n ? this.list.position() : "";
  }

  protected draw(width: number, height: number): string[] {
    return this.list.render(width, height, this.focused, this.ctx.theme(), this.ctx.now());
  }

  /** Called every second: "last active" times move. */
  tick(): void { if (this.list.rows.length) this.markDirty(); }

  nav(n: Nav): void { navList(this.list, n); this.markDirty(); }

  setFilter(text: string): void { this.filterText = text; this.list.setFilter(text); this.markDirty(); }

  mouse(ev: MouseEvent, _x: number, y: number, double: boolean): boolean {
    return listMouse(this.list, ev, y, double, () => this.activate?.()) && (this.markDirty(), true);
  }

  onActivate?: (room: RoomState) => void;
  override activate(): void { const r = this.selected; if (r) this.onActivate?.(r); }
}

/** The shared list navigation. */
export function navList<T>(list: ListView<T>, n: Nav): void {
  switch (n) {
    case "down": list.move(1); break;
    case "up": list.move(-1); break;
    case "top": list.home(); break;
    case "bottom": list.end(); break;
    case "pageDown": list.page(1); break;
    case "pageUp": list.page(-1); break;
    case "halfDown": list.page(1, 0.5); break;
    case "halfUp": list.page(-1, 0.5); break;
    default: break;
  }
}

/** Click selects, a second click (or double click) on the selected row activates, the wheel scrolls. */
export function listMouse<T>(list: ListView<T>, ev: MouseEvent, y: number, double: boolean, activate: () => void): boolean {
  if (ev.action === "wheelup") { list.scroll(-3); return true; }
  if (ev.action === "wheeldown") { list.scroll(3); return true; }
  if (ev.action !== "mousedown" || (ev.button && ev.button !== "left")) return false;
  const i = list.rowAt(y);
  if (i < 0) return true;
  const already = list.selectedIndex === i;
  list.select(i);
  if (double && already) activate();
  return true;
}
