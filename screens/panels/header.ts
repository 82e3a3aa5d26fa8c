// The top line: what the bot is connected to, whether it encrypts, whether the console may change anything, and
// the time.
import blessed from "blessed";
import type { ViewContext } from "../context.js";
import type { ConnectionState } from "../../src/core/store.js";
import { VERSION } from "../../src/version.js";
import { ago, clock, esc, sanitize, width } from "../text.js";
import { tag, type Theme } from "../theme.js";
import { sparkline } from "../widgets/sparkline.js"; // issue 14.11

const MATRIX_TEXT: Record<string, string> = {
  not_configured: "not configured",
  starting: "starting",
  syncing: "syncing",
  catching_up: "catching up",
  reconnecting: "reconnecting",
  error: "error",
  stopped: "stopped",
};

function matrixStyle(t: Theme, s: string): string {
  return s === "syncing" ? t.text.ok : s === "not_configured" || s === "stopped" ? t.text.dim : s === "error" ? t.text.bad : t.text.warn;
}

function semaphoreStyle(t: Theme, s: string): string {
  return s === "websocket" ? t.text.ok : s === "polling" ? t.text.warn : s === "down" ? t.text.bad : s === "not_configured" ? t.text.dim : t.text.warn;
}

export interface HeaderState {
  mouse: boolean;
  demo: boolean;
  paused?: boolean;
  /** issue 14.11: counts per minute (oldest first) of tasks started/finished, Matrix commands, Semaphore requests. */
  activity?: { started: number[]; finished: number[]; commands: number[]; requests: number[] };
  /** When Semaphore data (a task) last changed: shown as its age. */
  updatedAt?: number;
}

/** `[console] environment` names that turn the header red, as k9s skins do for a production context. */
const PRODUCTION = /^(prod|production|live)$/i;

export class Header {
  readonly box: blessed.Widgets.BoxElement;
  dirty = true;
  private last = "";
  private lastClock = "";

  constructor(
    private readonly ctx: ViewContext,
    parent: blessed.Widgets.Node,
    private readonly state: () => HeaderState,
  ) {
    const t = ctx.theme();
    this.box = blessed.box({ parent, top: 0, left: 0, width: "100%", height: 1, tags: true, wrap: false, style: { fg: t.barFg, bg: t.barBg } });
    const mark = () => {
      this.dirty = true;
      ctx.render();
    };
    ctx.app.store.on("connection", mark);
    ctx.app.store.on("crypto", mark);
  }

  /** Called every second: only the clock moved. */
  tick(): void {
    const c = clock(new Date(this.ctx.now()));
    if (c !== this.lastClock) this.dirty = true;
  }

  /** The parts, most important first; the narrowest terminals drop from the end. */
  text(cols: number): string {
    const t = this.ctx.theme();
    const c: ConnectionState = this.ctx.app.store.connection;
    const st = this.state();
    const dot = "●";
    type Part = { plain: string; styled: string };
    const m = MATRIX_TEXT[c.matrix] ?? c.matrix;
    const sv = c.semaphore === "not_configured" ? "not configured" : c.semaphore;
    const ver = c.semaphoreVersion ? ` ${sanitize(c.semaphoreVersion).replace(/^v?/, "v")}` : "";
    const name: Part = { plain: `ChatrixCD ${VERSION}`, styled: tag(t.text.title, esc(`ChatrixCD ${VERSION}`)) };
    const matrix = (label: string): Part => ({ plain: `${label}${dot} ${m}`, styled: `${label}${tag(matrixStyle(t, c.matrix), `${dot} ${esc(m)}`)}` });
    const sema = (label: string, v: string): Part => ({
      plain: `${label}${dot} ${sv}${v}`,
      styled: `${label}${tag(semaphoreStyle(t, c.semaphore), `${dot} ${esc(sv)}`)}${tag(t.text.dim, esc(v))}`,
    });
    const flags: Part[] = [];
    if (this.ctx.readOnly()) flags.push({ plain: "READ-ONLY", styled: tag(t.text.warn, "{bold}READ-ONLY{/bold}") });
    if (st.demo) flags.push({ plain: "DEMO", styled: tag(t.text.accent, "DEMO") });
    if (st.paused) flags.push({ plain: "PAUSED", styled: tag(t.text.warn, "{bold}PAUSED{/bold}") });
    const env = this.environment();
    if (env) flags.unshift({ plain: env.toUpperCase(), styled: `{bold}${esc(env.toUpperCase())}{/bold}` });
    if (st.updatedAt && c.semaphore !== "not_configured") {
      const age = `updated ${ago(st.updatedAt, this.ctx.now())}`;
      flags.push({ plain: age, styled: tag(t.text.dim, esc(age)) });
    }
    // Encryption, once Matrix is configured: on/off, and messages still waiting for their keys (details: Rooms).
    const cr = this.ctx.app.store.crypto;
    const e2e: Part[] = [];
    if (c.matrix !== "not_configured") {
      const on = cr.enabled ? "E2E on" : cr.detail ? "E2E off" : "";
      const utd = cr.enabled && cr.undecryptable ? ` · ${cr.undecryptable} undecryptable` : "";
      if (on)
        e2e.push({
          plain: on + utd,
          styled: tag(cr.enabled ? t.text.ok : t.text.warn, on) + (utd ? tag(cr.waitingForKeys ? t.text.warn : t.text.dim, esc(utd)) : ""),
        });
    }
    const mouse: Part = { plain: st.mouse ? "mouse on" : "mouse off", styled: tag(t.text.dim, st.mouse ? "mouse on" : "mouse off") };
    const time = clock(new Date(this.ctx.now()));
    this.lastClock = time;
    const sep = " │ ";
    // The most complete variant that fits; the read-only flag is kept in all but the narrowest.
    // issue 14.11: the last minutes' activity, shown only when everything else fits too.
    const a = st.activity;
    const spark = (label: string, v: number[]) => ({
      plain: `${label} ${sparkline(v.slice(-6)).padEnd(6)}`,
      styled: `${tag(t.text.dim, label)} ${tag(t.text.info, sparkline(v.slice(-6)).padEnd(6))}`,
    });
    const act: Part[] = a
      ? [
          [spark("start", a.started), spark("end", a.finished), spark("cmd", a.commands), spark("api", a.requests)].reduce((p, q) => ({
            plain: `${p.plain} ${q.plain}`,
            styled: `${p.styled} ${q.styled}`,
          })),
        ]
      : [];
    const variants: Part[][] = [
      ...(act.length ? [[name, matrix("Matrix "), ...e2e, sema("Semaphore ", ver), ...flags, ...act, mouse]] : []),
      [name, matrix("Matrix "), ...e2e, sema("Semaphore ", ver), ...flags, mouse],
      [name, matrix("Matrix "), ...e2e, sema("Semaphore ", ""), ...flags, mouse],
      [name, matrix("Matrix "), ...e2e, sema("Semaphore ", ""), ...flags],
      [{ plain: "ChatrixCD", styled: tag(t.text.title, "ChatrixCD") }, matrix("Matrix "), sema("Semaphore ", ""), ...flags],
      [{ plain: "ChatrixCD", styled: tag(t.text.title, "ChatrixCD") }, matrix("M"), sema("S", ""), ...flags.slice(0, 1)],
      [matrix("M"), sema("S", "")],
    ];
    const len = (ps: Part[]) => 1 + ps.reduce((s, p, i) => s + width(p.plain) + (i ? sep.length : 0), 0);
    const used = variants.find((v) => len(v) + time.length + 2 <= cols) ?? variants[variants.length - 1]!;
    const leftPlain = " " + used.map((p) => p.plain).join(sep);
    const left = " " + used.map((p) => p.styled).join(tag(t.text.dim, sep));
    const right = time;
    const gap = Math.max(1, cols - width(leftPlain) - right.length - 1);
    return left + " ".repeat(gap) + right + " ";
  }

  private environment(): string {
    return sanitize(this.ctx.app.ops.config.values.console.environment ?? "").trim();
  }

  update(): boolean {
    if (!this.dirty) return false;
    this.dirty = false;
    // The accent: a production environment turns the whole bar red, so nobody mistakes it for staging.
    const t = this.ctx.theme();
    const bg = PRODUCTION.test(this.environment()) ? t.productionBg : t.barBg;
    if (this.box.style.bg !== bg) {
      this.box.style.bg = bg;
      this.last = "";
    }
    const s = this.text(this.box.width as number);
    if (s === this.last) return false;
    this.last = s;
    this.box.setContent(s);
    return true;
  }
}
