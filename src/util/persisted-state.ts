// The one way the bot keeps a small state file (room settings, approvals, tracked tasks, status cards, aliases):
// a typed load through a validator, saves that run one after another (each writes the state as it is when its write
// starts, so a later write never puts back an older state), an optional debounced save, a flush on close, atomic
// mode-0600 writes, and one clear warning for an unreadable file, which is kept aside as <name>.unreadable-<time>:
// the next save must not destroy what an operator may still want to recover.
import { readFileSync, renameSync } from "node:fs";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { writeFileAtomic } from "./atomic-write.js";

export interface PersistedStateOptions<T> {
  /** undefined: nothing is read or written (in-memory use, tests). */
  file: string | undefined;
  log: Pick<Log, "warn" | "error">;
  /** What the bot does without the file, for the warning: e.g. "starting without room subscriptions". */
  startsEmpty?: string;
  /** Turns the parsed JSON into the state, or throws saying why it is not a file of this kind. */
  validate?: (data: unknown) => T;
  /** The JSON save() writes; called when the write starts. Without it, only write(data) writes. */
  snapshot?: () => unknown;
  /** Delay of saveLater in ms; default 100. */
  debounceMs?: number;
  indent?: number;
  /** The atomic write (tests count or fail writes). */
  writeFile?: (file: string, text: string) => Promise<void>;
}

/** Throws unless `data` is an object with `version: 1`; returns it typed for the caller's own checks. */
export function versionOne(data: unknown): Record<string, unknown> {
  const d = data as { version?: unknown } | null;
  if (!d || typeof d !== "object" || Array.isArray(d)) throw new Error("not a JSON object");
  if (d.version !== 1) throw new Error(`unknown format version ${JSON.stringify(d.version)} (this bot reads version 1)`);
  return d as Record<string, unknown>;
}

export class PersistedState<T> {
  private chain: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** Why saving is off: an unreadable file could not be moved aside, and a save would overwrite it. */
  private blocked?: string;
  writes = 0;

  constructor(private readonly o: PersistedStateOptions<T>) {}

  get file(): string | undefined {
    return this.o.file;
  }

  /** The saved state; undefined when there is none (no file, or an unreadable one, kept aside with a warning). */
  load(): T | undefined {
    const file = this.o.file;
    if (!file) return undefined;
    const startsEmpty = this.o.startsEmpty ?? "starting empty";
    try {
      const data: unknown = JSON.parse(readFileSync(file, "utf8"));
      return this.o.validate ? this.o.validate(data) : (data as T);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      const kept = `${file}.unreadable-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      try {
        renameSync(file, kept);
        const todo = "Look at it, and delete it when it is no longer needed";
        this.o.log.warn(`could not read ${file} (${errorText(e)}); kept it as ${kept} and ${startsEmpty}. ${todo}`);
      } catch (moveError) {
        this.blocked = `${file} is unreadable and could not be moved aside (${errorText(moveError)})`;
        const why = `could not read ${file} (${errorText(e)}) nor move it aside (${errorText(moveError)})`;
        this.o.log.warn(`${why}; ${startsEmpty}, and will not save over it. Move it away and restart`);
      }
      return undefined;
    }
  }

  /** Writes `data` (default: the snapshot, taken when the write starts) after the writes before it. Rejects on failure. */
  write(data?: unknown): Promise<void> {
    const file = this.o.file;
    if (!file) return Promise.resolve();
    if (this.blocked) return Promise.reject(new Error(`not saving: ${this.blocked}`));
    const snapshot = this.o.snapshot;
    if (data === undefined && !snapshot) return Promise.reject(new Error("nothing to write"));
    const writeFile = this.o.writeFile ?? ((f: string, text: string) => writeFileAtomic(f, text));
    const run = this.chain.then(() => {
      this.writes++;
      return writeFile(file, JSON.stringify(data === undefined ? snapshot!() : data, null, this.o.indent) + "\n");
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Saves now; a failure is logged (the next save tries again), never thrown. */
  save(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return this.write().catch((e) => this.o.log.error(`could not save ${this.o.file}: ${errorText(e)}`));
  }

  /** Saves soon: the changes of the next debounceMs go out in one write. */
  saveLater(): void {
    if (!this.o.file || this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, this.o.debounceMs ?? 100);
  }

  /** Writes a pending saveLater now, and waits for every write started so far. */
  async flush(): Promise<void> {
    if (this.timer) await this.save();
    await this.chain;
  }

  /** Flushes, then saves once more (the final state); no saveLater after this. */
  async close(): Promise<void> {
    this.closed = true;
    await this.save();
  }
}
