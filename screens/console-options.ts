// How the console is started: runConsole passes the process's terminal; tests and the benchmark pass fake streams,
// no ticker and no history file.
import type { TtyInput } from "./terminal.js";

export interface ConsoleOptions {
  /** Terminal streams; default the process's stdin/stdout (then stdio is guarded and signals handled). */
  input?: TtyInput;
  output?: NodeJS.WritableStream;
  terminal?: string;
  /** Ends the process after the terminal is restored (runCli's exit). */
  exit?: (code: number) => unknown;
  /** Shown in the header; default: --demo or no config file. */
  demo?: boolean;
  /** Clock, elapsed times: 1000 ms; 0 turns the ticker off (tests). */
  tickMs?: number;
  /** Frames per second for data updates (keys render at once). Default 5. */
  maxHz?: number;
  /** Command bar history file; default <state_dir>/console-history, "" for none. */
  historyFile?: string;
  /** Mouse on at start; default [console] mouse. */
  mouse?: boolean;
}
