// Shared by the console tests and the F6 benchmark: fake terminal streams, the in-process Semaphore emulator behind
// the real store and operations, and helpers to read the screen back.
import { PassThrough, Writable } from "node:stream";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store, type TaskState } from "../src/core/store.js";
import { Operations } from "../src/core/operations.js";
import { Logger } from "../src/log/logger.js";
import { loadConfig, type LoadedConfig } from "../src/config/load.js";
import { DEFAULT_VERSION } from "../src/emulator/index.js";
import { emulatedSemaphore, type RecordingClient } from "./helpers-semaphore.js";
import { Console, type ConsoleOptions } from "../screens/console.js";
import type { ConsoleApp } from "../screens/context.js";

export interface FakeStreams {
  input: PassThrough & { isTTY: boolean; isRaw: boolean; setRawMode(m: boolean): void };
  output: Writable & { isTTY: boolean; columns: number; rows: number };
  /** Everything written to the terminal. */
  written: () => string;
  resize(cols: number, rows: number): void;
}

export function fakeStreams(cols = 160, rows = 48): FakeStreams {
  const input = new PassThrough() as FakeStreams["input"];
  input.isTTY = true;
  input.isRaw = false;
  input.setRawMode = (m: boolean) => {
    input.isRaw = m;
  };
  const chunks: string[] = [];
  const output = new Writable({
    write(c, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  }) as FakeStreams["output"];
  output.isTTY = true;
  output.columns = cols;
  output.rows = rows;
  return {
    input,
    output,
    written: () => chunks.join(""),
    resize(c, r) {
      output.columns = c;
      output.rows = r;
      output.emit("resize");
    },
  };
}

export interface FakeApp extends ConsoleApp {
  /** The real client over the in-process emulator (test/helpers-semaphore.ts); it records every call. */
  semaphore: RecordingClient;
  stateDir: string;
}

/** The real store, logger and operations (actor checks, audit) over the emulator, in process; no network. */
export function fakeApp(opts: { readOnly?: boolean; audit?: boolean; env?: NodeJS.ProcessEnv; seed?: "demo" | "empty" } = {}): FakeApp {
  const stateDir = mkdtempSync(join(tmpdir(), "chatrixcd-console-"));
  const config: LoadedConfig = loadConfig(undefined, { demo: true, env: { CHATRIXCD_BOT_STATE_DIR: stateDir, ...opts.env } });
  if (opts.readOnly) config.values.console.read_only = true;
  const store = new Store();
  const logger = new Logger({ level: "debug" });
  const ops = new Operations({ store, logger, config, auditFile: opts.audit ? join(stateDir, "audit.jsonl") : undefined });
  const semaphore = emulatedSemaphore({ seed: opts.seed });
  ops.semaphore = semaphore;
  store.setConnection({ semaphore: "websocket", semaphoreVersion: DEFAULT_VERSION });
  return { store, ops, logger, config, semaphore, stateDir };
}

/** Puts a task into the store as the tracker would. */
export function addTask(app: ConsoleApp, taskId: number, patch: Partial<TaskState> = {}): TaskState {
  const start = new Date(Date.now() - 65_000).toISOString();
  // The console orders tasks by creation time (ids say nothing about age); here a higher id is a newer task.
  const created = new Date(Date.UTC(2026, 0, 1) + taskId * 1000).toISOString();
  return app.store.upsertTask({
    projectId: 1,
    taskId,
    templateId: 1,
    templateName: "Deploy web",
    projectName: "Infrastructure",
    status: "running",
    start,
    created,
    origin: { via: "semaphore", user: "Alice Ops" },
    ...patch,
  });
}

export interface Harness {
  con: Console;
  app: FakeApp;
  io: FakeStreams;
  /** Types keys (each string is one write). */
  keys(...k: string[]): Promise<void>;
  /** The screen as text, one string per row. */
  rows(): string[];
  text(): string;
  /** Waits until the screen (rendered) matches. */
  until(pred: RegExp | (() => boolean), ms?: number): Promise<void>;
  settle(ms?: number): Promise<void>;
  destroy(): void;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function harness(o: { cols?: number; rows?: number; app?: FakeApp; opts?: ConsoleOptions } = {}): Promise<Harness> {
  const io = fakeStreams(o.cols ?? 160, o.rows ?? 48);
  const app = o.app ?? fakeApp();
  const con = new Console(app, {
    input: io.input,
    output: io.output,
    terminal: "xterm-256color",
    tickMs: 0,
    historyFile: "",
    demo: true,
    exit: () => undefined,
    ...o.opts,
  });
  const rows = () => (con.screen as unknown as { lines: Array<Array<[number, string]>> }).lines.map((r) => r.map((c) => c[1]).join(""));
  const settle = async (ms = 15) => {
    await sleep(ms);
    con.scheduler.flush();
  };
  const h: Harness = {
    con,
    app,
    io,
    rows,
    text: () => rows().join("\n"),
    async keys(...k) {
      for (const s of k) {
        io.input.write(s);
        await sleep(5);
      }
      await settle();
    },
    async until(pred, ms = 3000) {
      const end = Date.now() + ms;
      for (;;) {
        con.scheduler.flush();
        const ok = typeof pred === "function" ? pred() : pred.test(rows().join("\n"));
        if (ok) return;
        if (Date.now() > end) throw new Error(`timed out waiting for ${String(pred)}; screen:\n${rows().join("\n")}`);
        await sleep(10);
      }
    },
    settle,
    destroy() {
      con.restore();
      rmSync(app.stateDir, { recursive: true, force: true });
    },
  };
  await settle();
  return h;
}

export const KEY = {
  enter: "\r",
  esc: "\x1b",
  tab: "\t",
  shiftTab: "\x1b[Z",
  up: "\x1b[A",
  down: "\x1b[B",
  right: "\x1b[C",
  left: "\x1b[D",
  backspace: "\x7f",
  ctrlC: "\x03",
};

/** An SGR mouse press and release at (x, y), 0-based, in one chunk (as a fast terminal sends them). */
export const click = (x: number, y: number) => `\x1b[<0;${x + 1};${y + 1}M\x1b[<0;${x + 1};${y + 1}m`;
export const wheel = (x: number, y: number, down: boolean) => `\x1b[<${down ? 65 : 64};${x + 1};${y + 1}M`;
