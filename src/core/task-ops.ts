import type { Operations } from "./operations.js";
import type { ApprovalRequest } from "./approvals.js";
import { actorName, type Actor } from "./actor.js";
import { OperationError, userMessage } from "./errors.js";
import type { Project, Template, SurveyVar, Task } from "../semaphore/types.js";
import { isTerminalStatus } from "../semaphore/types.js";
import { buildStartTaskBody, type StartTaskRequest } from "../semaphore/client.js";
import type { TaskState } from "./store.js";
import { taskKey } from "./store.js";
import { MASK, maskArgs, maskVars, findMasked } from "./mask.js";

/** A run as asked for by a person, before it is resolved against Semaphore. */
export interface RunRequest {
  project?: string;
  template?: string;
  tags?: string[];
  skipTags?: string[];
  limit?: string[];
  /** Extra CLI arguments, already split. */
  args?: string[];
  branch?: string;
  dryRun?: boolean;
  diff?: boolean;
  debug?: boolean;
  /** Survey variable answers. */
  vars?: Record<string, string>;
}

/** A run resolved and validated: exactly what will be sent, and a one-line description of the target. */
export interface ResolvedRun {
  project: Project;
  template: Template;
  request: StartTaskRequest;
  summary: string;
  /** The options alone, one line ("tags web, env=prod"); "" when there are none. */
  params: string;
}

const matchesRef = (ref: string, id: number, name: string) => String(id) === ref || name.toLowerCase().startsWith(ref.toLowerCase());

/** Picks one item by id or by a unique name prefix (an exact name wins over prefixes). */
export function pick<T extends { id: number; name: string }>(items: T[], ref: string, what: string, listHint: string): T {
  const exactId = items.find((i) => String(i.id) === ref.trim());
  if (exactId) return exactId;
  const exactName = items.filter((i) => i.name.toLowerCase() === ref.trim().toLowerCase());
  if (exactName.length === 1) return exactName[0]!;
  const hits = items.filter((i) => matchesRef(ref.trim(), i.id, i.name));
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) throw new OperationError(`No ${what} matches ${JSON.stringify(ref)}. ${listHint}`, "bad_input");
  throw new OperationError(
    `${JSON.stringify(ref)} matches ${hits.length} ${what}s: ${hits
      .slice(0, 8)
      .map((h) => `${h.name} (${h.id})`)
      .join(", ")}. Use the id or a longer name.`,
    "bad_input",
  );
}

/** Checks survey answers against the template: required, int, enum; unknown names are refused too. */
export function validateSurvey(vars: Record<string, string>, survey: SurveyVar[] | null): { env: Record<string, string | number>; problems: string[] } {
  const problems: string[] = [];
  const env: Record<string, string | number> = {};
  const defs = survey ?? [];
  for (const name of Object.keys(vars)) {
    if (!defs.some((d) => d.name === name))
      problems.push(`${name} is not a survey variable of this template${defs.length ? ` (known: ${defs.map((d) => d.name).join(", ")})` : " (it has none)"}`);
  }
  for (const d of defs) {
    const v = vars[d.name];
    if (v === undefined || v === "") {
      if (d.required) problems.push(`${d.name} is required${d.title ? ` (${d.title})` : ""}`);
      continue;
    }
    if (d.type === "int") {
      if (!/^-?\d+$/.test(v)) {
        problems.push(`${d.name} must be a whole number, not ${JSON.stringify(v)}`);
        continue;
      }
      env[d.name] = Number(v);
    } else if (d.type === "enum") {
      const allowed = (d.values ?? []).map((x) => x.value);
      if (!allowed.includes(v)) {
        problems.push(`${d.name} must be one of ${allowed.join(", ")}, not ${JSON.stringify(v)}`);
        continue;
      }
      env[d.name] = v;
    } else env[d.name] = v;
  }
  return { env, problems };
}

export { isSecretVar } from "./mask.js";

/** The run's parameters for the audit log, with secrets (survey answers, --args values) masked. */
export function maskedRunParams(run: ResolvedRun): Record<string, unknown> {
  const r = run.request;
  return Object.fromEntries(
    Object.entries({
      template: run.template.name,
      templateId: run.template.id,
      tags: r.tags,
      skipTags: r.skipTags,
      limit: r.limit,
      args: r.extraArgs && maskArgs(r.extraArgs),
      branch: r.gitBranch,
      dryRun: r.dryRun,
      diff: r.diff,
      debug: r.debug,
      vars: r.environment && maskVars(r.environment, run.template.survey_vars),
    }).filter(([, v]) => v !== undefined),
  );
}

/** Task actions against Semaphore. Every entry point checks permission and writes the audit log. */
export class TaskOps {
  constructor(private readonly ops: Operations) {}

  private get client() {
    const c = this.ops.semaphore;
    if (!c) throw new OperationError("Semaphore is not configured: set [semaphore] url and api_token.", "unavailable");
    return c;
  }

  /** Projects this actor may see (room policy `projects`). */
  async projects(actor: Actor): Promise<Project[]> {
    this.ops.require(actor, "read", "list projects");
    const all = await this.client.projects();
    return all.filter((p) => this.ops.mayUseProject(actor, p));
  }

  async project(actor: Actor, ref: string | undefined): Promise<Project> {
    const projects = await this.projects(actor);
    if (ref === undefined || ref === "") {
      if (projects.length === 1) return projects[0]!;
      throw new OperationError(
        projects.length === 0 ? "No projects are visible here." : `Which project? ${projects.map((p) => `${p.name} (${p.id})`).join(", ")}`,
        "bad_input",
      );
    }
    return pick(projects, ref, "project", "List them with: projects");
  }

  async templates(actor: Actor, projectRef?: string): Promise<{ project: Project; templates: Template[] }> {
    const project = await this.project(actor, projectRef);
    const templates = (await this.client.templates(project.id)).filter((t) => this.ops.mayUseTemplate(actor, t));
    return { project, templates };
  }

  /** Resolves and validates a run without starting it, so a front end can show the exact target for confirmation. */
  async resolveRun(actor: Actor, req: RunRequest): Promise<ResolvedRun> {
    this.ops.require(actor, "run", "run tasks");
    const { project, templates } = await this.templates(actor, req.project);
    let template: Template;
    if (req.template === undefined || req.template === "") {
      if (templates.length !== 1)
        throw new OperationError(
          templates.length === 0
            ? `Project ${project.name} has no templates you may run.`
            : `Which template? ${templates
                .slice(0, 15)
                .map((t) => `${t.name} (${t.id})`)
                .join(", ")}`,
          "bad_input",
        );
      template = templates[0]!;
    } else template = pick(templates, req.template, "template", `List them with: templates ${project.id}`);
    // A line recalled from history (or copied from a prompt) shows secrets as the mask: never send that as the value.
    const masked = findMasked(req.vars, req.args);
    if (masked) {
      const why = `${masked} holds ${MASK}, the placeholder shown instead of a secret (e.g. in a line recalled from history), not its value`;
      throw new OperationError(`Cannot run ${template.name}: ${why}. Type the secret value again.`, "bad_input");
    }
    const { env, problems } = validateSurvey(req.vars ?? {}, template.survey_vars);
    if (problems.length) throw new OperationError(`Cannot run ${template.name}: ${problems.join("; ")}.`, "bad_input");
    const origin = actor.kind === "chat" ? `${actor.userId} in ${actor.roomId}` : "the console";
    const request: StartTaskRequest = {
      templateId: template.id,
      tags: req.tags?.length ? req.tags : undefined,
      skipTags: req.skipTags?.length ? req.skipTags : undefined,
      limit: req.limit?.length ? req.limit : undefined,
      extraArgs: req.args?.length ? req.args : undefined,
      gitBranch: req.branch || undefined,
      dryRun: req.dryRun || undefined,
      diff: req.diff || undefined,
      debug: req.debug || undefined,
      environment: Object.keys(env).length ? env : undefined,
      message: `Started by ${origin} via ChatrixCD`,
    };
    // Semaphore silently ignores CLI arguments (and, before v2.11, tags) unless the template allows them: say so now,
    // before anyone confirms a run that would not do what was asked.
    if (!template.allow_override_args_in_task && (request.extraArgs || request.tags || request.skipTags)) {
      const shape = await this.client.apiShape().catch(() => "flat" as const);
      if (buildStartTaskBody(request, shape).arguments !== undefined) {
        const what = request.extraArgs ? "--args" : "--tags/--skip-tags (this Semaphore version passes them as CLI arguments)";
        throw new OperationError(
          `Cannot run ${template.name} with ${what}: the template does not allow CLI arguments in a task, so Semaphore would silently ignore them. ` +
            `Enable "allow CLI args in task" on the template in Semaphore, or run without them.`,
          "bad_input",
        );
      }
    }
    const opts = [
      req.tags?.length ? `tags ${req.tags.join(",")}` : "",
      req.skipTags?.length ? `skip-tags ${req.skipTags.join(",")}` : "",
      req.limit?.length ? `limit ${req.limit.join(",")}` : "",
      req.branch ? `branch ${req.branch}` : "",
      req.dryRun ? "dry run" : "",
      req.diff ? "diff" : "",
      req.debug ? "debug" : "",
      req.args?.length ? `args ${maskArgs(req.args).join(" ")}` : "",
      ...Object.entries(maskVars(env, template.survey_vars)).map(([k, v]) => `${k}=${v}`),
    ].filter(Boolean);
    return {
      project,
      template,
      request,
      params: opts.join(", "),
      summary: `${template.name} (template ${template.id}) in ${project.name} (project ${project.id})${opts.length ? ` with ${opts.join(", ")}` : ""}`,
    };
  }

  auditParams(run: ResolvedRun): Record<string, unknown> {
    return maskedRunParams(run);
  }

  /**
   * What a confirmed run does: starts it, or, when the template has an approval policy, opens an approval request
   * that starts it once enough approvers said yes.
   */
  async launch(actor: Actor, run: ResolvedRun): Promise<{ task: TaskState } | { request: ApprovalRequest }> {
    this.ops.require(actor, "run", "run tasks");
    if (this.ops.approvals.policy(run)) return { request: await this.ops.approvals.create(actor, run) };
    return { task: await this.start(actor, run) };
  }

  /** Starts a resolved run and starts tracking it. */
  async start(actor: Actor, run: ResolvedRun, approval?: { request: string; approvals: string[] }): Promise<TaskState> {
    this.ops.require(actor, "run", "run tasks");
    let task: Task;
    const params = { ...maskedRunParams(run), ...(approval ? { request: approval.request } : {}) };
    try {
      task = await this.client.startTask(run.project.id, run.request);
    } catch (e) {
      await this.ops.audit.record(actor, "run", "failed", { projectId: run.project.id, params, approvals: approval?.approvals, detail: userMessage(e) });
      throw e;
    }
    const origin =
      actor.kind === "chat" ? { via: "chat" as const, user: actor.userId, roomId: actor.roomId } : { via: "console" as const, user: actorName(actor) };
    // The reply shows the task as created ("waiting"); a websocket update that beat it here (starting, running) is
    // newer and must not be undone, or the task would be seen going back from starting to waiting.
    const pushed = this.ops.store.tasks.has(taskKey(run.project.id, task.id));
    this.ops.tracker?.track(run.project.id, task.id, { origin, templateName: run.template.name });
    const state = this.ops.store.upsertTask({
      projectId: run.project.id,
      taskId: task.id,
      templateId: run.template.id,
      templateName: run.template.name,
      projectName: run.project.name,
      status: pushed ? undefined : task.status,
      created: task.created ?? undefined,
      origin,
    });
    this.ops.rememberLastTask(actor, run.project.id, task.id);
    await this.ops.audit.record(actor, "run", "ok", { projectId: run.project.id, taskId: task.id, params, approvals: approval?.approvals });
    this.ops.logger.log("info", "ops", `${actorName(actor)} started task ${task.id}: ${run.summary}`);
    return state;
  }

  /** Finds a task by id: from the store first, else by asking each visible project. */
  async find(actor: Actor, ref: string | undefined): Promise<TaskState> {
    this.ops.require(actor, "read", "look at tasks");
    if (ref === undefined || ref === "") {
      const last = this.ops.lastTask(actor);
      if (!last) throw new OperationError("No task given, and none was started from here yet. Give a task id.", "bad_input");
      ref = String(last.taskId);
      const known = this.ops.store.tasks.get(taskKey(last.projectId, last.taskId));
      if (known && this.ops.mayUseProjectId(actor, known.projectId)) return known;
    }
    if (!/^\d+$/.test(ref.replace(/^#/, ""))) throw new OperationError(`${JSON.stringify(ref)} is not a task id (expected a number like 42).`, "bad_input");
    const id = Number(ref.replace(/^#/, ""));
    const known = [...this.ops.store.tasks.values()].filter((t) => t.taskId === id && this.ops.mayUseProjectId(actor, t.projectId));
    if (known.length === 1) return known[0]!;
    for (const p of await this.projects(actor)) {
      try {
        const t = await this.client.task(p.id, id);
        return this.ops.store.upsertTask({
          projectId: p.id,
          taskId: t.id,
          templateId: t.template_id,
          status: t.status,
          start: t.start,
          end: t.end,
          created: t.created ?? undefined,
          projectName: p.name,
        });
      } catch (e) {
        const kind = (e as { kind?: string }).kind;
        if (kind !== "bad_request" && kind !== "not_found") throw e;
      }
    }
    throw new OperationError(`Task ${id} was not found in any project visible here.`, "bad_input");
  }

  /**
   * Stops and confirm/reject decisions sent (or being sent) per task key, so two actors at once send one request:
   * set before the first await, kept while the task has not moved on, forgotten when a request fails.
   */
  private readonly stops = new Map<string, { by: string; force: boolean; sent: boolean }>();
  private readonly decisions = new Map<string, { by: string; accept: boolean; sent: boolean }>();

  /** Forgets the marks of tasks that finished or moved past waiting_confirmation. */
  private forgetSettled(): void {
    const status = (key: string) => this.ops.store.tasks.get(key)?.status ?? "waiting";
    for (const key of this.stops.keys()) if (isTerminalStatus(status(key))) this.stops.delete(key);
    for (const key of this.decisions.keys()) if (status(key) !== "waiting_confirmation") this.decisions.delete(key);
  }

  /** The task a stop prompt is about: one this actor may stop and that has not finished. Checked before asking. */
  async stoppable(actor: Actor, ref: string | undefined): Promise<TaskState> {
    this.ops.require(actor, "stop", "stop tasks");
    const task = await this.find(actor, ref);
    this.ops.requireProject(actor, task.projectId);
    this.assertRunning(task);
    return task;
  }

  private assertRunning(task: TaskState): void {
    const name = task.templateName ? `${task.templateName} #${task.taskId}` : `Task ${task.taskId}`;
    if (isTerminalStatus(task.status)) throw new OperationError(`${name} already finished (${task.status}); nothing to stop.`, "bad_input");
  }

  /** Tasks Semaphore holds for confirmation (Terraform plan → apply), in projects this actor may see. */
  waitingConfirmation(actor: Actor): TaskState[] {
    this.ops.require(actor, "read", "list tasks");
    return [...this.ops.store.tasks.values()].filter((t) => t.status === "waiting_confirmation" && this.ops.mayUseProjectId(actor, t.projectId));
  }

  async stop(actor: Actor, task: TaskState, force = false): Promise<void> {
    this.ops.require(actor, "stop", "stop tasks");
    this.ops.requireProject(actor, task.projectId);
    task = this.ops.store.tasks.get(task.key) ?? task;
    this.assertRunning(task);
    this.forgetSettled();
    const prior = this.stops.get(task.key);
    // A force-stop may follow a plain stop (escalation) or repeat an answered one (a stuck task); a plain stop after
    // any stop, or anything while a force-stop is in flight, would only repeat a request already made.
    if (prior && (!force || (prior.force && !prior.sent))) {
      const how = `${prior.force ? "force-" : ""}stopped (asked by ${prior.by}${prior.sent ? "" : ", Semaphore has not answered yet"})`;
      throw new OperationError(`Task ${task.taskId} is already being ${how}.${force ? "" : " To kill it at once, stop it with --force."}`, "bad_input");
    }
    const mark = { by: actorName(actor), force, sent: false };
    this.stops.set(task.key, mark);
    try {
      await this.client.stopTask(task.projectId, task.taskId, force);
      mark.sent = true;
    } catch (e) {
      if (this.stops.get(task.key) === mark) this.stops.delete(task.key);
      await this.ops.audit.record(actor, force ? "stop --force" : "stop", "failed", {
        projectId: task.projectId,
        taskId: task.taskId,
        detail: (e as Error).message,
      });
      throw e;
    }
    await this.ops.audit.record(actor, force ? "stop --force" : "stop", "ok", { projectId: task.projectId, taskId: task.taskId });
    this.ops.logger.log("info", "ops", `${actorName(actor)} stopped task ${task.taskId}${force ? " (force)" : ""}`);
  }

  async confirm(actor: Actor, task: TaskState, accept: boolean): Promise<void> {
    this.ops.require(actor, "approve", accept ? "confirm tasks" : "reject tasks");
    this.ops.requireProject(actor, task.projectId);
    task = this.ops.store.tasks.get(task.key) ?? task;
    if (task.status !== "waiting_confirmation") throw new OperationError(`Task ${task.taskId} is ${task.status}, not waiting for confirmation.`, "bad_input");
    this.forgetSettled();
    const prior = this.decisions.get(task.key);
    if (prior) {
      const what = prior.accept ? "confirmed" : "rejected";
      const then = prior.accept ? "continues it" : "ends it";
      throw new OperationError(
        prior.sent
          ? `Task ${task.taskId} was already ${what} by ${prior.by}; Semaphore ${then}.`
          : `Task ${task.taskId} is already being ${what} by ${prior.by}.`,
        "bad_input",
      );
    }
    const mark = { by: actorName(actor), accept, sent: false };
    this.decisions.set(task.key, mark);
    const action = accept ? "confirm" : "reject";
    try {
      if (accept) await this.client.confirmTask(task.projectId, task.taskId);
      else await this.client.rejectTask(task.projectId, task.taskId);
      mark.sent = true;
    } catch (e) {
      if (this.decisions.get(task.key) === mark) this.decisions.delete(task.key);
      await this.ops.audit.record(actor, action, "failed", { projectId: task.projectId, taskId: task.taskId, detail: (e as Error).message });
      throw e;
    }
    await this.ops.audit.record(actor, action, "ok", { projectId: task.projectId, taskId: task.taskId });
  }

  /** The task's output lines as far as known; fetched once when the store has none. */
  async output(actor: Actor, task: TaskState): Promise<Array<{ time: string; text: string }>> {
    this.ops.require(actor, "read", "read task output");
    this.ops.requireProject(actor, task.projectId);
    if (this.ops.store.output(task.key).length === 0) {
      // An old finished task whose output the store let go of: read it from Semaphore, without keeping it.
      if (this.ops.store.outputEvicted(task.key))
        return (await this.client.taskOutput(task.projectId, task.taskId)).map((l) => ({ time: l.time, text: l.output }));
      if (this.ops.tracker) await this.ops.tracker.fetchOutput(task.projectId, task.taskId);
      else return (await this.client.taskOutput(task.projectId, task.taskId)).map((l) => ({ time: l.time, text: l.output }));
    }
    return this.ops.store.output(task.key);
  }

  /** Tasks not finished yet, in projects this actor may see. */
  active(actor: Actor): TaskState[] {
    this.ops.require(actor, "read", "list tasks");
    return [...this.ops.store.tasks.values()].filter((t) => !isTerminalStatus(t.status) && this.ops.mayUseProjectId(actor, t.projectId));
  }
}
