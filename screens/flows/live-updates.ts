// Live updates: `p` holds the tasks table and the log still to read them (the header shows PAUSED) and catches up
// on resume; task events keep the header's "updated … ago" for Semaphore data.
import type { ViewContext } from "../context.js";
import type { Level } from "./host.js";

/** "just now" lasts this long in the header: it is redrawn for a task event only when its text changes. */
const JUST_NOW_MS = 10_000;

export interface LiveUpdatesHost {
  readonly ctx: Pick<ViewContext, "now" | "render">;
  readonly header: { dirty: boolean };
  /** Resumed: the log and the tasks table show what arrived while paused. */
  readonly logs: { resume(): void };
  readonly tasks: { markDirty(): void };
  readonly bar: { say(text: string, level: Level): void };
}

export class LiveUpdates {
  paused = false;
  /** When Semaphore data last changed (a task event). */
  updatedAt?: number;

  /** The host is read when events come (the console passes itself while it is being built). */
  constructor(private readonly h: LiveUpdatesHost) {}

  /** The store's "task" listener. */
  readonly taskChanged = (): void => {
    const now = this.h.ctx.now();
    if (!this.updatedAt || now - this.updatedAt >= JUST_NOW_MS) {
      this.h.header.dirty = true;
      this.h.ctx.render();
    }
    this.updatedAt = now;
  };

  togglePause(): void {
    this.paused = !this.paused;
    if (!this.paused) {
      this.h.logs.resume();
      this.h.tasks.markDirty();
    }
    this.h.header.dirty = true;
    this.h.bar.say(
      this.paused ? "Paused: the tasks table and the log hold still. p resumes." : "Resumed: showing what changed meanwhile.",
      this.paused ? "warn" : "info",
    );
  }
}
