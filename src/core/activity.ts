// Activity per minute, for sparklines: tasks started and finished, Matrix commands and Semaphore requests. It reads
// the cumulative counters behind /metrics (and counts task starts from the store) and puts what changed since the
// last sample into the current minute's bucket.
import type { Store } from "./store.js";
import type { Metrics } from "./metrics.js";
import { isTerminalStatus } from "../semaphore/types.js";

export const ACTIVITY_SERIES = ["started", "finished", "commands", "requests"] as const;
export type ActivitySeries = (typeof ACTIVITY_SERIES)[number];
export type ActivityTotals = Record<ActivitySeries, number>;

const MINUTE = 60_000;

/** The running totals of each series, as /metrics sees them. A task counts as started when the store first sees it unfinished. */
export function activityTotals(store: Store, metrics: Metrics): () => ActivityTotals {
  let started = 0;
  store.on("task", (t: { status: string }, prev?: unknown) => {
    if (prev === undefined && !isTerminalStatus(t.status)) started++;
  });
  const sum = (entries: Array<{ value: number }>) => entries.reduce((s, e) => s + e.value, 0);
  return () => ({
    started,
    finished: sum(metrics.tasksFinished.entries()),
    commands: sum(metrics.commands.entries().filter((e) => e.labels.via === "chat")),
    requests: sum(metrics.semaphoreRequests.entries()),
  });
}

export class Activity {
  private readonly buckets: Record<ActivitySeries, number[]>;
  private minute?: number;
  private last?: ActivityTotals;

  constructor(
    private readonly totals: () => ActivityTotals,
    readonly minutes = 30,
  ) {
    this.buckets = Object.fromEntries(ACTIVITY_SERIES.map((s) => [s, new Array<number>(minutes).fill(0)])) as Record<ActivitySeries, number[]>;
  }

  /** Takes a sample; returns whether any bucket changed (the minute moved on, or something happened). */
  sample(now: number): boolean {
    const minute = Math.floor(now / MINUTE);
    const totals = this.totals();
    let changed = false;
    if (this.minute === undefined) this.minute = minute;
    const shift = Math.min(this.minutes, Math.max(0, minute - this.minute));
    if (shift > 0) {
      // The oldest minutes drop off the front; empty ones are added for the minutes that passed.
      for (const s of ACTIVITY_SERIES) {
        this.buckets[s].splice(0, shift);
        this.buckets[s].push(...new Array<number>(shift).fill(0));
      }
      this.minute = minute;
      changed = true;
    }
    if (this.last) {
      for (const s of ACTIVITY_SERIES) {
        const d = totals[s] - this.last[s];
        if (d > 0) {
          this.buckets[s][this.minutes - 1]! += d;
          changed = true;
        }
      }
    }
    this.last = totals;
    return changed;
  }

  /** Counts per minute, oldest first; the last one is the current minute. */
  series(): Record<ActivitySeries, number[]> {
    return Object.fromEntries(ACTIVITY_SERIES.map((s) => [s, [...this.buckets[s]]])) as Record<ActivitySeries, number[]>;
  }
}
