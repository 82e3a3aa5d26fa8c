// Sparklines and bar charts drawn with block characters in tagged text. blessed-contrib's bar and stackedBar were
// measured first: they paint bars as background-coloured spaces (invisible in the mono theme), and their canvas is
// rebuilt on every render (a 115x14 stackedBar: about 1.4 ms of CPU per render, most of the 2 ms frame budget), so
// the History view draws its charts here instead (see README, Dependencies).
import { tag } from "../theme.js";

const LEVELS = "▁▂▃▄▅▆▇█";

/** One character per value: · for 0 (so a quiet minute still shows), else ▁…█ scaled to `max` (default the largest value). */
export function sparkline(values: number[], max = Math.max(0, ...values)): string {
  return values.map((v) => (v <= 0 || max <= 0 ? "·" : LEVELS[Math.min(7, Math.max(0, Math.ceil((v / max) * 8) - 1))]!)).join("");
}

/** A row of styled cells as tagged text, with one tag per run of equal style. */
function row(cells: Array<{ style: string; ch: string }>): string {
  let out = "";
  let i = 0;
  while (i < cells.length) {
    let j = i;
    let text = "";
    while (j < cells.length && cells[j]!.style === cells[i]!.style) text += cells[j++]!.ch;
    out += tag(cells[i]!.style, text);
    i = j;
  }
  return out;
}

export interface Bar {
  value: number;
  style: string;
}

/**
 * Vertical bars, one column of `barWidth` cells (and a space) per value, `height` rows, scaled to the largest value:
 * the top cell of each bar is an eighth block, so small differences show. A value above 0 is at least ▁.
 */
export function verticalBars(bars: Bar[], height: number, barWidth: number): string[] {
  const max = Math.max(0, ...bars.map((b) => b.value));
  const eighths = bars.map((b) => (b.value <= 0 || max <= 0 ? 0 : Math.max(1, Math.round((b.value / max) * height * 8))));
  const lines: string[] = [];
  for (let y = height - 1; y >= 0; y--) {
    const cells: Array<{ style: string; ch: string }> = [];
    bars.forEach((b, i) => {
      const fill = eighths[i]! - y * 8;
      const ch = fill >= 8 ? "█" : fill > 0 ? LEVELS[fill - 1]! : " ";
      for (let k = 0; k < barWidth; k++) cells.push({ style: ch === " " ? "" : b.style, ch });
      cells.push({ style: "", ch: " " });
    });
    lines.push(row(cells));
  }
  return lines;
}

export interface Segment {
  count: number;
  style: string;
  /** The fill character: differs per segment so the stack reads without colour. */ glyph: string;
}

/**
 * Stacked columns, bottom segment first, `height` rows scaled to the largest total. Segment boundaries are the rounded
 * cumulative heights, so the parts always add up to the column's height.
 */
export function stackedColumns(columns: Segment[][], height: number, barWidth: number): string[] {
  const max = Math.max(0, ...columns.map((c) => c.reduce((s, x) => s + x.count, 0)));
  const fills = columns.map((segs) => {
    const cells: Array<{ style: string; ch: string }> = [];
    let cum = 0;
    for (const s of segs) {
      const from = max ? Math.round((cum * height) / max) : 0;
      cum += s.count;
      const to = max ? Math.round((cum * height) / max) : 0;
      for (let y = from; y < to; y++) cells.push({ style: s.style, ch: s.glyph });
    }
    return cells;
  });
  const lines: string[] = [];
  for (let y = height - 1; y >= 0; y--) {
    const cells: Array<{ style: string; ch: string }> = [];
    for (const f of fills) {
      const c = f[y] ?? { style: "", ch: " " };
      for (let k = 0; k < barWidth; k++) cells.push(c);
      cells.push({ style: "", ch: " " });
    }
    lines.push(row(cells));
  }
  return lines;
}
