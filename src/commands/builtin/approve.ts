import type { CommandContext, CommandSpec, Reply } from "../types.js";
import { plain, taskName, joinAnd } from "../format.js";
import { OperationError } from "../../core/operations.js";
import type { TaskState } from "../../core/store.js";
import { requestState } from "../../core/approvals.js";

const REQUEST_REF = /^#?r\d+$/i;

/** The task a confirm/reject/approve/deny refers to: given, the last one here, or the only one waiting here. */
async function waitingTask(ctx: CommandContext, ref: string | undefined): Promise<TaskState> {
  if (ref) return ctx.ops.tasks.find(ctx.actor, ref);
  const waiting = ctx.ops.tasks.waitingConfirmation(ctx.actor);
  if (waiting.length === 1) return waiting[0]!;
  if (waiting.length > 1)
    throw new OperationError(`Which task? Waiting for confirmation: ${waiting.map((t) => `${t.taskId} (${t.templateName ?? "?"})`).join(", ")}.`, "bad_input");
  return ctx.ops.tasks.find(ctx.actor, undefined);
}

async function confirmTask(ctx: CommandContext, ref: string | undefined, accept: boolean): Promise<Reply> {
  const task = await waitingTask(ctx, ref);
  await ctx.ops.tasks.confirm(ctx.actor, task, accept);
  return plain(accept ? `👍 Confirmed ${taskName(task)}; Semaphore continues it.` : `🚫 Rejected ${taskName(task)}.`);
}

function tooMany(ctx: CommandContext, name: string, args: string[]): Reply | undefined {
  return args.length > (name === "deny" ? 99 : 1)
    ? plain(`⚠️ ${name} takes one task or request id, not ${args.length} words.\nUsage: ${ctx.prefix} ${name} <task or request>`)
    : undefined;
}

export const approve: CommandSpec = {
  name: "approve",
  usage: "[request or task]",
  summary: "Approve a run waiting for approval (r1, r2, …), or confirm a task Semaphore holds for confirmation.",
  permission: "read",
  permissionText: "an approver of the template (or approve permission here); never for your own run",
  async run(ctx, args) {
    const bad = tooMany(ctx, "approve", args);
    if (bad) return bad;
    const ref = args[0];
    if (ref && !REQUEST_REF.test(ref)) return confirmTask(ctx, ref, true);
    if (
      !ref &&
      ctx.ops.approvals.pending().filter((r) => ctx.actor.kind !== "chat" || r.roomId === ctx.actor.roomId).length === 0 &&
      ctx.ops.tasks.waitingConfirmation(ctx.actor).length > 0
    )
      return confirmTask(ctx, undefined, true);
    const req = ctx.ops.approvals.find(ctx.actor, ref);
    const { req: after, task } = await ctx.ops.approvals.approve(ctx.actor, req);
    if (after.status === "started" && task)
      return plain(`✅ Approved ${after.id} (${after.approvals.length}/${after.needed}); ${after.run.template.name} started as task ${task.taskId}.`);
    if (after.status === "failed") return plain(`⚠️ Approved ${after.id}, but starting ${after.run.template.name} failed: ${after.error}`);
    if (after.status !== "pending") return plain(`👍 Approved ${after.id} (${after.approvals.length}/${after.needed}); it ${requestState(after)}.`);
    const waiting = ctx.ops.approvals.waitingOn(after);
    return plain(`👍 Approved ${after.id}: ${after.approvals.length}/${after.needed}${waiting.length ? `, waiting on ${joinAnd(waiting)}` : ""}.`);
  },
};

export const deny: CommandSpec = {
  name: "deny",
  usage: "[request or task] [reason…]",
  summary: "Deny a run waiting for approval (the requester may withdraw it), or reject a task held for confirmation.",
  permission: "read",
  permissionText: "an approver of the template (or approve permission here), or the requester",
  async run(ctx, args) {
    const ref = args[0];
    if (ref && !REQUEST_REF.test(ref)) {
      if (args.length > 1) return plain(`⚠️ A reason can be given only when denying an approval request (r1, r2, …).`);
      return confirmTask(ctx, ref, false);
    }
    const req = ctx.ops.approvals.find(ctx.actor, ref);
    const reason = args.slice(1).join(" ").slice(0, 300) || undefined;
    const after = await ctx.ops.approvals.deny(ctx.actor, req, reason);
    return plain(
      after.deniedBy === after.requester
        ? `↩️ Withdrawn: ${after.id} (${after.run.template.name}) will not run.`
        : `🚫 Denied ${after.id} (${after.run.template.name}); it will not run.`,
    );
  },
};

export const confirm: CommandSpec = {
  name: "confirm",
  usage: "[task]",
  summary: "Confirm a task that Semaphore holds for confirmation (e.g. a Terraform plan before apply).",
  permission: "approve",
  async run(ctx, args) {
    return tooMany(ctx, "confirm", args) ?? confirmTask(ctx, args[0], true);
  },
};

export const reject: CommandSpec = {
  name: "reject",
  usage: "[task]",
  summary: "Reject a task that Semaphore holds for confirmation.",
  permission: "approve",
  async run(ctx, args) {
    return tooMany(ctx, "reject", args) ?? confirmTask(ctx, args[0], false);
  },
};
