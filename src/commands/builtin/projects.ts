import type { CommandSpec } from "../types.js";
import { plain, table, escapeHtml } from "../format.js";

export const projects: CommandSpec = {
  name: "projects",
  usage: "",
  summary: "List the Semaphore projects this room may use.",
  permission: "read",
  async run(ctx, args) {
    if (args.length) return plain(`⚠️ projects takes no arguments (did you mean ${ctx.prefix} templates ${args[0]}?).`);
    const list = await ctx.ops.tasks.projects(ctx.actor);
    if (list.length === 0) {
      return plain(
        "No projects are visible here. Either Semaphore has none for the bot's API token, or no policy grants this room any: " +
          "its [room] section's projects, or [bot] default_room_projects for rooms without a section. An admin can grant some in the config.",
      );
    }
    const text = ["Projects:", ...list.map((p) => `  ${p.id}  ${p.name}`), `Templates of one: ${ctx.prefix} templates <project>`].join("\n");
    return {
      text,
      html: `<b>Projects</b>${table(
        ["ID", "Name"],
        list.map((p) => [p.id, p.name]),
      )}Templates of one: <code>${escapeHtml(ctx.prefix)} templates &lt;project&gt;</code>`,
    };
  },
};

export const templates: CommandSpec = {
  name: "templates",
  usage: "[project]",
  summary: "List a project's templates (the only project, if there is just one).",
  permission: "read",
  async complete(ctx, index) {
    return index === 0 ? (await ctx.ops.tasks.projects(ctx.actor)).map((p) => p.name) : [];
  },
  async run(ctx, args) {
    if (args.length > 1) return plain(`⚠️ templates takes one project (id or name; quote names with spaces), not ${args.length} words.`);
    const { project, templates: list } = await ctx.ops.tasks.templates(ctx.actor, args[0]);
    if (list.length === 0) return plain(`Project ${project.name} (${project.id}) has no templates you may use here.`);
    const desc = (d: string | null) => (d ?? "").replace(/¶/g, "\n").trim();
    const notes = (t: (typeof list)[number]) => {
      const n: string[] = [];
      if (t.survey_vars?.length) n.push(`vars: ${t.survey_vars.map((v) => `${v.name}${v.required ? "*" : ""}`).join(", ")}`);
      const pol = ctx.ops.approvals.policy({ project, template: t });
      if (pol) n.push(`needs ${pol.approvals_required} approval${pol.approvals_required === 1 ? "" : "s"}`);
      return n.join("; ");
    };
    const text = [
      `Templates of ${project.name} (${project.id}):`,
      ...list.map((t) => {
        const app = t.app && t.app !== "ansible" ? ` [${t.app}]` : "";
        const about = desc(t.description) ? ` — ${desc(t.description).replace(/\n+/g, " ")}` : "";
        return `  ${t.id}  ${t.name}${app}${about}${notes(t) ? ` (${notes(t)})` : ""}`;
      }),
      `Run one: ${ctx.prefix} run ${project.id} <template>`,
    ].join("\n");
    const rows = list.map((t) => [t.id, t.name, t.app || "ansible", { html: escapeHtml(desc(t.description)).replace(/\n+/g, "<br/>") }, notes(t)]);
    return {
      text,
      html:
        `<b>Templates of ${escapeHtml(project.name)}</b> (${project.id})${table(["ID", "Name", "App", "Description", "Notes"], rows)}` +
        `Run one: <code>${escapeHtml(`${ctx.prefix} run ${project.id} <template>`)}</code>`,
    };
  },
};
