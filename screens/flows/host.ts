// What a flow (tasks, approvals, rooms, verification, login, the command runner) needs from the console: the
// engine, the dialogs, the status line. Flows never touch the layout or the terminal.
import type { ConsoleApp, ViewContext } from "../context.js";
import type { Modal, Modals } from "../dialogs/dialogs.js";

export type Level = "info" | "ok" | "warn" | "error";

export interface FlowHost {
  readonly app: ConsoleApp;
  readonly ctx: ViewContext;
  readonly modals: Modals;
  /** The console stopped: late answers (a verification, a login prompt) are ignored. */
  readonly destroyed: boolean;
  say(text: string, level?: Level, ms?: number): void;
  clearMessage(): void;
  openDialog<T extends Modal>(d: T): T;
  showText(title: string, lines: string[]): void;
  reportError(e: unknown): void;
}

/**
 * A prompt the operator answered No (or Esc) to. Chat prompts audit their cancel in `onCancel`; the console's own
 * confirms (stop, approve, reload) have no operation for it yet, so this is the one place to call it from.
 */
export function promptCancelled(host: FlowHost, what: string, message: string): void {
  host.app.logger.log("info", "console", `cancelled at the console: ${what}`);
  host.say(message);
}
