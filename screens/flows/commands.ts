// The command runner behind `:`: the console's own commands from their table, everything else through the chat
// grammar as the console actor. A reply's structured prompt (run, stop, exit) becomes a confirm dialog.
import { CONSOLE_ACTOR } from "../context.js";
import { userMessage } from "../../src/core/operations.js";
import { runCommandLine } from "../../src/commands/dispatch.js";
import { pathLines } from "../../src/cli/paths.js";
import type { Reply } from "../../src/commands/types.js";
import type { TaskState } from "../../src/core/store.js";
import { ConfirmDialog } from "../dialogs/dialogs.js";
import { findLocalCommand, shownLine, type LocalActions } from "../widgets/command-bar.js";
import { sanitize, width as strWidth } from "../text.js";
import type { FlowHost } from "./host.js";

export class CommandRunner {
  /** `started`: a command started a task; the console selects it. `cols`: the screen width now. */
  constructor(
    private readonly host: FlowHost,
    private readonly local: LocalActions,
    private readonly started: (task: TaskState) => void,
    private readonly cols: () => number,
  ) {}

  async run(line: string): Promise<void> {
    const [word = "", ...rest] = line.trim().split(/\s+/);
    const local = findLocalCommand(word);
    if (local) {
      local.run(this.local, rest);
      return;
    }
    const h = this.host;
    const before = h.app.ops.lastTask(CONSOLE_ACTOR);
    h.say(`:${shownLine(line)} …`);
    const reply = await runCommandLine({ actor: CONSOLE_ACTOR, ops: h.app.ops, prefix: ":" }, line);
    await this.show(line, word === "info" && !reply.confirm ? { ...reply, text: `${reply.text}\n\n${this.paths().join("\n")}` } : reply);
    const after = h.app.ops.lastTask(CONSOLE_ACTOR);
    if (after && (after.taskId !== before?.taskId || after.projectId !== before?.projectId)) {
      const t = h.app.store.tasks.get(`${after.projectId}:${after.taskId}`);
      if (t) this.started(t);
    }
  }

  /** Where this process keeps things (k9s-style `info`): local paths, so only the console shows them, never chat. */
  private paths(): string[] {
    const app = this.host.app;
    const v = app.ops.config.values;
    const facts = { configFile: app.config.path, stateDir: v.bot.state_dir, logFile: v.bot.log_file, auditFile: app.ops.audit.file };
    return ["On this machine (shown at the console only):", ...pathLines(facts)];
  }

  private async show(line: string, reply: Reply): Promise<void> {
    const h = this.host;
    if (reply.confirm) {
      const c = reply.confirm;
      const d = h.openDialog(
        new ConfirmDialog(h.modals, h.ctx, {
          title: "Confirm",
          lines: [sanitize(c.question ?? `${c.summary}?`), ...(c.details?.length ? ["", ...c.details.map(sanitize)] : [])],
          yes: "Yes, do it",
        }),
      );
      const timer = c.timeoutMs ? setTimeout(() => d.cancel(), c.timeoutMs) : undefined;
      const yes = await d.result;
      if (timer) clearTimeout(timer);
      if (!yes) {
        await c.onCancel?.();
        h.say("Cancelled; nothing was done.");
        return;
      }
      let next: Reply;
      try {
        next = await c.onConfirm();
      } catch (e) {
        h.say(userMessage(e), "error");
        return;
      }
      await this.show(line, next);
      return;
    }
    // A started task: the console says it in its own words once (the chat line repeats the name for the card).
    const task = reply.card && "taskKey" in reply.card ? h.app.store.tasks.get(reply.card.taskKey) : undefined;
    if (task) {
      h.say(
        sanitize(
          `Started task #${task.taskId}: ${task.templateName ?? `template ${task.templateId ?? "?"}`} in ${task.projectName ?? `project ${task.projectId}`}.`,
        ),
        "ok",
        10_000,
      );
      return;
    }
    const lines = reply.text.split("\n").map((l) => sanitize(l));
    const level = /^(🚫|⚠|❓)/u.test(lines[0] ?? "") ? (lines[0]!.startsWith("🚫") ? "error" : "warn") : "info";
    if (lines.length === 1 && strWidth(lines[0]!) < this.cols() - 4) h.say(lines[0]!, level, 10_000);
    else h.showText(`:${shownLine(line)}`, lines);
  }
}
