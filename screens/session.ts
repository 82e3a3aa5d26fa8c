// The console's hold on the terminal: the screen over the (mouse-splitting) input, stray stdout/stderr writes
// captured into the log while the screen is up, the process guards, and one idempotent way to give it all back.
import type { Logger } from "../src/log/logger.js";
import {
  createScreen,
  mouseSplittingInput,
  StdioGuard,
  restoreTerminal,
  installProcessGuards,
  type ProcessGuards,
  type Screen,
  type TtyInput,
} from "./terminal.js";

export interface SessionOptions {
  /** Default: the process's stdin/stdout, then stdio is guarded and signals handled. */
  input?: TtyInput;
  output?: NodeJS.WritableStream;
  terminal?: string;
  logger: Logger;
}

export class TerminalSession {
  readonly screen: Screen;
  /** Writes straight to the terminal, past blessed and the stdio guard (OSC 52, the restore sequence). */
  readonly writeRaw: (s: string) => void;
  /** The console runs on the process's own terminal (not a test's streams). */
  readonly usingProcess: boolean;
  private readonly stdio?: StdioGuard;
  private readonly input: TtyInput;
  private readonly split: TtyInput & { detach(): void };
  private removeGuards?: () => void;

  constructor(o: SessionOptions) {
    this.usingProcess = !o.output || o.output === process.stdout;
    this.input = o.input ?? (process.stdin as unknown as TtyInput);
    const output = o.output ?? process.stdout;
    // Input: re-chunked so every mouse sequence is seen; output: stray writes (libraries, warnings) go to the log.
    this.split = mouseSplittingInput(this.input);
    if (this.usingProcess) {
      this.stdio = new StdioGuard((stream, line) => o.logger.log(stream === "stderr" ? "warn" : "info", stream, line));
      this.writeRaw = this.stdio.realStdoutWrite;
    } else {
      this.writeRaw = (s) => {
        output.write(s);
      };
    }
    this.screen = createScreen({ input: this.split, output, terminal: o.terminal, title: "ChatrixCD" });
    if (this.stdio) {
      // blessed keeps writing through the real stdout; everyone else is captured.
      const program = this.screen.program as unknown as { _owrite: (s: string) => unknown; write: (s: string) => unknown };
      program._owrite = program.write = (s: string) => this.writeRaw(s);
      this.stdio.engage();
    }
  }

  /** Signals, crashes and exit restore the terminal (only on the process's own terminal). */
  guard(g: ProcessGuards): void {
    if (this.usingProcess) this.removeGuards = installProcessGuards(g);
  }

  /** Gives the terminal back: raw mode off, the normal screen, the cursor, stdio as it was. */
  restore(): void {
    restoreTerminal(this.screen, this.writeRaw, this.input);
    this.split.detach();
    this.stdio?.release();
    this.removeGuards?.();
    this.removeGuards = undefined;
  }
}
