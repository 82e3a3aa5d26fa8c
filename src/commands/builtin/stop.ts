import type { CommandSpec } from "../types.js";
import { plain, escapeHtml, taskName, statusLabel } from "../format.js";

/**
 * How a stop ends, as Semaphore v2.10 does it: a graceful stop of a running playbook kills it and the task ends as
 * failed ("signal: killed"); a queued task, or a force-stop, ends as stopped.
 */
export function stopOutcome(status: string, force: boolean): string {
  if (force) return "Force-stop kills it at once, without letting Ansible finish the current step; it ends as stopped.";
  if (status === "waiting") return "It has not started yet: Semaphore takes it off the queue and it ends as stopped.";
  return 'Semaphore kills the running playbook: the task ends as failed ("signal: killed"), not as stopped.';
}

export const stop: CommandSpec = {
  name: "stop",
  usage: "[task] [--force]",
  summary: "Stop a task (the last one started here if none is given); asks you to confirm. --force kills it at once.",
  permission: "stop",
  async run(ctx, args) {
    let force = false;
    const rest: string[] = [];
    for (const a of args) {
      if (a.toLowerCase() === "--force" || a === "-f") force = true;
      else if (a.startsWith("-"))
        return plain(`⚠️ Unknown option ${JSON.stringify(a.slice(0, 40))}: stop takes only --force.\nUsage: ${ctx.prefix} stop [task] [--force]`);
      else rest.push(a);
    }
    if (rest.length > 1) return plain(`⚠️ stop takes one task id, not ${rest.length} words.\nUsage: ${ctx.prefix} stop [task] [--force]`);
    const task = await ctx.ops.tasks.stoppable(ctx.actor, rest[0]);
    const timeoutMs = ctx.ops.config.values.bot.confirm_timeout * 1000;
    const what = `${taskName(task)} (${statusLabel(String(task.status))}${task.projectName ? `, ${task.projectName}` : ""})`;
    const question = `${force ? "Force-stop" : "Stop"} ${what}?`;
    const outcome = stopOutcome(String(task.status), force);
    const text = `⚠️ ${question} ${outcome} Reply yes or no (or react 👍 / 👎).`;
    return {
      text,
      html: escapeHtml(text),
      confirm: {
        kind: "stop",
        summary: `${force ? "Force-stop" : "Stop"} ${what}`,
        question,
        details: [outcome],
        timeoutMs,
        onConfirm: async () => {
          const fresh = ctx.ops.store.tasks.get(task.key) ?? task;
          await ctx.ops.tasks.stop(ctx.actor, fresh, force);
          return plain(`🛑 ${force ? "Force-stopping" : "Stopping"} ${taskName(fresh)}; the card shows when it has stopped.`);
        },
        onCancel: () => ctx.ops.cancelPrompt(ctx.actor, { kind: "stop", task, force }),
      },
    };
  },
};
