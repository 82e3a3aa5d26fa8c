// Fires active schedules at their cron times (UTC) by starting a task with user_id null (and, as in v2.10,
// schedule_id left null; the modern flavor fills it). One timer for the earliest next fire time.

import { nextFire, parseCron } from "./cron.js";
import type { Store } from "./store.js";
import type { ScheduleRow } from "./types.js";

const MAX_TIMER_MS = 2 ** 31 - 1;

export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private next = new Map<number, number>();
  private readonly startedAt = Date.now();
  private disposed = false;

  constructor(
    private readonly store: Store,
    private readonly fire: (s: ScheduleRow) => void,
    private readonly enabled: boolean,
  ) {}

  /** Recompute the next fire times (call after any schedule change). */
  refresh(): void {
    if (this.disposed || !this.enabled) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const t = Date.now();
    const fresh = new Map<number, number>();
    for (const s of this.store.schedules.values()) {
      if (!s.active) continue;
      const parsed = parseCron(s.cron_format);
      if (!parsed.ok) continue;
      const prev = this.next.get(s.id);
      const at = prev !== undefined && prev > t ? prev : nextFire(parsed.schedule, t, this.startedAt);
      if (at !== null) fresh.set(s.id, at);
    }
    this.next = fresh;
    if (fresh.size === 0) return;
    const earliest = Math.min(...fresh.values());
    this.timer = setTimeout(() => this.onTimer(), Math.min(MAX_TIMER_MS, Math.max(0, earliest - t)));
  }

  private onTimer(): void {
    this.timer = null;
    if (this.disposed) return;
    const t = Date.now();
    for (const [id, at] of [...this.next]) {
      if (at > t + 5) continue;
      this.next.delete(id);
      const s = this.store.schedules.get(id);
      if (s && s.active) this.fire(s);
    }
    this.refresh();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
