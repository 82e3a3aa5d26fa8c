import { chmodSync, createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { inspect } from "node:util";
import { dirname } from "node:path";
import { EventEmitter } from "node:events";
import { Redactor } from "./redact.js";
import type { LogLevelName } from "../config/schema.js";

export const LEVEL_RANK: Record<LogLevelName, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogEntry {
  seq: number;
  time: number;
  level: LogLevelName;
  /** Where it came from: "matrix", "semaphore", "sdk", "console", ... */
  source: string;
  message: string;
}

/** A fixed-size ring: the console's log panel reads it; memory stays bounded however long the bot runs. */
export class Ring<T> {
  private items: (T | undefined)[];
  private start = 0;
  size = 0;
  constructor(readonly capacity: number) {
    this.items = new Array(capacity);
  }
  push(item: T): void {
    const idx = (this.start + this.size) % this.capacity;
    this.items[idx] = item;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.start + i) % this.capacity]!);
    return out;
  }
  at(i: number): T | undefined {
    return i < 0 || i >= this.size ? undefined : this.items[(this.start + i) % this.capacity];
  }
}

export interface LoggerOptions {
  level?: LogLevelName;
  file?: string;
  /** Write lines to this stream too (headless mode: stdout). Undefined while the console owns the terminal. */
  echo?: NodeJS.WritableStream;
  ringSize?: number;
}

/** The application's one logger. Emits "entry" for every line that passes the level filter. */
export class Logger extends EventEmitter {
  readonly redactor = new Redactor();
  readonly ring: Ring<LogEntry>;
  level: LogLevelName;
  private file?: WriteStream;
  echo?: NodeJS.WritableStream;
  private seq = 0;

  constructor(opts: LoggerOptions = {}) {
    super();
    this.level = opts.level ?? "info";
    this.ring = new Ring(opts.ringSize ?? 5000);
    this.echo = opts.echo;
    if (opts.file) this.openFile(opts.file);
  }

  openFile(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    this.file = createWriteStream(path, { flags: "a", mode: 0o600 });
    // The mode above applies only when the file is created; an existing log (e.g. made by an older version or by
    // hand) is narrowed too, since it holds room names, user ids and task output.
    this.file.on("open", () => {
      try {
        chmodSync(path, 0o600);
      } catch {
        /* not ours to change: keep logging */
      }
    });
    this.file.on("error", (e) => {
      this.file = undefined;
      this.log("error", "log", `log file ${path} failed: ${e.message}; logging to the file stopped`);
    });
  }

  enabled(level: LogLevelName): boolean {
    return LEVEL_RANK[level] >= LEVEL_RANK[this.level];
  }

  log(level: LogLevelName, source: string, message: string): void {
    if (!this.enabled(level)) return;
    const entry: LogEntry = { seq: ++this.seq, time: Date.now(), level, source, message: this.redactor.redact(message) };
    this.ring.push(entry);
    const line = `${new Date(entry.time).toISOString()} ${level.toUpperCase().padEnd(5)} [${source}] ${entry.message}\n`;
    this.file?.write(line);
    this.echo?.write(line);
    this.emit("entry", entry);
  }

  child(source: string): Log {
    return {
      debug: (m) => this.log("debug", source, m),
      info: (m) => this.log("info", source, m),
      warn: (m) => this.log("warn", source, m),
      error: (m) => this.log("error", source, m),
    };
  }

  async close(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    if (f) await new Promise<void>((r) => f.end(r));
  }
}

/** What modules receive: a logger already bound to their source name. */
export interface Log {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/**
 * What a crash prints: the error with its stack and own properties (an HTTP library's error may carry the request's
 * URL, headers and body), with every known secret and token-like string masked.
 */
export function crashText(e: unknown, redactor: Redactor): string {
  return redactor.redact(e instanceof Error ? inspect(e, { depth: 4, breakLength: 120 }) : String(e));
}
