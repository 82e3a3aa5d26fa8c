// A seeded scheduler for race tests: actors start, and parked awaits (audit writes, Semaphore replies) resume, in an
// order drawn from a seeded generator. Nothing sleeps: every step waits only for the microtasks it released.
import { mulberry32 } from "../../src/util/random.js";

const settle = () => new Promise<void>((r) => setImmediate(r));

export class Scheduler {
  private readonly rnd: () => number;
  private readonly parked: Array<{ what: string; go: () => void }> = [];
  /** What happened, in order, for the failure message of a test. */
  readonly trace: string[] = [];

  constructor(readonly seed: number) {
    this.rnd = mulberry32(seed);
  }

  /** An await the scheduler decides when to resume. */
  park(what: string): Promise<void> {
    return new Promise((go) => this.parked.push({ what, go }));
  }

  /** A promise-returning function whose result arrives only when the scheduler says so. */
  delayed<A extends unknown[], R>(what: string, fn: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
    return async (...a: A) => {
      const r = await fn(...a);
      await this.park(what);
      return r;
    };
  }

  /** Resumes every parked await now, oldest first. */
  releaseAll(): void {
    while (this.parked.length) this.parked.shift()!.go();
  }

  /** From now on awaits are not parked (for the steps of a test after its race). */
  stopParking(): void {
    this.releaseAll();
    this.park = async () => undefined;
  }

  /** Starts the actors and resumes parked awaits in a seeded random order until every actor has finished. */
  async run(actors: Array<{ name: string; act: () => Promise<void> }>): Promise<void> {
    const waiting = [...actors];
    let finished = 0;
    const failures: unknown[] = [];
    for (let idle = 0; finished < actors.length;) {
      await settle();
      const choices = waiting.length + this.parked.length;
      if (choices === 0) {
        if (++idle > 50) throw new Error(`seed ${this.seed}: stuck with ${actors.length - finished} actors unfinished; trace: ${this.trace.join(" | ")}`);
        continue;
      }
      idle = 0;
      const i = Math.floor(this.rnd() * choices);
      if (i < waiting.length) {
        const a = waiting.splice(i, 1)[0]!;
        this.trace.push(`start ${a.name}`);
        a.act()
          .catch((e) => failures.push(e))
          .finally(() => {
            finished++;
          });
      } else {
        const p = this.parked.splice(i - waiting.length, 1)[0]!;
        this.trace.push(`resume ${p.what}`);
        p.go();
      }
    }
    if (failures.length) throw failures[0];
  }
}
