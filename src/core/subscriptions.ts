// A room's subscriptions: status cards for runs of a project (or one template) started anywhere. The operations
// behind `subscribe` and `unsubscribe`: permission, the change, the tracker's watch and the audit line.
import type { Operations } from "./operations.js";
import type { Actor } from "./actor.js";
import { OperationError } from "./errors.js";
import { pick } from "./task-ops.js";
import type { Subscription, SubscriptionFilter } from "./room-settings.js";
import type { Project, Template } from "../semaphore/types.js";

/** The room a subscription belongs to: only a chat actor has one. */
function roomOf(actor: Actor): string {
  if (actor.kind === "chat") return actor.roomId;
  throw new OperationError("Subscriptions belong to a Matrix room; use this command in the room that should get the cards.", "bad_input");
}

/** `listHint`: the reason ends where the room's subscriptions would help, so the front end may say how to list them. */
export type Unsubscribed = { ok: true; gone: Subscription[] } | { ok: false; reason: string; listHint?: true };

export class SubscriptionOps {
  constructor(private readonly ops: Operations) {}

  /** The subscriptions of the actor's room. */
  list(actor: Actor): readonly Subscription[] {
    const room = roomOf(actor);
    this.ops.require(actor, "read", "list subscriptions");
    return this.ops.roomSettings.subscriptions(room);
  }

  /** Subscribes the actor's room; `replaced` is the subscription it updated, if there was one. */
  async subscribe(
    actor: Actor,
    want: { project: string; template?: string; filter: SubscriptionFilter },
    listHint = "templates",
  ): Promise<{ project: Project; template?: Template; replaced?: Subscription }> {
    const room = roomOf(actor);
    this.ops.require(actor, "run", "subscribe rooms to projects");
    const { project, templates } = await this.ops.tasks.templates(actor, want.project);
    const template = want.template !== undefined ? pick(templates, want.template, "template", `List them with: ${listHint} ${project.id}`) : undefined;
    // Cards follow what the room may see, not what the one who subscribes may see (an admin sees everything).
    if (!this.ops.permissions.allows(this.ops.permissions.roomProjects(room), project.id, project.name)) {
      throw new OperationError(
        `This room may not see ${project.name}, so its cards would never be posted here. Grant it first: add it to the ` +
          `room's [room "${room}"] projects, or to [bot] default_room_projects for rooms without a section.`,
        "denied",
      );
    }
    const by = actor.kind === "chat" ? actor.userId : "console";
    const replaced = await this.ops.roomSettings.subscribe(room, {
      projectId: project.id,
      projectName: project.name,
      templateId: template?.id,
      templateName: template?.name,
      filter: want.filter,
      by,
      at: new Date().toISOString(),
    });
    this.ops.tracker?.watchProject(project.id);
    await this.ops.audit.record(actor, "subscribe", "ok", { projectId: project.id, params: { template: template?.name, filter: want.filter } });
    return { project, template, replaced };
  }

  /**
   * Ends the room's subscriptions to a project (by id or name prefix), or to one of its templates. A reference that
   * matches nothing, or more than one, changes nothing and says why.
   */
  async unsubscribe(actor: Actor, projectRef: string, templateRef?: string): Promise<Unsubscribed> {
    const room = roomOf(actor);
    this.ops.require(actor, "run", "unsubscribe rooms from projects");
    const hits = this.ops.roomSettings
      .subscriptions(room)
      .filter((s) => String(s.projectId) === projectRef || s.projectName.toLowerCase().startsWith(projectRef.toLowerCase()));
    const projectIds = [...new Set(hits.map((s) => s.projectId))];
    const ref = JSON.stringify(projectRef);
    if (projectIds.length === 0) return { ok: false, reason: `This room has no subscription to a project matching ${ref}.`, listHint: true };
    if (projectIds.length > 1) {
      return { ok: false, reason: `⚠️ ${ref} matches several subscribed projects (${projectIds.join(", ")}); use the project id.` };
    }
    let templateId: number | undefined;
    if (templateRef !== undefined) {
      const lower = templateRef.toLowerCase();
      const t = hits.filter((s) => s.templateId !== undefined && (String(s.templateId) === templateRef || s.templateName!.toLowerCase().startsWith(lower)));
      const where = hits[0]!.projectName;
      if (t.length === 0) return { ok: false, reason: `This room has no subscription to a template matching ${JSON.stringify(templateRef)} in ${where}.` };
      if (t.length > 1) return { ok: false, reason: `⚠️ ${JSON.stringify(templateRef)} matches several subscribed templates; use the template id.` };
      templateId = t[0]!.templateId;
    }
    const gone = await this.ops.roomSettings.unsubscribe(room, projectIds[0]!, templateId);
    await this.ops.audit.record(actor, "unsubscribe", "ok", { projectId: projectIds[0], params: { templates: gone.map((g) => g.templateName ?? "all") } });
    return { ok: true, gone };
  }
}
