// The real program (`chatrixcd --demo`) in a pseudo-terminal (node-pty), its screen read back with @xterm/headless:
// text, rows, cell colours and the raw bytes written. Shared by console-pty.test.ts and console-pty-checklist.test.ts.
import type * as NodePty from "node-pty";
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import xterm from "@xterm/headless";
import { modernTerminal } from "./harness/terminal.js";
import type { IPty } from "node-pty";

const pty = createRequire(import.meta.url)("node-pty") as typeof NodePty;
const { Terminal } = xterm;
export const MAIN = fileURLToPath(new URL("../screens/main.js", import.meta.url));
export const WAIT = 30_000;
export const ESC = "\x1b";

export interface Session {
  p: IPty;
  term: InstanceType<typeof Terminal>;
  /** The working directory the program runs in. */
  dir: string;
  /** Every byte the program wrote to the terminal so far. */
  raw: () => string;
  text(): string;
  row(y: number): string;
  until(re: RegExp | (() => boolean), ms?: number): Promise<void>;
  send(s: string): void;
  resize(cols: number, rows: number): void;
  exited: Promise<{ exitCode: number; signal?: number }>;
  cleanup(): void;
}

export interface StartOptions {
  /** Run in this directory, which the caller owns (not removed at cleanup); default: a fresh temp dir. */
  cwd?: string;
  /** false: no CHATRIXCD_BOT_STATE_DIR, so the program picks its state dir as a user's `npm start` would. */
  stateDir?: boolean;
  /** More environment variables (CHATRIXCD_* from the test's own environment are never passed on). */
  env?: Record<string, string>;
}

export function start(cols = 120, rows = 36, args: string[] = ["--demo"], script = MAIN, o: StartOptions = {}): Session {
  const dir = o.cwd ?? mkdtempSync(join(tmpdir(), "chatrixcd-pty-"));
  if (!existsSync(join(dir, "xdg"))) mkdirSync(join(dir, "xdg"));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CHATRIXCD_")) env[k] = v;
  Object.assign(env, {
    TERM: "xterm-256color",
    LANG: "C.UTF-8",
    NCURSES_NO_UTF8_ACS: "1",
    XDG_CONFIG_HOME: join(dir, "xdg"),
    ...(o.stateDir === false ? {} : { CHATRIXCD_BOT_STATE_DIR: join(dir, "state") }),
    ...o.env,
  });
  const term = modernTerminal(cols, rows);
  const p = pty.spawn(process.execPath, [script, ...args], { name: "xterm-256color", cols, rows, cwd: dir, env });
  let raw = "";
  p.onData((d) => {
    raw += d;
    term.write(d);
  });
  term.onData((d) => p.write(d)); // answer terminal queries like a real emulator
  const exited = new Promise<{ exitCode: number; signal?: number }>((r) => p.onExit((e) => r(e)));
  const text = () => {
    const b = term.buffer.active;
    return Array.from({ length: term.rows }, (_, i) => b.getLine(b.viewportY + i)?.translateToString(true) ?? "").join("\n");
  };
  return {
    p,
    term,
    dir,
    text,
    exited,
    raw: () => raw,
    row: (y) => text().split("\n")[y] ?? "",
    async until(re, ms = WAIT) {
      const end = Date.now() + ms;
      for (;;) {
        // Let xterm finish parsing what arrived.
        await new Promise<void>((r) => term.write("", r));
        if (typeof re === "function" ? re() : re.test(text())) return;
        if (Date.now() > end) throw new Error(`timed out waiting for ${String(re)}; screen:\n${text()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    send: (s) => p.write(s),
    resize(c, r) {
      p.resize(c, r);
      term.resize(c, r);
    },
    cleanup() {
      try {
        p.kill("SIGKILL");
      } catch {
        /* gone */
      }
      if (!o.cwd) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The exit, or a clear failure with the screen when the process does not end. */
export async function exitedWithin(s: Session, ms = WAIT): Promise<{ exitCode: number; signal?: number }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`the process did not exit; screen:\n${s.text()}`)), ms);
  });
  try {
    return await Promise.race([s.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The first cell of `word` on screen. */
function cellOf(s: Session, word: string) {
  const b = s.term.buffer.active;
  for (let y = 0; y < s.term.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    const x = line?.translateToString(true).indexOf(word) ?? -1;
    if (line && x >= 0) return line.getCell(x)!;
  }
  throw new Error(`${word} is not on screen:\n${s.text()}`);
}

/** The foreground of the first cell of `word` on screen: palette index, or -1 when not a palette colour. */
export function fgOf(s: Session, word: string): { palette: boolean; color: number } {
  const cell = cellOf(s, word);
  return { palette: Boolean(cell.isFgPalette()), color: cell.getFgColor() };
}

/** The background of the first cell of `word` on screen. */
export function bgOf(s: Session, word: string): { palette: boolean; color: number } {
  const cell = cellOf(s, word);
  return { palette: Boolean(cell.isBgPalette()), color: cell.getBgColor() };
}

/** Through the run wizard (r, the first project, "Full backup", default parameters, y) to its output streaming; a Full
 * backup runs for minutes, so it is still running when this returns. The wizard's own screens are checked in
 * console-pty.test.ts "run wizard to a running task". */
export async function runFullBackup(s: Session): Promise<void> {
  s.send("r");
  await s.until(/Run: choose a project/);
  s.send("\r");
  await s.until(/Full backup\s+\(template/);
  s.send("/Full");
  await s.until(() => !/Deploy web\s+\(template/.test(s.text()));
  s.send("\r");
  await s.until(/survey and parameters/);
  s.send("\r");
  await s.until(/Run task \(3\/3\)/);
  s.send("y");
  await s.until(/PLAY \[/);
}
