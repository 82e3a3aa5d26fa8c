// Small adapters between the console and operations that not every engine version offers. Everything still
// goes through the operations (or, failing that, the command dispatcher) as the console actor.
import type { ConsoleApp } from "./context.js";
import { CONSOLE_ACTOR } from "./context.js";
import type { ApprovalRequest } from "../src/core/approvals.js";
import type { TaskState } from "../src/core/store.js";
import { runCommandLine } from "../src/commands/dispatch.js";
import { findCommand } from "../src/commands/registry.js";
import { OperationError } from "../src/core/operations.js";

interface ApprovalsLike {
  get?(id: string): ApprovalRequest | undefined;
  approve?(actor: typeof CONSOLE_ACTOR, req: ApprovalRequest): Promise<{ req: ApprovalRequest; task?: TaskState }>;
  deny?(actor: typeof CONSOLE_ACTOR, req: ApprovalRequest, reason?: string): Promise<ApprovalRequest>;
}

/**
 * Approves or denies a run request waiting for approval. Uses the approval operations when the engine has them,
 * else the `approve`/`deny` commands. Returns a line for the operator.
 */
export async function decidePending(app: ConsoleApp, id: string, accept: boolean): Promise<string> {
  const approvals = (app.ops as unknown as { approvals?: ApprovalsLike }).approvals;
  const req = approvals?.get?.(id);
  if (req && accept && approvals?.approve) {
    const { req: after, task } = await approvals.approve(CONSOLE_ACTOR, req);
    if (after.status === "started" && task) return `Approved ${after.id}: ${after.run.template.name} started as task #${task.taskId}.`;
    if (after.status === "failed") return `Approved ${after.id}, but starting ${after.run.template.name} failed: ${after.error ?? "unknown error"}`;
    return `Approved ${after.id}: ${after.approvals.length}/${after.needed} approvals.`;
  }
  if (req && !accept && approvals?.deny) {
    const after = await approvals.deny(CONSOLE_ACTOR, req, "denied at the console");
    return `Denied ${after.id} (${after.run.template.name}); it will not run.`;
  }
  const cmd = findCommand(accept ? "approve" : "deny");
  if (cmd) return (await runCommandLine({ actor: CONSOLE_ACTOR, ops: app.ops, prefix: ":" }, `${cmd.name} ${id}`)).text;
  throw new OperationError("This version of the engine cannot approve run requests.", "unavailable");
}
