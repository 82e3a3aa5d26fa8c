// Task actions: run (the wizard), stop and force-stop, confirm or reject a task waiting for confirmation. Each asks
// first and goes through the task operations as the console actor.
import { CONSOLE_ACTOR } from "../context.js";
import type { TaskState } from "../../src/core/store.js";
import { userMessage } from "../../src/core/operations.js";
import { isTerminalStatus } from "../../src/semaphore/types.js";
import { stopOutcome } from "../../src/commands/builtin/stop.js";
import { ConfirmDialog } from "../dialogs/dialogs.js";
import { runWizard } from "../dialogs/run-wizard.js";
import { promptCancelled, type FlowHost } from "./host.js";
import type { Pins } from "./pins.js";

export class TaskFlow {
  private wizardBusy = false;

  /** `started`: a task was started here; the console selects it and opens its output. */
  constructor(
    private readonly host: FlowHost,
    private readonly started: (task: TaskState) => void,
    private readonly pins: Pins,
  ) {}

  runWizard(): void {
    if (this.wizardBusy) return;
    this.wizardBusy = true;
    const h = this.host;
    void runWizard({
      modals: h.modals,
      ctx: h.ctx,
      say: (text, level) => {
        if (text) h.say(text, level);
        else h.clearMessage();
      },
      started: (task) => this.started(task),
      pins: this.pins,
      launch: (run) => h.app.ops.tasks.launch(CONSOLE_ACTOR, run),
      cancelled: (run) => promptCancelled(h, `run ${run.template.name}`, "Run cancelled; nothing was started.", { kind: "run", run }),
    })
      .catch((e) => h.reportError(e))
      .finally(() => {
        this.wizardBusy = false;
      });
  }

  stop(t: TaskState | undefined, force: boolean): void {
    const h = this.host;
    if (!t) {
      h.say("Select a task to stop first.", "warn");
      return;
    }
    if (isTerminalStatus(t.status)) {
      h.say(`Task #${t.taskId} already finished (${t.status}); nothing to stop.`, "warn");
      return;
    }
    const name = `#${t.taskId} ${t.templateName ?? `template ${t.templateId ?? "?"}`}`;
    const verb = force ? "Force-stop" : "Stop";
    const d = h.openDialog(
      new ConfirmDialog(h.modals, h.ctx, {
        title: force ? "Force-stop task" : "Stop task",
        lines: [
          `${verb} task ${name} in ${t.projectName ?? `project ${t.projectId}`}?`,
          `It is ${t.status}${t.origin ? `, started by ${t.origin.via === "console" ? "the console" : (t.origin.user ?? t.origin.via)}` : ""}.`,
          stopOutcome(t.status, force),
        ],
        yes: `${verb} #${t.taskId}`,
        danger: true,
      }),
    );
    void d.result.then(async (yes) => {
      if (!yes) {
        promptCancelled(h, `${verb.toLowerCase()} #${t.taskId}`, `Task #${t.taskId} left running.`, { kind: "stop", task: t, force });
        return;
      }
      try {
        await h.app.ops.tasks.stop(CONSOLE_ACTOR, h.app.store.tasks.get(t.key) ?? t, force);
        h.say(`${verb} sent to task #${t.taskId}.`, "ok");
      } catch (e) {
        h.say(`Could not stop #${t.taskId}: ${userMessage(e)}`, "error");
      }
    });
  }

  /** Confirms (accept) or rejects a task waiting for confirmation (e.g. a Terraform plan). */
  confirm(t: TaskState | undefined, accept: boolean): void {
    const h = this.host;
    if (!t || t.status !== "waiting_confirmation") {
      h.say(`Nothing to ${accept ? "approve" : "deny"} here: select a task waiting for confirmation or a run request.`, "warn");
      return;
    }
    const verb = accept ? "Confirm" : "Reject";
    const d = h.openDialog(
      new ConfirmDialog(h.modals, h.ctx, {
        title: accept ? "Confirm task" : "Reject task",
        lines: [
          `${verb} task #${t.taskId} ${t.templateName ?? ""} in ${t.projectName ?? `project ${t.projectId}`}?`,
          accept ? "Semaphore continues it (e.g. applies the plan)." : "Semaphore ends it without continuing.",
        ],
        yes: `${verb} #${t.taskId}`,
        danger: !accept,
      }),
    );
    void d.result.then(async (yes) => {
      if (!yes) {
        promptCancelled(h, `${verb.toLowerCase()} #${t.taskId}`, `Task #${t.taskId} still waits for confirmation.`);
        return;
      }
      try {
        await h.app.ops.tasks.confirm(CONSOLE_ACTOR, h.app.store.tasks.get(t.key) ?? t, accept);
        h.say(`${accept ? "Confirmed" : "Rejected"} task #${t.taskId}.`, "ok");
      } catch (e) {
        h.say(`Could not ${accept ? "confirm" : "reject"} #${t.taskId}: ${userMessage(e)}`, "error");
      }
    });
  }
}
