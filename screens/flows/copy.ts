// Copy to the system clipboard with OSC 52 (works over ssh, no X needed): the selected task's URL in Semaphore,
// the task output (the lines matching the search, or the last N), the last N log lines.
import type { TaskState } from "../../src/core/store.js";
import { taskUrl } from "../../src/commands/format.js";
import { osc52 } from "../terminal.js";
import type { FlowHost } from "./host.js";

/** How many lines a copy takes at most: terminals cap OSC 52 payloads (often around 100 kB). */
export const COPY_LINES = 50;

export class CopyFlow {
  /** `write`: straight to the terminal, past blessed. */
  constructor(
    private readonly host: FlowHost,
    private readonly write: (s: string) => void,
  ) {}

  text(text: string, what: string): void {
    if (!text) {
      this.host.say(`Nothing to copy: ${what} is empty.`, "warn");
      return;
    }
    this.write(osc52(text));
    this.host.say(`Copied ${what} (OSC 52: the terminal must allow clipboard writes; in tmux, set-clipboard on).`, "ok");
  }

  taskUrl(t: TaskState | undefined): void {
    if (!t) {
      this.host.say("Select a task first.", "warn");
      return;
    }
    const s = this.host.app.ops.config.values.semaphore;
    const url = taskUrl(s.web_url || s.url || this.host.app.ops.semaphore?.baseUrl, t.projectId, t.taskId);
    if (!url) {
      this.host.say("No Semaphore web address is known: set [semaphore] web_url.", "warn");
      return;
    }
    this.text(url, `the URL of task #${t.taskId}`);
  }

  lines(lines: string[], what: string): void {
    this.text(lines.join("\n"), what);
  }
}
