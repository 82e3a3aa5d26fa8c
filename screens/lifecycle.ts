// Leaving the console: quitting (asked first while the bot serves Matrix), signals and crashes. The terminal is
// always restored first; then the engine stops through runCli's exit.
import { crashText, type Logger } from "../src/log/logger.js";
import type { ConsoleApp, ViewContext } from "./context.js";
import { ConfirmDialog, type Modal, type Modals } from "./dialogs/dialogs.js";

export interface LifecycleHost {
  readonly app: ConsoleApp;
  readonly ctx: ViewContext;
  readonly modals: Modals;
  readonly destroyed: boolean;
  openDialog<T extends Modal>(d: T): T;
  /** Restores the terminal (idempotent, synchronous). */
  restore(): void;
}

export class Lifecycle {
  constructor(
    private readonly h: LifecycleHost,
    private readonly exit: ((code: number) => unknown) | undefined,
    private readonly ownTerminal: boolean,
  ) {}

  quit(): void {
    const m = this.h.app.store.connection.matrix;
    if (m === "not_configured" || m === "stopped") {
      void this.shutdown(0);
      return;
    }
    const d = this.h.openDialog(
      new ConfirmDialog(this.h.modals, this.h.ctx, {
        title: "Quit",
        lines: ["Quit ChatrixCD?", "The bot stops answering in Matrix until it is started again. Tasks already running in Semaphore continue."],
        yes: "Quit",
        danger: true,
      }),
    );
    void d.result.then((yes) => {
      if (yes) void this.shutdown(0);
    });
  }

  async shutdown(code: number): Promise<void> {
    if (this.h.destroyed) return;
    this.h.restore();
    // The terminal is back; if stopping the engine takes a while (Matrix, Semaphore), say so.
    const slow = this.ownTerminal ? setTimeout(() => process.stderr.write("chatrixcd: stopping…\n"), 2000) : undefined;
    slow?.unref();
    try {
      await this.exit?.(code);
    } finally {
      if (slow) clearTimeout(slow);
    }
  }

  fatal(e: unknown, logger: Logger): void {
    const wasUp = !this.h.destroyed;
    this.h.restore();
    const text = crashText(e, logger.redactor);
    try {
      logger.log("error", "console", `crash: ${text}`);
    } catch {
      /* ignore */
    }
    process.stderr.write(`\nchatrixcd: crashed${wasUp ? " (terminal restored)" : ""}:\n${text}\n`);
    setTimeout(() => process.exit(1), 3000).unref();
    void Promise.resolve(this.exit?.(1))
      .catch(() => undefined)
      .finally(() => process.exit(1));
  }
}
