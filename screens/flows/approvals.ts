// Run requests waiting for approval (templates with an approval policy): approve or deny after a dialog, through
// the approval operations as the console actor.
import { CONSOLE_ACTOR } from "../context.js";
import type { ApprovalRequest } from "../../src/core/approvals.js";
import { userMessage } from "../../src/core/operations.js";
import { ConfirmDialog } from "../dialogs/dialogs.js";
import { sanitize } from "../text.js";
import { promptCancelled, type FlowHost } from "./host.js";

/** Approves or denies a request; returns the line for the status bar. */
export async function decideRequest(host: FlowHost, req: ApprovalRequest, accept: boolean): Promise<string> {
  const approvals = host.app.ops.approvals;
  if (!accept) {
    const after = await approvals.deny(CONSOLE_ACTOR, req, "denied at the console");
    return `Denied ${after.id} (${after.run.template.name}); it will not run.`;
  }
  const { req: after, task } = await approvals.approve(CONSOLE_ACTOR, req);
  if (after.status === "started" && task) return `Approved ${after.id}: ${after.run.template.name} started as task #${task.taskId}.`;
  if (after.status === "failed") return `Approved ${after.id}, but starting ${after.run.template.name} failed: ${after.error ?? "unknown error"}`;
  return `Approved ${after.id}: ${after.approvals.length}/${after.needed} approvals.`;
}

/** Asks first (Cancel is the default), then decides. */
export function confirmDecision(host: FlowHost, r: ApprovalRequest, accept: boolean, done: () => void): void {
  const verb = accept ? "Approve" : "Deny";
  const d = host.openDialog(
    new ConfirmDialog(host.modals, host.ctx, {
      title: `${verb} run request`,
      lines: [`${verb} request ${r.id}: run ${r.run.summary}?`, `Asked by ${r.requester}; ${r.approvals.length}/${r.needed} approvals so far.`],
      yes: `${verb} ${r.id}`,
      danger: !accept,
    }),
  );
  void d.result.then(async (yes) => {
    if (!yes) {
      promptCancelled(host, `${verb.toLowerCase()} ${r.id}`, `Request ${r.id} unchanged.`);
      return;
    }
    try {
      host.say(sanitize(await decideRequest(host, r, accept)), "ok");
    } catch (e) {
      host.say(`${verb} ${r.id} failed: ${userMessage(e)}`, "error");
    }
    done();
  });
}
