import type { CommandContext, CommandSpec, Reply } from "../types.js";
import { plain, table } from "../format.js";
import { pick } from "../../core/task-ops.js";
import { SUBSCRIPTION_FILTERS, type SubscriptionFilter } from "../../core/room-settings.js";

const FILTER_TEXT: Record<SubscriptionFilter, string> = { all: "every run, live", failures: "failed runs only", finished: "every run when it finishes" };

function roomOf(ctx: CommandContext): string | Reply {
  return ctx.actor.kind === "chat" ? ctx.actor.roomId : plain("⚠️ Subscriptions belong to a Matrix room; use this command in the room that should get the cards.");
}

function listReply(ctx: CommandContext, roomId: string): Reply {
  const subs = ctx.ops.roomSettings.subscriptions(roomId);
  if (subs.length === 0) return plain(`This room has no subscriptions. Add one: ${ctx.prefix} subscribe <project> [template] [${SUBSCRIPTION_FILTERS.join("|")}]`);
  const text = ["Subscriptions of this room:", ...subs.map((s) => `  ${s.projectName} (${s.projectId})${s.templateName ? ` / ${s.templateName}` : ""}: ${FILTER_TEXT[s.filter]}`)].join("\n");
  return { text, html: `<b>Subscriptions of this room</b>${table(["Project", "Template", "Cards for"], subs.map((s) => [`${s.projectName} (${s.projectId})`, s.templateName ?? "all", FILTER_TEXT[s.filter]]))}` };
}

export const subscribe: CommandSpec = {
  name: "subscribe",
  usage: "[project [template] [all|failures|finished]]",
  summary: "Post status cards here for runs of a project (or one template) started anywhere: web UI, schedules, webhooks. Without arguments: list.",
  permission: "run",
  async run(ctx, args) {
    const room = roomOf(ctx);
    if (typeof room !== "string") return room;
    if (args.length === 0) return listReply(ctx, room);
    let filter: SubscriptionFilter = "all";
    const rest = [...args];
    const last = rest.at(-1)!.toLowerCase();
    if (rest.length > 1 && (SUBSCRIPTION_FILTERS as readonly string[]).includes(last)) { filter = last as SubscriptionFilter; rest.pop(); }
    if (rest.length > 2) return plain(`⚠️ subscribe takes a project, an optional template and an optional filter (${SUBSCRIPTION_FILTERS.join(", ")}); quote names with spaces.`);
    const { project, templates } = await ctx.ops.tasks.templates(ctx.actor, rest[0]);
    const template = rest[1] !== undefined ? pick(templates, rest[1], "template", `List them with: ${ctx.prefix} templates ${project.id}`) : undefined;
    const who = ctx.actor.kind === "chat" ? ctx.actor.userId : "console";
    const prev = await ctx.ops.roomSettings.subscribe(room, { projectId: project.id, projectName: project.name, templateId: template?.id, templateName: template?.name, filter, by: who, at: new Date().toISOString() });
    ctx.ops.tracker?.watchProject(project.id);
    await ctx.ops.audit.record(ctx.actor, "subscribe", "ok", { projectId: project.id, params: { template: template?.name, filter } });
    const what = `${project.name}${template ? ` / ${template.name}` : ""}`;
    return plain(`🔔 ${prev ? "Updated" : "Subscribed"}: this room gets cards for ${FILTER_TEXT[filter]} of ${what}, wherever they are started.`);
  },
};

export const unsubscribe: CommandSpec = {
  name: "unsubscribe",
  usage: "<project> [template]",
  summary: "Stop the cards of a subscription (without a template: every subscription to the project).",
  permission: "run",
  async run(ctx, args) {
    const room = roomOf(ctx);
    if (typeof room !== "string") return room;
    if (args.length === 0 || args.length > 2) return plain(`⚠️ Usage: ${ctx.prefix} unsubscribe <project> [template]. This room's subscriptions: ${ctx.prefix} subscribe`);
    const subs = ctx.ops.roomSettings.subscriptions(room);
    const projectHits = subs.filter((s) => String(s.projectId) === args[0] || s.projectName.toLowerCase().startsWith(args[0]!.toLowerCase()));
    const projectIds = [...new Set(projectHits.map((s) => s.projectId))];
    if (projectIds.length === 0) return plain(`This room has no subscription to a project matching ${JSON.stringify(args[0])}. See them with: ${ctx.prefix} subscribe`);
    if (projectIds.length > 1) return plain(`⚠️ ${JSON.stringify(args[0])} matches several subscribed projects (${projectIds.join(", ")}); use the project id.`);
    let templateId: number | undefined;
    if (args[1] !== undefined) {
      const t = projectHits.filter((s) => s.templateId !== undefined && (String(s.templateId) === args[1] || s.templateName!.toLowerCase().startsWith(args[1]!.toLowerCase())));
      if (t.length !== 1) return plain(t.length === 0 ? `This room has no subscription to a template matching ${JSON.stringify(args[1])} in ${projectHits[0]!.projectName}.` : `⚠️ ${JSON.stringify(args[1])} matches several subscribed templates; use the template id.`);
      templateId = t[0]!.templateId;
    }
    const gone = await ctx.ops.roomSettings.unsubscribe(room, projectIds[0]!, templateId);
    await ctx.ops.audit.record(ctx.actor, "unsubscribe", "ok", { projectId: projectIds[0], params: { templates: gone.map((g) => g.templateName ?? "all") } });
    return plain(`🔕 Unsubscribed from ${gone.map((g) => `${g.projectName}${g.templateName ? ` / ${g.templateName}` : ""}`).join(", ")}.`);
  },
};

