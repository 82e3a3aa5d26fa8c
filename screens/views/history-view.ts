// History view (h or :history): per template, the durations of the last runs coloured by outcome, success rate,
// p50/p95 and outcomes per day over two weeks; under it, activity per minute as sparklines. The data and the
// statistics come from ops.history (src/core/history.ts); this only draws them, and only when something changed.
import { FullView } from "../widgets/full-view.js";
import { CONSOLE_ACTOR } from "../context.js";
import type { HistoryReport, Outcome, TemplateHistory } from "../../src/core/history.js";
import { ACTIVITY_SERIES, type ActivitySeries } from "../../src/core/activity.js";
import { userMessage } from "../../src/core/operations.js";
import { formatDuration } from "../../src/util/text.js";
import type { MouseEvent } from "../widgets/input.js";
import { esc, fit, sanitize, width as strWidth } from "../text.js";
import { tag, type Theme } from "../theme.js";
import { sparkline, stackedColumns, verticalBars } from "../widgets/sparkline.js";

/** Outcome → the task status whose colour it takes, its mark under a duration bar, its fill in the per-day stacks. */
const OUTCOME: Record<Outcome, { status: string; mark: string; glyph: string; label: string }> = {
  success: { status: "success", mark: "✔", glyph: "█", label: "success" },
  failed: { status: "error", mark: "✖", glyph: "▒", label: "failed" },
  stopped: { status: "stopped", mark: "■", glyph: "░", label: "stopped" },
};
const SERIES_LABEL: Record<ActivitySeries, string> = {
  started: "tasks started",
  finished: "tasks finished",
  commands: "Matrix commands",
  requests: "Semaphore requests",
};
const ACTIVITY_ROWS = 3;

/** Tagged parts joined by `sep` on as few lines as fit `width` (a part is never split). */
function flow(parts: string[], width: number, sep: string): string[] {
  const w = (x: string) => strWidth(x.replace(/\{[^{}]*\}/g, ""));
  const lines: string[] = [];
  for (const p of parts) {
    const last = lines[lines.length - 1];
    if (last !== undefined && w(last) + sep.length + w(p) <= width) lines[lines.length - 1] = last + sep + p;
    else lines.push(p);
  }
  return lines;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const secs = (s: number | undefined) => (s === undefined ? "-" : formatDuration(s * 1000));

export class HistoryView extends FullView {
  isOpen = false;
  report?: HistoryReport;
  selected = 0;
  private loading = false;
  private error?: string;
  private loadGeneration = 0;
  private listTop = 0;
  /** Screen row (inside the border) → template index, for clicks. */
  private listRows: Array<number | undefined> = [];
  private listWidth = 0;
  private activity = "";
  private series: Record<ActivitySeries, number[]> = { started: [], finished: [], commands: [], requests: [] };
  private readonly onChanged = () => {
    if (this.isOpen) this.load();
  };

  get template(): TemplateHistory | undefined {
    return this.report?.templates[this.selected];
  }

  open(): void {
    if (this.isOpen) return;
    this.isOpen = true;
    this.ctx.app.ops.history.on("changed", this.onChanged);
    this.box.show();
    this.box.setFront();
    this.load();
    this.sampleActivity();
    this.markDirty();
  }

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.ctx.app.ops.history.removeListener("changed", this.onChanged);
    this.box.hide();
  }

  /** Reads the history (cached by the operation); the newest answer wins. */
  private load(): void {
    const generation = ++this.loadGeneration;
    this.loading = true;
    this.ctx.app.ops.history
      .runs(CONSOLE_ACTOR, { now: this.ctx.now() })
      .then(
        (r) => {
          if (generation !== this.loadGeneration) return;
          // Keep the same template selected when the list changes under it.
          const was = this.template;
          this.report = r;
          this.error = undefined;
          const i = was ? r.templates.findIndex((t) => t.projectId === was.projectId && t.templateId === was.templateId) : -1;
          this.selected = i >= 0 ? i : Math.min(this.selected, Math.max(0, r.templates.length - 1));
        },
        (e) => {
          if (generation === this.loadGeneration) this.error = userMessage(e);
        },
      )
      .finally(() => {
        if (generation === this.loadGeneration) {
          this.loading = false;
          this.markDirty();
        }
      });
  }

  /** Every clock tick: the sparklines move when a minute passes or something happened. */
  tick(): void {
    if (this.isOpen) this.sampleActivity();
  }

  private sampleActivity(): void {
    const s = this.ctx.app.ops.history.activitySeries(CONSOLE_ACTOR, this.ctx.now());
    const key = ACTIVITY_SERIES.map((k) => s[k].join(",")).join(";");
    if (key !== this.activity) {
      this.activity = key;
      this.series = s;
      this.markDirty();
    }
  }

  /** Moves the selection: a step (±1), or to the first or last template. */
  pick(to: number | "first" | "last"): void {
    const n = this.report?.templates.length ?? 0;
    if (!n) return;
    this.selected = to === "first" ? 0 : to === "last" ? n - 1 : (this.selected + to + n) % n;
    this.markDirty();
  }

  mouse(ev: MouseEvent): void {
    if (ev.action === "wheelup") {
      this.pick(-1);
      return;
    }
    if (ev.action === "wheeldown") {
      this.pick(1);
      return;
    }
    if (ev.action !== "mousedown") return;
    const pos = this.box as unknown as { aleft: number; atop: number };
    const x = ev.x - pos.aleft - 1;
    const hit = this.listRows[ev.y - pos.atop - 1];
    if (x >= 0 && x < this.listWidth && hit !== undefined) {
      this.selected = hit;
      this.markDirty();
    }
  }

  // ---- drawing ----

  private templateList(th: Theme, width: number, height: number): string[] {
    const ts = this.report?.templates ?? [];
    const rows: Array<{ text: string; index?: number }> = [];
    let project = "";
    ts.forEach((t, i) => {
      if (t.projectName !== project) {
        project = t.projectName;
        rows.push({ text: tag(th.text.heading, esc(fit(sanitize(project), width))) });
      }
      const rate = t.runs.length ? pct(t.successRate) : "-";
      const name = fit(` ${sanitize(t.templateName)}`, width - 5);
      const line = `${name}${fit(rate, 5, "right")}`;
      rows.push({ text: i === this.selected ? tag(th.text.selected, esc(line)) : esc(line), index: i });
    });
    // Keep the selected row in view.
    const at = rows.findIndex((r) => r.index === this.selected);
    if (at < this.listTop) this.listTop = Math.max(0, at - 1);
    if (at >= this.listTop + height) this.listTop = at - height + 1;
    this.listTop = Math.max(0, Math.min(this.listTop, rows.length - height));
    const shown = rows.slice(this.listTop, this.listTop + height);
    this.listRows = shown.map((r) => r.index);
    return shown.map((r) => r.text);
  }

  private details(th: Theme, t: TemplateHistory, width: number, height: number): string[] {
    const title = tag(th.text.title, esc(fit(`${sanitize(t.projectName)} › ${sanitize(t.templateName)}`, width)));
    if (!t.runs.length) return [title, tag(th.text.dim, "No finished runs in Semaphore's task list yet.")];
    const n = t.runs.length;
    const b = (x: string) => tag(th.text.title, x);
    const stats = flow(
      [`Last ${n} runs: success rate ${b(pct(t.successRate))} (${t.succeeded} of ${n})`, `p50 ${b(secs(t.p50))}`, `p95 ${b(secs(t.p95))}`],
      width,
      "  ·  ",
    );
    const style = (o: Outcome) => th.status[OUTCOME[o].status] ?? "";
    const legend = (glyph: (o: Outcome) => string) =>
      (["success", "failed", "stopped"] as Outcome[]).map((o) => `${tag(style(o), glyph(o))} ${OUTCOME[o].label}`).join("  ");
    const longest = Math.max(0, ...t.runs.map((r) => r.seconds ?? 0));
    const barsHead = flow(
      [`${tag(th.text.heading, "Duration of each run")}, oldest first, tallest ${secs(longest)}`, legend((o) => OUTCOME[o].mark)],
      width,
      "   ",
    );
    const days = t.perDay;
    const daysHead = flow([tag(th.text.heading, `Outcomes per day, last ${days.length} days`), legend((o) => OUTCOME[o].glyph)], width, "   ");
    // What is left after the text rows (title, stats, blank, heading, marks, blank, heading, totals, days) is the charts'.
    const rest = Math.max(4, height - 6 - stats.length - barsHead.length - daysHead.length);
    const barsH = Math.min(10, Math.max(2, Math.floor(rest / 2)));
    const daysH = Math.min(10, Math.max(2, rest - barsH));
    const bw = Math.max(1, Math.min(4, Math.floor(width / n) - 1));
    const dw = Math.max(2, Math.min(5, Math.floor(width / days.length) - 1));
    const cell = (x: string) => fit(x, dw, "right") + " ";
    return [
      title,
      ...stats,
      "",
      ...barsHead,
      ...verticalBars(
        t.runs.map((r) => ({ value: r.seconds ?? 0, style: style(r.outcome) })),
        barsH,
        bw,
      ),
      t.runs.map((r) => tag(style(r.outcome), OUTCOME[r.outcome].mark) + " ".repeat(bw)).join(""),
      "",
      ...daysHead,
      ...stackedColumns(
        days.map((d) => (["success", "failed", "stopped"] as Outcome[]).map((o) => ({ count: d[o], style: style(o), glyph: OUTCOME[o].glyph }))),
        daysH,
        dw,
      ),
      tag(th.text.dim, esc(days.map((d) => cell(String(d.success + d.failed + d.stopped || ""))).join(""))),
      tag(th.text.dim, esc(days.map((d) => cell(String(new Date(d.day).getDate()).padStart(2, "0"))).join(""))),
    ];
  }

  private activityLines(th: Theme, width: number): string[] {
    const s = this.series;
    // Two series a row; as many recent minutes as fit beside the label and the count.
    const colW = Math.floor((width - 1) / 2);
    const minutes = Math.max(5, Math.min(s.started.length, colW - 19 - 9));
    const items = ACTIVITY_SERIES.map((k) => {
      const v = s[k].slice(-minutes);
      const now = fit(`${v[v.length - 1] ?? 0}/min`, colW - 19 - minutes - 1);
      return `${tag(th.text.dim, esc(fit(SERIES_LABEL[k], 19)))}${tag(th.text.info, sparkline(v))} ${now}`;
    });
    return [
      tag(th.text.dim, esc(fit(`Activity per minute, last ${minutes} minutes (the rightmost column is this minute)`, width))),
      `${items[0]} ${items[1]}`,
      `${items[2]} ${items[3]}`,
    ];
  }

  update(): boolean {
    if (!this.dirty || !this.isOpen) return false;
    this.dirty = false;
    const th = this.ctx.theme();
    const width = Math.max(10, (this.box.width as number) - 2);
    const height = Math.max(4, (this.box.height as number) - 2);
    const body = height - ACTIVITY_ROWS;
    const r = this.report;
    let lines: string[];
    if (!r) {
      this.listRows = [];
      lines = [
        tag(
          this.error ? th.text.bad : th.text.dim,
          esc(sanitize(this.error ? `Could not read the history: ${this.error}` : "Reading the task lists from Semaphore…")),
        ),
      ];
    } else {
      const notes = [
        ...r.problems,
        ...(r.capped.length ? [`Semaphore lists only the last 1000 tasks of ${r.capped.join(", ")}: older days may be missing.`] : []),
      ];
      const noteLines = notes.map((n) => tag(th.text.warn, esc(fit(sanitize(n), width))));
      const h = Math.max(1, body - noteLines.length);
      this.listWidth = Math.max(16, Math.min(40, Math.floor(width * 0.28)));
      const right = width - this.listWidth - 3;
      const left = r.templates.length ? this.templateList(th, this.listWidth, h) : [tag(th.text.dim, esc(fit("No runs in Semaphore yet.", this.listWidth)))];
      const t = this.template;
      const detail = t ? this.details(th, t, right, h) : [];
      lines = [...noteLines];
      for (let i = 0; i < h; i++) {
        // List rows are exactly listWidth wide (fit), so the separator lines up.
        lines.push(`${left[i] ?? " ".repeat(this.listWidth)} ${tag(th.text.dim, "│")} ${detail[i] ?? ""}`);
      }
      this.listRows = [...new Array<undefined>(noteLines.length).fill(undefined), ...this.listRows];
    }
    while (lines.length < body) lines.push("");
    lines = lines.slice(0, body).concat(this.activityLines(th, width));
    const count = r ? `${r.templates.length} templates` : this.loading ? "loading" : "";
    const label = ` ${tag(th.text.title, "History")} ${tag(th.text.dim, esc(`runs per template · ${count} · ↑↓ pick · Esc back`))} `;
    return this.present(lines, label);
  }
}
