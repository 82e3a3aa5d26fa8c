import type { CommandContext, CommandSpec, Reply } from "../types.js";
import { plain, table } from "../format.js";
import { SUBSCRIPTION_FILTERS, type SubscriptionFilter } from "../../core/room-settings.js";

const FILTER_TEXT: Record<SubscriptionFilter, string> = { all: "every run, live", failures: "failed runs only", finished: "every run when it finishes" };

function listReply(ctx: CommandContext): Reply {
  const subs = ctx.ops.subscriptions.list(ctx.actor);
  if (subs.length === 0)
    return plain(`This room has no subscriptions. Add one: ${ctx.prefix} subscribe <project> [template] [${SUBSCRIPTION_FILTERS.join("|")}]`);
  const text = [
    "Subscriptions of this room:",
    ...subs.map((s) => `  ${s.projectName} (${s.projectId})${s.templateName ? ` / ${s.templateName}` : ""}: ${FILTER_TEXT[s.filter]}`),
  ].join("\n");
  return {
    text,
    html: `<b>Subscriptions of this room</b>${table(
      ["Project", "Template", "Cards for"],
      subs.map((s) => [`${s.projectName} (${s.projectId})`, s.templateName ?? "all", FILTER_TEXT[s.filter]]),
    )}`,
  };
}

export const subscribe: CommandSpec = {
  name: "subscribe",
  usage: "[project [template] [all|failures|finished]]",
  summary: "Post status cards here for runs of a project (or one template) started anywhere: web UI, schedules, webhooks. Without arguments: list.",
  permission: "run",
  async run(ctx, args) {
    if (args.length === 0) return listReply(ctx);
    let filter: SubscriptionFilter = "all";
    const rest = [...args];
    const last = rest.at(-1)!.toLowerCase();
    if (rest.length > 1 && (SUBSCRIPTION_FILTERS as readonly string[]).includes(last)) {
      filter = last as SubscriptionFilter;
      rest.pop();
    }
    if (rest.length > 2)
      return plain(
        `⚠️ subscribe takes a project, an optional template and an optional filter (${SUBSCRIPTION_FILTERS.join(", ")}); ` + "quote names with spaces.",
      );
    const want = { project: rest[0]!, template: rest[1], filter };
    const { project, template, replaced } = await ctx.ops.subscriptions.subscribe(ctx.actor, want, `${ctx.prefix} templates`);
    const what = `${project.name}${template ? ` / ${template.name}` : ""}`;
    return plain(`🔔 ${replaced ? "Updated" : "Subscribed"}: this room gets cards for ${FILTER_TEXT[filter]} of ${what}, wherever they are started.`);
  },
};

export const unsubscribe: CommandSpec = {
  name: "unsubscribe",
  usage: "<project> [template]",
  summary: "Stop the cards of a subscription (without a template: every subscription to the project).",
  permission: "run",
  async run(ctx, args) {
    if (args.length === 0 || args.length > 2)
      return plain(`⚠️ Usage: ${ctx.prefix} unsubscribe <project> [template]. This room's subscriptions: ${ctx.prefix} subscribe`);
    const r = await ctx.ops.subscriptions.unsubscribe(ctx.actor, args[0]!, args[1]);
    if (!r.ok) return plain(`${r.reason}${r.listHint ? ` See them with: ${ctx.prefix} subscribe` : ""}`);
    return plain(`🔕 Unsubscribed from ${r.gone.map((g) => `${g.projectName}${g.templateName ? ` / ${g.templateName}` : ""}`).join(", ")}.`);
  },
};
