// Config: the effective configuration, secrets masked, and where each value came from (file and line,
// environment variable, secret file, default), with the reload state and the last error.
import type blessed from "blessed";
import type { ViewContext } from "../context.js";
import type { LoadedConfig } from "../../src/config/load.js";
import { maskSecret, formatIssue } from "../../src/config/load.js";
import { SCHEMA, ROOM_SCHEMA, envName, type KeyDef } from "../../src/config/schema.js";
import type { LogEntry } from "../../src/log/logger.js";
import { Panel, type MouseEvent, type Nav } from "./panel.js";
import { ListView, navList, listMouse } from "../widgets/list-view.js";
import { clock, esc, fit, sanitize } from "../text.js";
import { tag } from "../theme.js";

export interface ConfigRow {
  id: string;
  section: string;
  key: string;
  value: string;
  /** Short, for the table: "file:12", "env", "default", "secret file". */
  source: string;
  /** Full: "env CHATRIXCD_BOT_LOG_LEVEL", "secret file /etc/chatrixcd/token". */
  sourceLong: string;
  def?: KeyDef;
  room?: boolean;
  /** A section heading row ("[matrix]"). */
  heading?: boolean;
}

export interface ReloadState {
  time: number;
  ok: boolean;
  message: string;
}

function show(v: unknown, def: KeyDef | undefined): string {
  if (def?.secret) return typeof v === "string" && v ? maskSecret(v) : "(not set)";
  if (Array.isArray(v)) return v.length ? v.join(", ") : "(none)";
  if (v === "") return "(empty)";
  return String(v);
}

export function configRows(cfg: LoadedConfig): ConfigRow[] {
  const rows: ConfigRow[] = [];
  for (const [section, keys] of Object.entries(SCHEMA) as Array<[string, Record<string, KeyDef>]>) {
    rows.push({ id: `[${section}]`, section, key: "", value: "", source: "", sourceLong: "", heading: true });
    for (const [key, def] of Object.entries(keys)) {
      const id = `${section}.${key}`;
      const src = cfg.sources[id];
      const value = (cfg.values as unknown as Record<string, Record<string, unknown>>)[section]?.[key];
      const raw: string = src?.source ?? "default";
      let source = raw;
      let sourceLong = raw;
      if (raw === "file") source = sourceLong = `file${src?.line ? `:${src.line}` : ""}`;
      else if (raw === "env") sourceLong = `env ${envName(section, key)}`;
      else if (raw.startsWith("secret file")) {
        source = "secret file";
        sourceLong = `${raw}${src?.line ? ` (named at line ${src.line})` : ""}`;
      }
      rows.push({ id, section, key, value: show(value, def), source, sourceLong, def });
    }
  }
  for (const room of cfg.rooms) {
    rows.push({ id: `[room "${room.room}"]`, section: `room "${room.room}"`, key: "", value: "", source: "", sourceLong: "", heading: true, room: true });
    for (const [key, def] of Object.entries(ROOM_SCHEMA) as Array<[string, KeyDef]>) {
      const v = (room as unknown as Record<string, unknown>)[key];
      rows.push({
        id: `room "${room.room}".${key}`,
        section: `room "${room.room}"`,
        key,
        value: show(v, def),
        source: "file",
        sourceLong: "file",
        def,
        room: true,
      });
    }
  }
  return rows;
}

export class ConfigPanel extends Panel {
  readonly list: ListView<ConfigRow>;
  reload?: ReloadState;
  private shownConfig?: LoadedConfig;
  onActivate?: (row: ConfigRow) => void;

  constructor(ctx: ViewContext, parent: blessed.Widgets.Node) {
    super(ctx, "config", parent);
    this.list = new ListView<ConfigRow>({
      key: (r) => r.id,
      filterText: (r) => (r.heading ? `[${r.section}]` : `${r.section}.${r.key} ${r.value} ${r.source}`),
      columns: [
        {
          title: "Key",
          width: 14,
          flex: 2,
          priority: 9,
          value: (r) => (r.heading ? `[${r.section}]` : this.filterText ? `${r.room ? `[${r.section}] ` : `${r.section}.`}${r.key}` : `  ${r.key}`),
          style: (r, t) => (r.heading ? t.text.heading : ""),
        },
        {
          title: "Value",
          width: 10,
          flex: 3,
          priority: 8,
          value: (r) => r.value,
          style: (r, t) => (r.def?.secret ? t.text.accent : r.source === "default" ? t.text.dim : ""),
        },
        {
          title: "From",
          width: 11,
          priority: 5,
          value: (r) => r.source,
          style: (r, t) => (r.source === "default" ? t.text.dim : r.source.startsWith("env") ? t.text.warn : t.text.info),
        },
      ],
    });
    // Reloads from anywhere (chat, file watcher, this console) are logged by the operations.
    ctx.app.logger.on("entry", (e: LogEntry) => {
      if (e.source !== "ops" || !/^config reload/.test(e.message)) return;
      this.reload = { time: e.time, ok: e.level !== "error", message: e.message };
      this.markDirty();
    });
    this.refresh();
  }

  private get cfg(): LoadedConfig {
    return this.ctx.app.ops.config;
  }

  refresh(): void {
    this.shownConfig = this.cfg;
    this.list.setRows(configRows(this.cfg));
  }

  setReload(r: ReloadState): void {
    this.reload = r;
    this.markDirty();
  }

  get selected(): ConfigRow | undefined {
    return this.list.selected;
  }

  protected summary(): string {
    return this.list.position();
  }

  private infoLines(width: number): string[] {
    const t = this.ctx.theme();
    const cfg = this.cfg;
    const lines: string[] = [];
    const file = cfg.path ?? "no file (defaults and environment)";
    lines.push(`${tag(t.text.dim, "file")} ${esc(fit(sanitize(file), width - 5))}`);
    const issues = cfg.issues.length;
    let state: string;
    if (this.reload) {
      state = this.reload.ok
        ? tag(t.text.ok, esc(fit(`reloaded ${clock(new Date(this.reload.time))}`, width - 7)))
        : tag(t.text.bad, esc(fit(sanitize(`reload refused ${clock(new Date(this.reload.time))}: ${this.reload.message}`), width - 7)));
    } else state = tag(t.text.dim, cfg.path ? "loaded at start" : "nothing to reload");
    lines.push(`${tag(t.text.dim, "state")} ${state}`);
    if (issues) {
      const last = cfg.issues.find((i) => i.severity === "error") ?? cfg.issues[cfg.issues.length - 1]!;
      const text = sanitize(`${issues} issue${issues > 1 ? "s" : ""}: ${formatIssue(last)}`);
      lines.push(tag(last.severity === "error" ? t.text.bad : t.text.warn, esc(fit(text, width))));
    }
    return lines;
  }

  protected draw(width: number, height: number): string[] {
    if (this.shownConfig !== this.cfg) this.refresh();
    const info = this.infoLines(width);
    const body = this.list.render(width, Math.max(1, height - info.length), this.focused, this.ctx.theme(), this.ctx.now());
    return [...info, ...body];
  }

  private get infoHeight(): number {
    return 2 + (this.cfg.issues.length ? 1 : 0);
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

  override activate(): void {
    const r = this.selected;
    if (r) this.onActivate?.(r);
  }

  mouse(ev: MouseEvent, _x: number, y: number, double: boolean): boolean {
    const r = listMouse(this.list, ev, y - this.infoHeight, double, () => this.activate());
    if (r) this.markDirty();
    return r;
  }

  /** A key's documentation, for Enter on a row. */
  static describe(r: ConfigRow, cfg?: LoadedConfig): string[] {
    if (r.heading) {
      const rows = cfg ? configRows(cfg).filter((x) => x.section === r.section && !x.heading) : [];
      return [`[${r.section}]`, "", ...rows.map((x) => `${x.key.padEnd(24)} ${x.value}  (${x.sourceLong})`), "", "Enter on a key explains it."];
    }
    const lines = [`[${r.section}] ${r.key}`, ""];
    if (r.def) lines.push(r.def.doc, "");
    lines.push(`Value:  ${r.value}`, `From:   ${r.sourceLong}`);
    if (r.def && !r.room) {
      lines.push(`Env:    ${envName(r.section, r.key)}${r.def.fileVariant ? ` (or ${envName(r.section, `${r.key}_file`)})` : ""}`);
      const d = r.def.default;
      lines.push(`Default: ${Array.isArray(d) ? d.join(", ") || "(none)" : d === "" ? "(empty)" : String(d)}`);
      if (r.def.values) lines.push(`Allowed: ${r.def.values.join(", ")}`);
      if (r.def.min !== undefined) lines.push(`Range:  ${r.def.min} to ${r.def.max}`);
    }
    if (r.def?.secret) lines.push("", "Secrets are masked here and in the log.");
    return lines;
  }
}
