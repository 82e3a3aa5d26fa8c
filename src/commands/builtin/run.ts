import type { CommandSpec, Reply } from "../types.js";
import { parseRunArgs } from "../run-options.js";
import { escapeHtml, plain, joinAnd } from "../format.js";
import { formatDuration } from "../../util/text.js";

export const run: CommandSpec = {
  name: "run",
  usage: '[project [template]] [--tags a,b] [--skip-tags a,b] [--limit hosts] [--args "…"] [--branch b] [--dry-run] [--diff] [--debug] [key=value …]',
  summary: "Start a template (asks you to confirm first; some templates also need approvals). key=value are survey variables.",
  permission: "run",
  async complete(ctx, index, args) {
    if (index === 0) return (await ctx.ops.tasks.projects(ctx.actor)).map((p) => p.name);
    if (index === 1) return (await ctx.ops.tasks.templates(ctx.actor, args[0])).templates.map((t) => t.name);
    return ["--tags", "--skip-tags", "--limit", "--args", "--branch", "--dry-run", "--diff", "--debug"];
  },
  async run(ctx, args) {
    const parsed = parseRunArgs(args);
    const p = ctx.prefix;
    if (!parsed.ok) return plain(`⚠️ Cannot read the run command: ${parsed.error}.\nUsage: ${p} run ${run.usage}`);
    const resolved = await ctx.ops.tasks.resolveRun(ctx.actor, parsed.request);
    const policy = ctx.ops.approvals.policy(resolved);
    const timeoutMs = ctx.ops.config.values.bot.confirm_timeout * 1000;
    const approvalNote = policy
      ? `After you confirm, it needs ${policy.approvals_required} ` +
        `approval${policy.approvals_required === 1 ? "" : "s"}${policy.approvers.length ? ` from ${joinAnd(policy.approvers)}` : ""} before it starts.`
      : "";
    const prompt = `⚠️ Run ${resolved.summary}?`;
    const how = `Reply yes or no (or react 👍 / 👎) within ${formatDuration(timeoutMs)}.`;
    const survey = resolved.template.survey_vars ?? [];
    const unanswered = survey.filter((v) => !(parsed.request.vars && v.name in parsed.request.vars)).map((v) => v.name);
    const surveyNote = unanswered.length ? `Survey variables left unset: ${unanswered.join(", ")}.` : "";
    const text = [prompt, resolved.template.description ? `About: ${resolved.template.description}` : "", approvalNote, surveyNote, how]
      .filter(Boolean)
      .join("\n");
    const html = [
      `⚠️ Run <b>${escapeHtml(resolved.template.name)}</b> (template ${resolved.template.id}) in ` +
        `<b>${escapeHtml(resolved.project.name)}</b> (project ${resolved.project.id})` +
        `${resolved.params ? ` with <code>${escapeHtml(resolved.params)}</code>` : ""}?`,
      resolved.template.description ? `<i>${escapeHtml(resolved.template.description.slice(0, 500))}</i>` : "",
      escapeHtml(approvalNote),
      escapeHtml(surveyNote),
      escapeHtml(how),
    ]
      .filter(Boolean)
      .join("<br/>");
    return {
      text,
      html,
      confirm: {
        kind: "run",
        summary: `Run ${resolved.summary}`,
        timeoutMs,
        onConfirm: async (): Promise<Reply> => {
          const r = await ctx.ops.tasks.launch(ctx.actor, resolved);
          if ("task" in r) {
            const line = ctx.ops.messages.pick("task_start", { task_name: `${resolved.template.name} (task ${r.task.taskId})` });
            return { ...plain(`${line} Task ${r.task.taskId}: ${resolved.summary}`), card: { taskKey: r.task.key, params: resolved.params } };
          }
          const req = r.request;
          const waiting = ctx.ops.approvals.waitingOn(req);
          return {
            ...plain(
              `🗳️ ${resolved.template.name} needs ${req.needed} approval${req.needed === 1 ? "" : "s"} before it starts (request ${req.id}). ` +
                `${waiting.length ? `Waiting on ${joinAnd(waiting)}.` : "Anyone with approve permission here may approve."} Approve: ${p} approve ${req.id}`,
            ),
            card: { requestId: req.id },
            mentions: waiting,
          };
        },
        onCancel: () => ctx.ops.cancelPrompt(ctx.actor, { kind: "run", run: resolved }),
      },
    };
  },
};
