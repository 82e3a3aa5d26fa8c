/**
 * Runs `send` at most once per interval, always with the newest state: pokes inside the interval are coalesced
 * into one later run, and the last poke is never lost (a run is always scheduled after it). Runs never overlap, and
 * the interval counts from the end of the previous run, so a send delayed in a queue cannot bunch up with the next.
 * An urgent poke (a final state) does not wait for the interval: it runs at once, or right after the run in flight.
 */
export class Coalescer {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private dirty = false;
  private urgent = false;
  private lastStart = -Infinity;
  private closed = false;
  runs = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly send: () => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Something changed: make sure a run happens (now, or when the interval allows; urgent: as soon as possible). */
  poke(urgent = false): void {
    if (this.closed) return;
    this.dirty = true;
    this.urgent ||= urgent;
    if (this.running) return; // run() schedules the next one when it ends
    if (this.timer && !urgent) return;
    if (this.timer) clearTimeout(this.timer);
    this.schedule();
  }

  /** Marks a send that happened outside the coalescer (e.g. the first post) so the interval counts from it. */
  markSent(): void {
    this.lastStart = this.now();
  }

  private schedule(): void {
    const delay = this.urgent ? 0 : Math.max(0, this.lastStart + this.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delay);
  }

  private async run(): Promise<void> {
    if (!this.dirty || this.running) return;
    this.dirty = false;
    this.urgent = false;
    this.lastStart = this.now();
    this.runs++;
    this.running = this.send().catch(() => undefined);
    await this.running;
    this.running = undefined;
    this.lastStart = this.now();
    if (this.dirty && !this.closed) this.schedule();
  }

  /** Runs now if something is pending (ignoring the interval), and waits for it. For shutdown and tests. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running) await this.running;
    if (this.dirty) await this.run();
  }

  get pending(): boolean {
    return this.dirty || !!this.timer || !!this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
