// What a flow (tasks, approvals, rooms, verification, login, the command runner) needs from the console: the
// engine, the dialogs, the status line. Flows never touch the layout or the terminal.
import { CONSOLE_ACTOR, type ConsoleApp, type ViewContext } from "../context.js";
import type { PromptTarget } from "../../src/core/operations.js";
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
 * A prompt the operator answered No (or Esc) to. Run and stop prompts are audited as cancelled by the same operation
 * as chat's (`ops.cancelPrompt`); the console's other confirms (approve, reload) change nothing and are only logged.
 */
export function promptCancelled(host: FlowHost, what: string, message: string, target?: PromptTarget): void {
  host.app.logger.log("info", "console", `cancelled at the console: ${what}`);
  if (target) void host.app.ops.cancelPrompt(CONSOLE_ACTOR, target).catch((e: unknown) => host.reportError(e));
  host.say(message);
}
