// The real program in a pseudo-terminal (node-pty), its screen read back with @xterm/headless: text, rows, and the
// characters of single cells (so a region can be read exactly, whatever is drawn beside it).
import type * as NodePty from "node-pty";
import { createRequire } from "node:module";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import xterm from "@xterm/headless";
import { modernTerminal } from "../harness/terminal.js";
import type { IPty } from "node-pty";

const pty = createRequire(import.meta.url)("node-pty") as typeof NodePty;
const { Terminal } = xterm;
export const MAIN = fileURLToPath(new URL("../../screens/main.js", import.meta.url));

export interface PtySession {
  p: IPty;
  term: InstanceType<typeof Terminal>;
  text(): string;
  row(y: number): string;
  /** The characters of row y, one entry per cell. */
  cells(y: number): string[];
  until(re: RegExp | (() => boolean), ms?: number): Promise<void>;
  send(s: string): void;
  exited: Promise<{ exitCode: number; signal?: number }>;
  cleanup(): void;
}

export function startPty(args: string[], o: { cols?: number; rows?: number; wait?: number } = {}): PtySession {
  const cols = o.cols ?? 160;
  const rows = o.rows ?? 48;
  const wait = o.wait ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), "chatrixcd-pty-e2ee-"));
  mkdirSync(join(dir, "xdg"));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CHATRIXCD_")) env[k] = v;
  Object.assign(env, { TERM: "xterm-256color", LANG: "C.UTF-8", NCURSES_NO_UTF8_ACS: "1", XDG_CONFIG_HOME: join(dir, "xdg") });
  const term = modernTerminal(cols, rows);
  const p = pty.spawn(process.execPath, [MAIN, ...args], { name: "xterm-256color", cols, rows, cwd: dir, env });
  p.onData((d) => term.write(d));
  term.onData((d) => p.write(d)); // answer terminal queries like a real emulator
  let gone: number | undefined;
  const exited = new Promise<{ exitCode: number; signal?: number }>((r) =>
    p.onExit((e) => {
      gone = e.exitCode;
      r(e);
    }),
  );
  const line = (y: number) => term.buffer.active.getLine(term.buffer.active.viewportY + y);
  const text = () => Array.from({ length: term.rows }, (_, i) => line(i)?.translateToString(true) ?? "").join("\n");
  return {
    p,
    term,
    text,
    exited,
    row: (y) => line(y)?.translateToString(true) ?? "",
    cells(y) {
      const l = line(y);
      const out: string[] = [];
      for (let x = 0; l && x < term.cols; x++) out.push(l.getCell(x)?.getChars() || " ");
      return out;
    },
    async until(re, ms = wait) {
      const end = Date.now() + ms;
      for (;;) {
        await new Promise<void>((r) => term.write("", r)); // let xterm finish parsing what arrived
        if (typeof re === "function" ? re() : re.test(text())) return;
        if (Date.now() > end || gone !== undefined)
          throw new Error(`${gone !== undefined ? `the program exited (${gone})` : "timed out"} waiting for ${String(re)}; screen:\n${text()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    send: (s) => p.write(s),
    cleanup() {
      try {
        p.kill("SIGKILL");
      } catch {
        /* gone */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The process's exit, or a clear failure with the screen when it does not end. */
export async function exitedWithin(s: PtySession, ms = 30_000): Promise<{ exitCode: number; signal?: number }> {
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

/**
 * A dialog's content rows, cell by cell: from the row below its title (found by `title`) to its bottom border,
 * between its left and right borders. Wide characters that the terminal draws narrower than blessed expects shift
 * what follows them, so each row ends at its own first "│" after the left border.
 */
export function dialogRows(s: PtySession, title: string): string[][] {
  for (let y = 0; y < s.term.rows; y++) {
    const c = s.cells(y);
    for (let x = 0; x < c.length; x++) {
      if (c[x] !== "┌" || c.slice(x + 1, x + 3 + title.length).join("") !== `─ ${title}`) continue;
      const out: string[][] = [];
      for (let yy = y + 1; yy < s.term.rows; yy++) {
        const r = s.cells(yy);
        if (r[x] === "└") break;
        const body: string[] = [];
        for (let xx = x + 1; xx < r.length && r[xx] !== "│"; xx++) body.push(r[xx]!);
        out.push(body);
      }
      return out;
    }
  }
  return [];
}
