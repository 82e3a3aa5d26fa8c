// Bookkeeping for load benchmarks (F9): which command got which replies, from whom, and how fast; and summaries of
// the probe's samples (test/bench/soak-probe.ts). Pure functions and plain data so they can be unit-tested.
import { pct } from "./figures.js";
import type { ProbeSample } from "./soak-probe.js";

export interface SentCommand {
  eventId: string;
  kind: string;
  roomId: string;
  sentAt: number;
  /** Which bots are expected to answer it (their user ids). */
  expectFrom: string[];
  /** The part of the run it belongs to (e.g. "idle", "load"). */
  phase: string;
}

export interface ReplySummary {
  sent: number;
  lost: number;
  doubled: number;
  latencies: number[];
}

/** Every command sent and every reply seen (by `m.in_reply_to`), so lost and doubled replies can be counted. */
export class ReplyLedger {
  private readonly sent = new Map<string, SentCommand>();
  /** command event id → bot user id → times a reply was seen. */
  private readonly replies = new Map<string, Map<string, number[]>>();

  send(c: SentCommand): void {
    this.sent.set(c.eventId, c);
  }

  /** A reply from `from` to `toEventId`, seen at `at`. Replies to events we did not send are ignored. */
  reply(from: string, toEventId: string, at: number): void {
    if (!this.sent.has(toEventId)) return;
    let byBot = this.replies.get(toEventId);
    if (!byBot) this.replies.set(toEventId, (byBot = new Map()));
    const seen = byBot.get(from) ?? [];
    seen.push(at);
    byBot.set(from, seen);
  }

  /** How many replies `from` has sent to this command so far. */
  count(eventId: string, from: string): number {
    return this.replies.get(eventId)?.get(from)?.length ?? 0;
  }

  /** Commands still waiting for a reply from any bot that should answer them. */
  outstanding(): number {
    let n = 0;
    for (const c of this.sent.values()) n += c.expectFrom.filter((b) => this.count(c.eventId, b) === 0).length;
    return n;
  }

  /** Lost (no reply), doubled (more than one) and latencies (first reply) for one bot, optionally one phase and some kinds. */
  summary(bot: string, only: { phase?: string; kinds?: string[] } = {}): ReplySummary {
    const { phase, kinds } = only;
    let sent = 0,
      lost = 0,
      doubled = 0;
    const latencies: number[] = [];
    for (const c of this.sent.values()) {
      if (!c.expectFrom.includes(bot) || (kinds && !kinds.includes(c.kind)) || (phase && c.phase !== phase)) continue;
      sent++;
      const seen = this.replies.get(c.eventId)?.get(bot) ?? [];
      if (seen.length === 0) lost++;
      else latencies.push(Math.min(...seen) - c.sentAt);
      if (seen.length > 1) doubled++;
    }
    return { sent, lost, doubled, latencies };
  }
}

export interface ProbeSummary {
  cpuPercent: number;
  rssMiB: number;
  heapMiB: number;
  lag: { p50: number; p99: number; max: number };
}

/** One probe interval as CPU % of a core, memory in MiB and the loop delay (ms). */
export function summarizeProbe(s: ProbeSample): ProbeSummary {
  const mib = (b: number) => b / 1048576;
  return {
    cpuPercent: s.intervalMs > 0 ? (100 * s.cpuMs) / s.intervalMs : NaN,
    rssMiB: mib(s.rss),
    heapMiB: mib(s.heapUsed),
    lag: { p50: s.lag.p50, p99: s.lag.p99, max: s.lag.max },
  };
}

/** p50 / p95 of a latency list, as numbers (NaN when empty). */
export function p50p95(xs: number[]): { p50: number; p95: number } {
  return { p50: pct(xs, 50), p95: pct(xs, 95) };
}

/** Least-squares slope of y over x (e.g. RSS MiB per tracked task). */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? NaN : num / den;
}

/** The parts of a V8 .heapsnapshot that summarizeHeap reads. */
export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/**
 * Self size by constructor (objects) or by node type (strings, code, arrays…), largest first: where the V8 heap goes.
 * Retained sizes would need the dominator tree; self sizes are enough to see which kinds of objects dominate.
 */
export function summarizeHeap(snap: HeapSnapshot, top = 10): Array<{ what: string; count: number; bytes: number }> {
  const f = snap.snapshot.meta.node_fields;
  const width = f.length,
    iType = f.indexOf("type"),
    iName = f.indexOf("name"),
    iSize = f.indexOf("self_size");
  const types = snap.snapshot.meta.node_types[0];
  const by = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!] ?? "?";
    const what = type === "object" ? (snap.strings[snap.nodes[i + iName]!] ?? "?") : `(${type})`;
    const e = by.get(what) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += snap.nodes[i + iSize]!;
    by.set(what, e);
  }
  return [...by.entries()]
    .map(([what, e]) => ({ what, ...e }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}
