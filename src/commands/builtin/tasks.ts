import type { CommandSpec } from "../types.js";
import { plain, table, escapeHtml, statusIcon, statusLabel, elapsed, taskName, taskUrl } from "../format.js";
import { renderTaskCard } from "../task-render.js";
import { ansiLinesToHtml, stripControl } from "../../util/ansi.js";
import { cutToBytes } from "../../util/size.js";
import type { TaskWithTpl } from "../../semaphore/types.js";
import { pick } from "../../core/task-ops.js";

export const webUrlOf = (ops: { config: { values: { semaphore: { web_url: string; url: string } } } }): string | undefined =>
  ops.config.values.semaphore.web_url || ops.config.values.semaphore.url || undefined;

export const status: CommandSpec = {
  name: "status",
  usage: "[task]",
  summary: "Show a task's state (the last one started here if none is given).",
  permission: "read",
  async run(ctx, args) {
    if (args.length > 1) return plain(`⚠️ status takes one task id, not ${args.length} words.`);
    const task = await ctx.ops.tasks.find(ctx.actor, args[0]);
    const r = renderTaskCard({ task, webUrl: webUrlOf(ctx.ops), prefix: ctx.prefix, roomName: (id) => ctx.ops.roomNameFor(ctx.actor, id) });
    return r;
  },
};

export const tasks: CommandSpec = {
  name: "tasks",
  usage: "",
  summary: "List the active tasks and pending approval requests in projects this room may see.",
  permission: "read",
  async run(ctx, args) {
    if (args.length) return plain(`⚠️ tasks takes no arguments; for one task use ${ctx.prefix} status <task>.`);
    const active = ctx.ops.tasks.active(ctx.actor);
    const reqs = ctx.ops.approvals.pendingFor(ctx.actor);
    if (active.length === 0 && reqs.length === 0) return plain("No active tasks and no pending approval requests.");
    const text: string[] = [];
    let html = "";
    if (active.length) {
      text.push(
        "Active tasks:",
        ...active.map((t) => {
          const status = `${statusIcon(String(t.status))} ${taskName(t)} · ${statusLabel(String(t.status))}`;
          return `  ${status} · ${t.projectName ?? `project ${t.projectId}`}${elapsed(t) ? ` · ${elapsed(t)}` : ""}`;
        }),
      );
      html += `<b>Active tasks</b>${table(
        ["", "Task", "Template", "Status", "Project", "Elapsed"],
        active.map((t) => [
          statusIcon(String(t.status)),
          t.taskId,
          t.templateName ?? "",
          statusLabel(String(t.status)),
          t.projectName ?? String(t.projectId),
          elapsed(t) ?? "",
        ]),
      )}`;
    }
    if (reqs.length) {
      text.push(
        "Waiting for approval:",
        ...reqs.map((r) => `  🗳️ ${r.id} ${r.run.template.name} · ${r.approvals.length}/${r.needed} · asked by ${r.requester}`),
      );
      html += `<b>Waiting for approval</b>${table(
        ["Request", "Template", "Approvals", "Asked by"],
        reqs.map((r) => [r.id, r.run.template.name, `${r.approvals.length}/${r.needed}`, r.requester]),
      )}`;
    }
    return { text: text.join("\n"), html };
  },
};

const LOG_LINES = 40;
const LOG_BYTES = 12_000;

export async function logsReply(ctx: Parameters<CommandSpec["run"]>[0], ref: string | undefined): Promise<ReturnType<CommandSpec["run"]>> {
  const task = await ctx.ops.tasks.find(ctx.actor, ref);
  const lines = await ctx.ops.tasks.output(ctx.actor, task);
  const url = taskUrl(webUrlOf(ctx.ops), task.projectId, task.taskId);
  if (lines.length === 0) return plain(`No output yet for ${taskName(task)} (${statusLabel(String(task.status))}).`);
  let tail = lines.slice(-LOG_LINES).map((l) => l.text);
  while (tail.length > 1 && Buffer.byteLength(tail.join("\n")) > LOG_BYTES) tail = tail.slice(1);
  if (tail.length === 1) tail = [cutToBytes(tail[0]!, LOG_BYTES)];
  const shown = tail.length < lines.length ? `last ${tail.length} of ${lines.length} lines` : `${lines.length} lines`;
  const head = `📋 Output of ${taskName(task)} (${statusLabel(String(task.status))}): ${shown}`;
  const foot = url && tail.length < lines.length ? `Full log: ${url}` : "";
  const text = [head, ...tail.map(stripControl), foot].filter(Boolean).join("\n");
  const link = foot ? `<a href="${escapeHtml(url!)}">Full log in Semaphore</a>` : "";
  const html = `${escapeHtml(head)}<pre><code>${ansiLinesToHtml(tail).join("\n")}</code></pre>${link}`;
  return { text, html };
}

export const logs: CommandSpec = {
  name: "logs",
  usage: "[task]",
  summary: "Show the end of a task's output (the last task started here if none is given).",
  permission: "read",
  async run(ctx, args) {
    if (args.length > 1) return plain(`⚠️ logs takes one task id, not ${args.length} words.`);
    return logsReply(ctx, args[0]);
  },
};

const STARTED_BY = /Started by (@[^\s:]+:\S+)/;

export const history: CommandSpec = {
  name: "history",
  usage: "[template] [--user @someone:server]",
  summary: "Recent runs in the projects this room may see, optionally of one template or started by one user.",
  permission: "read",
  async run(ctx, args) {
    let user: string | undefined;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === "--user" || a.startsWith("--user=")) {
        user = a.includes("=") ? a.slice(7) : args[++i];
        if (!user || !/^@[^:\s]+:\S+$/.test(user))
          return plain(`⚠️ --user needs a full Matrix ID like @alice:example.org${user ? `, not ${JSON.stringify(user.slice(0, 60))}` : ""}.`);
      } else if (a.startsWith("--")) return plain(`⚠️ Unknown option ${JSON.stringify(a.slice(0, 40))}: history takes [template] [--user @x:server].`);
      else rest.push(a);
    }
    if (rest.length > 1) return plain(`⚠️ history takes one template (quote names with spaces), not ${rest.length} words.`);
    const projects = await ctx.ops.tasks.projects(ctx.actor);
    if (projects.length === 0) return plain("No projects are visible here.");
    let templateIds: Set<string> | undefined;
    if (rest[0]) {
      const all = (await Promise.all(projects.map(async (p) => (await ctx.ops.tasks.templates(ctx.actor, String(p.id))).templates))).flat();
      const hit = pick(all, rest[0], "template", `List them with: ${ctx.prefix} templates`);
      templateIds = new Set([`${hit.project_id}:${hit.id}`]);
    }
    const chatRuns = user
      ? new Map(
          (await ctx.ops.audit.recent(2000, (r) => r.action === "run" && r.outcome === "ok" && r.who === user && r.taskId !== undefined)).map((r) => [
            `${r.projectId}:${r.taskId}`,
            r.who,
          ]),
        )
      : undefined;
    const rows: Array<TaskWithTpl & { by: string }> = [];
    for (const p of projects) {
      const list = await ctx.ops.semaphore!.lastTasks(p.id, 100);
      for (const t of list) {
        if (templateIds && !templateIds.has(`${p.id}:${t.template_id}`)) continue;
        const by = STARTED_BY.exec(t.message ?? "")?.[1] ?? t.user_name ?? (t.schedule_id ? "schedule" : t.integration_id ? "integration" : "");
        if (user && by !== user && !chatRuns!.has(`${p.id}:${t.id}`)) continue;
        rows.push({ ...t, by });
      }
    }
    rows.sort((a, b) => Date.parse(b.created ?? "") - Date.parse(a.created ?? ""));
    const top = rows.slice(0, 15);
    const scope = `${rest[0] ? ` of ${rest[0]}` : ""}${user ? ` started by ${user}` : ""}`;
    if (top.length === 0) return plain(`No runs${scope} found.`);
    const when = (t: TaskWithTpl) => (t.created ? t.created.replace("T", " ").slice(0, 16) : "");
    const name = (t: TaskWithTpl) => t.tpl_alias || `template ${t.template_id}`;
    const by = (t: { by: string }) => (t.by ? ` · ${t.by}` : "");
    const text = [
      `Recent runs${scope}:`,
      ...top.map((t) => `  ${statusIcon(t.status)} #${t.id} ${name(t)} · ${statusLabel(t.status)} · ${when(t)}${by(t)}`),
    ].join("\n");
    const html = `<b>Recent runs${escapeHtml(scope)}</b>${table(
      ["", "Task", "Template", "Status", "Created", "By"],
      top.map((t) => [statusIcon(t.status), t.id, name(t), statusLabel(t.status), when(t), t.by]),
    )}`;
    return { text, html };
  },
};
