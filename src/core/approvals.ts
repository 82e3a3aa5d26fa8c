// Per-template approval policy ([template "<project>/<template>"] sections): a run of such a template starts only
// after N distinct eligible approvers said yes. Nobody approves their own run; requests expire. Requests are kept in
// state_dir so a restart neither loses nor re-runs them; the secret answers they need are sealed with
// [matrix] storage_key there, or kept in memory only when no key is set.
//
// Each request is a state machine that moves on before its first await, so a second actor sees the new state:
// pending → approved (quorum reached, start not sent yet: a deny or expiry still wins) → starting (start sent: a deny
// is refused) → started | failed; pending | approved → denied | expired.
import { EventEmitter } from "node:events";
import type { Operations } from "./operations.js";
import { actorName, type Actor } from "./actor.js";
import { OperationError, userMessage } from "./errors.js";
import type { ResolvedRun } from "./task-ops.js";
import { MASK, isSecretVar, maskArgs } from "./mask.js";
import type { TemplatePolicy } from "../config/schema.js";
import type { TaskState } from "./store.js";
import { errorText } from "../log/logger.js";
import { PersistedState, versionOne } from "../util/persisted-state.js";
import { sealText, openSealed, type Sealed } from "../util/seal.js";

export type ApprovalStatus = "pending" | "approved" | "starting" | "started" | "denied" | "expired" | "failed";

export interface ApprovalRequest {
  /** "r1", "r2", ...: short enough to type. */
  id: string;
  run: ResolvedRun;
  requester: string;
  requesterActor: Actor;
  roomId?: string;
  needed: number;
  /** Eligible approvers from the policy; empty = anyone with approve permission where they answer. */
  approvers: string[];
  approvals: Array<{ user: string; at: number }>;
  status: ApprovalStatus;
  createdAt: number;
  expiresAt: number;
  deniedBy?: string;
  reason?: string;
  taskId?: number;
  error?: string;
}

/** On disk, the run of a request carries no secret; `secrets` says which there were and holds them sealed, if kept. */
interface PersistedRequest extends ApprovalRequest {
  secrets?: { names: string[]; sealed?: Sealed; lost?: string };
}
interface Persisted {
  version: 1;
  next: number;
  requests: PersistedRequest[];
}

type SecretValues = { env: Record<string, string | number>; args: Record<string, string> };

/**
 * The parts of a run that must not be kept in clear at rest: survey answers `isSecretVar` flags and --args
 * elements that look like secrets ("db_password=…", JSON with an api_key). The one place to decide it.
 */
export function secretParts(run: ResolvedRun): { env: string[]; args: number[] } {
  const r = run.request;
  return {
    env: Object.keys(r.environment ?? {}).filter((k) => isSecretVar(k, run.template.survey_vars)),
    // An argument is secret when the one masker would change it (a value, a JSON object, a secret option's value).
    args: maskArgs(r.extraArgs ?? []).flatMap((masked, i) => (masked !== r.extraArgs![i] ? [i] : [])),
  };
}

/** The run without its secret values (masked in the texts too), and the values taken out. */
function splitSecrets(run: ResolvedRun): { kept: ResolvedRun; values: SecretValues; names: string[] } {
  const parts = secretParts(run);
  const values: SecretValues = { env: {}, args: {} };
  if (!parts.env.length && !parts.args.length) return { kept: run, values, names: [] };
  const env = { ...run.request.environment };
  for (const k of parts.env) {
    values.env[k] = env[k]!;
    delete env[k];
  }
  const args = [...(run.request.extraArgs ?? [])];
  const shown = maskArgs(args);
  for (const i of parts.args) {
    values.args[i] = args[i]!;
    args[i] = shown[i]!;
  }
  // Short values cannot be masked in free text without mangling it; resolveRun masks survey answers there already.
  const clear = [...Object.values(values.env).map(String), ...Object.values(values.args)].filter((v) => v.length >= 4);
  const mask = (text: string) => clear.reduce((t, v) => t.split(v).join(MASK), text);
  const request = { ...run.request, environment: Object.keys(env).length ? env : undefined, extraArgs: run.request.extraArgs ? args : undefined };
  const names = [...parts.env, ...parts.args.map((i) => `--args element ${i + 1}`)];
  return { kept: { ...run, request, summary: mask(run.summary), params: mask(run.params) }, values, names };
}

function joinSecrets(run: ResolvedRun, values: SecretValues): ResolvedRun {
  const args = run.request.extraArgs?.map((a, i) => values.args[i] ?? a);
  const env = { ...run.request.environment, ...values.env };
  return { ...run, request: { ...run.request, extraArgs: args, environment: Object.keys(env).length ? env : undefined } };
}

/** What the request says about itself, after "Request rN ". */
export function requestState(req: ApprovalRequest): string {
  switch (req.status) {
    case "pending":
      return `is waiting for approval (${req.approvals.length}/${req.needed})`;
    case "approved":
      return "has all its approvals and starts unless denied first";
    case "starting":
      return "is already approved and starting";
    case "started":
      return `is already approved and started as task ${req.taskId}`;
    case "denied":
      return `is denied by ${req.deniedBy}`;
    case "expired":
      return "is expired";
    case "failed":
      return `failed to start (${req.error})`;
  }
}

const KEEP_FINISHED_MS = 24 * 3600_000;

const refMatches = (ref: string, id: number, name: string) => ref === String(id) || ref.toLowerCase() === name.toLowerCase();

/** The policy that applies to a template: an exact template section wins over a `*` one. */
export function policyFor(
  policies: readonly TemplatePolicy[],
  project: { id: number; name: string },
  template: { id: number; name: string },
): TemplatePolicy | undefined {
  const inProject = policies.filter((p) => refMatches(p.project, project.id, project.name));
  return inProject.find((p) => refMatches(p.template, template.id, template.name)) ?? inProject.find((p) => p.template === "*");
}

export class ApprovalService extends EventEmitter<{ changed: [ApprovalRequest] }> {
  private requests = new Map<string, ApprovalRequest>();
  private timers = new Map<string, NodeJS.Timeout>();
  private next = 1;
  private readonly state: PersistedState<Persisted>;
  /** Requests restored without the secret answers they need: why, and which there were. */
  private readonly lost = new Map<string, { why: string; names: string[] }>();

  constructor(
    private readonly ops: Operations,
    private readonly file: string | undefined,
  ) {
    super();
    const log = { warn: (m: string) => ops.logger.log("warn", "approvals", m), error: (m: string) => ops.logger.log("error", "approvals", m) };
    this.state = new PersistedState<Persisted>({
      file,
      log,
      startsEmpty: "starting with no approval requests",
      validate: (data) => {
        const d = versionOne(data);
        if (!Array.isArray(d.requests)) throw new Error("no requests list");
        return d as unknown as Persisted;
      },
      snapshot: () => this.snapshot(),
    });
  }

  policy(run: Pick<ResolvedRun, "project" | "template">): TemplatePolicy | undefined {
    const p = policyFor(this.ops.config.templates ?? [], run.project, run.template);
    return p && p.approvals_required > 0 ? p : undefined;
  }

  get(id: string): ApprovalRequest | undefined {
    return this.requests.get(id.replace(/^#/, "").toLowerCase());
  }

  list(): ApprovalRequest[] {
    return [...this.requests.values()];
  }

  pending(): ApprovalRequest[] {
    return this.list().filter((r) => r.status === "pending");
  }

  /** A chat actor sees the requests asked for in their room; admins and the console see all. */
  visibleTo(actor: Actor, req: ApprovalRequest): boolean {
    return actor.kind !== "chat" || req.roomId === actor.roomId || this.ops.permissions.isAdmin(actor.userId);
  }

  /** The pending requests this actor may see: asked for in their room (see visibleTo), for a project it may see. */
  pendingFor(actor: Actor): ApprovalRequest[] {
    return this.pending().filter((r) => this.visibleTo(actor, r) && this.ops.mayUseProject(actor, r.run.project));
  }

  /** Another room's request is answered exactly like one that does not exist. */
  private unknown(actor: Actor, ref: string): OperationError {
    const ids =
      this.pendingFor(actor)
        .map((p) => p.id)
        .join(", ") || "none";
    const here = actor.kind === "chat" && !this.ops.permissions.isAdmin(actor.userId);
    const no = `There is no approval request ${JSON.stringify(ref)}`;
    return new OperationError(here ? `${no} in this room. Pending here: ${ids}.` : `${no}. Pending ones: ${ids}.`, "bad_input");
  }

  /** Opens a request for a confirmed run that needs approval. */
  async create(actor: Actor, run: ResolvedRun): Promise<ApprovalRequest> {
    const policy = this.policy(run);
    if (!policy) throw new OperationError(`${run.template.name} needs no approval.`, "bad_input");
    const now = Date.now();
    const req: ApprovalRequest = {
      id: `r${this.next++}`,
      run,
      requester: actorName(actor),
      requesterActor: actor,
      roomId: actor.kind === "chat" ? actor.roomId : undefined,
      needed: policy.approvals_required,
      approvers: [...policy.approvers],
      approvals: [],
      status: "pending",
      createdAt: now,
      expiresAt: now + policy.approval_expiry * 1000,
    };
    this.requests.set(req.id, req);
    this.arm(req);
    await this.ops.audit.record(actor, "run requested", "ok", {
      projectId: run.project.id,
      params: { template: run.template.name, request: req.id, approvals_required: req.needed, ...this.ops.tasks.auditParams(run) },
    });
    this.ops.logger.log("info", "approvals", `${req.requester} asked to run ${run.summary}; request ${req.id} needs ${req.needed} approval(s)`);
    const secrets = secretParts(run);
    if (this.file && !this.storageKey() && secrets.env.length + secrets.args.length > 0) {
      const why = "no [matrix] storage_key: a restart before it is approved loses them";
      this.ops.logger.log("info", "approvals", `request ${req.id} holds secret answers in memory only (${why})`);
    }
    await this.save();
    this.emit("changed", req);
    return req;
  }

  /** Who may still approve, for the card ("waiting on ..."). Empty list with open slots = "anyone with approve". */
  waitingOn(req: ApprovalRequest): string[] {
    return req.approvers.filter((u) => u !== req.requester && !req.approvals.some((a) => a.user === u));
  }

  private eligible(actor: Actor, req: ApprovalRequest): { ok: true } | { ok: false; reason: string } {
    const who = actorName(actor);
    if (who === req.requester) return { ok: false, reason: `${who} asked for this run, and nobody may approve their own run` };
    if (req.approvers.length > 0) {
      if (!req.approvers.includes(who))
        return { ok: false, reason: `${who} is not an approver of ${req.run.template.name} (approvers: ${req.approvers.join(", ")})` };
      return { ok: true };
    }
    // Approve permission counts in the room where the run was asked for, wherever the approver answers from:
    // approve rights in one room must not reach requests made in another.
    const elsewhere = actor.kind === "chat" && req.roomId !== undefined && req.roomId !== actor.roomId;
    const d = this.ops.authorize(elsewhere ? { ...actor, roomId: req.roomId! } : actor, "approve");
    return d.allowed
      ? { ok: true }
      : { ok: false, reason: elsewhere ? `${d.reason.replace(/this room/g, "the room")} ${req.roomId}, where the run was asked for` : d.reason };
  }

  /** Finds a request by id, or the only pending one asked for in the actor's room. */
  find(actor: Actor, ref: string | undefined): ApprovalRequest {
    if (ref) {
      const r = this.get(ref);
      if (!r || !this.visibleTo(actor, r)) throw this.unknown(actor, ref);
      return r;
    }
    const here = this.pending().filter((r) => actor.kind !== "chat" || r.roomId === actor.roomId);
    if (here.length === 1) return here[0]!;
    throw new OperationError(
      here.length === 0 ? "No approval request is pending here." : `Which one? Pending: ${here.map((r) => `${r.id} (${r.run.template.name})`).join(", ")}.`,
      "bad_input",
    );
  }

  /** Refuses unless the request is visible to the actor and in one of `open`; an expired one is closed first. */
  private assertOpen(actor: Actor, req: ApprovalRequest, open: ApprovalStatus[], then: string): void {
    if (!this.visibleTo(actor, req)) throw this.unknown(actor, req.id);
    if (open.includes(req.status) && Date.now() >= req.expiresAt) this.expire(req);
    if (!open.includes(req.status)) throw new OperationError(`Request ${req.id} ${requestState(req)}; ${then}.`, "bad_input");
  }

  /** Adds the actor's approval; starts the run when the quorum is reached. */
  async approve(actor: Actor, req: ApprovalRequest): Promise<{ req: ApprovalRequest; task?: TaskState }> {
    this.assertOpen(actor, req, ["pending"], "nothing to do");
    const who = actorName(actor);
    const ok = this.eligible(actor, req);
    if (!ok.ok) {
      this.ops.counters.refused++;
      await this.ops.audit.record(actor, "approve", "refused", { projectId: req.run.project.id, params: { request: req.id }, detail: ok.reason });
      throw new OperationError(`Not allowed to approve ${req.id}: ${ok.reason}.`, "denied");
    }
    if (req.approvals.some((a) => a.user === who))
      throw new OperationError(`You already approved ${req.id} (${req.approvals.length}/${req.needed}); it needs another approver.`, "bad_input");
    req.approvals.push({ user: who, at: Date.now() });
    const completes = req.approvals.length >= req.needed;
    if (completes) req.status = "approved";
    await this.ops.audit.record(actor, "approve", "ok", {
      projectId: req.run.project.id,
      params: { request: req.id, template: req.run.template.name },
      approvals: req.approvals.map((a) => a.user),
    });
    // A deny or the expiry that landed while the approval was written down wins: the start was not sent.
    if (req.status === "approved" && Date.now() >= req.expiresAt) this.expire(req);
    if (req.status === "denied" || req.status === "expired") {
      const how = req.status === "denied" ? `was denied by ${req.deniedBy}` : "expired";
      throw new OperationError(`Your approval of ${req.id} was recorded, but it ${how} meanwhile; it will not run.`, "bad_input");
    }
    if (!completes) {
      await this.save();
      this.emit("changed", req);
      return { req };
    }
    return { req, task: await this.start(req) };
  }

  /** Sends the start of an approved request; from here on a deny is refused. */
  private async start(req: ApprovalRequest): Promise<TaskState | undefined> {
    req.status = "starting";
    this.disarm(req);
    const approvals = req.approvals.map((a) => a.user);
    let task: TaskState | undefined;
    const lost = this.lost.get(req.id);
    if (lost) {
      req.status = "failed";
      req.error = lost.why;
      const params = { request: req.id, template: req.run.template.name };
      await this.ops.audit.record(req.requesterActor, "run", "failed", { projectId: req.run.project.id, params, approvals, detail: lost.why });
    } else {
      try {
        task = await this.ops.tasks.start(req.requesterActor, req.run, { request: req.id, approvals });
        req.status = "started";
        req.taskId = task.taskId;
      } catch (e) {
        req.status = "failed";
        req.error = userMessage(e);
      }
    }
    await this.save();
    this.emit("changed", req);
    return task;
  }

  /** Refuses the run: by an eligible approver, or withdrawn by the requester. Wins over a start not sent yet. */
  async deny(actor: Actor, req: ApprovalRequest, reason?: string): Promise<ApprovalRequest> {
    const stopInstead = req.taskId !== undefined ? `stop task ${req.taskId} instead` : "stop the task once it has started";
    const sent = req.status === "starting" || req.status === "started";
    this.assertOpen(actor, req, ["pending", "approved"], sent ? `it can no longer be denied; ${stopInstead}` : "nothing to do");
    const who = actorName(actor);
    if (who !== req.requester) {
      const ok = this.eligible(actor, req);
      if (!ok.ok) {
        this.ops.counters.refused++;
        await this.ops.audit.record(actor, "deny", "refused", { projectId: req.run.project.id, params: { request: req.id }, detail: ok.reason });
        throw new OperationError(`Not allowed to deny ${req.id}: ${ok.reason}.`, "denied");
      }
    }
    req.status = "denied";
    req.deniedBy = who;
    req.reason = reason;
    this.disarm(req);
    await this.ops.audit.record(actor, who === req.requester ? "withdraw" : "deny", "ok", {
      projectId: req.run.project.id,
      params: { request: req.id, template: req.run.template.name },
      approvals: req.approvals.map((a) => a.user),
      detail: reason,
    });
    await this.save();
    this.emit("changed", req);
    return req;
  }

  private arm(req: ApprovalRequest): void {
    this.disarm(req);
    const t = setTimeout(() => this.expire(req), Math.max(0, req.expiresAt - Date.now()));
    t.unref?.();
    this.timers.set(req.id, t);
  }

  private disarm(req: ApprovalRequest): void {
    const t = this.timers.get(req.id);
    if (t) clearTimeout(t);
    this.timers.delete(req.id);
  }

  private expire(req: ApprovalRequest): void {
    if (req.status !== "pending" && req.status !== "approved") return;
    req.status = "expired";
    this.disarm(req);
    void this.ops.audit.record(req.requesterActor, "run requested", "cancelled", {
      projectId: req.run.project.id,
      params: { request: req.id, template: req.run.template.name },
      approvals: req.approvals.map((a) => a.user),
      detail: "approval request expired",
    });
    this.ops.logger.log("info", "approvals", `request ${req.id} (${req.run.template.name}) expired with ${req.approvals.length}/${req.needed} approvals`);
    void this.save();
    this.emit("changed", req);
  }

  private storageKey(): string {
    return this.ops.config.values.matrix.storage_key.trim();
  }

  load(): void {
    const data = this.state.load();
    if (!data) return;
    this.next = Math.max(this.next, Number(data.next) || 1);
    for (const item of data.requests) {
      if (typeof item?.id !== "string" || !item.run?.project || !item.run?.template) continue;
      const { secrets, ...r } = item;
      this.requests.set(r.id, r);
      if (r.status === "approved" || r.status === "starting") {
        // Stopped between the quorum and Semaphore's answer: whether the task started is unknown here.
        r.error =
          r.status === "approved"
            ? "the bot restarted before starting it; ask again"
            : "the bot restarted while starting it; check Semaphore for the task before asking again";
        r.status = "failed";
      }
      if (r.status !== "pending") continue;
      if (secrets?.names?.length) this.restoreSecrets(r, secrets);
      if (Date.now() >= r.expiresAt) this.expire(r);
      else this.arm(r);
    }
  }

  private restoreSecrets(r: ApprovalRequest, secrets: NonNullable<PersistedRequest["secrets"]>): void {
    const key = this.storageKey();
    let why = secrets.lost;
    if (!why && !secrets.sealed) why = `the secret answers of ${r.id} were not kept across the restart because no storage_key is set; ask again`;
    else if (!why && !key) why = `the secret answers of ${r.id} were sealed with a [matrix] storage_key that is not set now; set it back or ask again`;
    else if (!why) {
      try {
        r.run = joinSecrets(r.run, JSON.parse(openSealed(key, secrets.sealed!, `approvals ${r.id}`)) as SecretValues);
        return;
      } catch (e) {
        why = `the secret answers of ${r.id} could not be decrypted with this [matrix] storage_key (was it changed?); ask again`;
        this.ops.logger.log("warn", "approvals", `${why} (${errorText(e)})`);
      }
    }
    this.lost.set(r.id, { why, names: secrets.names });
  }

  /** A request as written to disk: no secret in clear; sealed when a storage key is set and the request still needs them. */
  private persisted(r: ApprovalRequest): PersistedRequest {
    const lost = this.lost.get(r.id);
    if (lost) return { ...r, secrets: { names: lost.names, lost: lost.why } };
    const { kept, values, names } = splitSecrets(r.run);
    if (!names.length) return r;
    const key = this.storageKey();
    const needed = r.status === "pending" || r.status === "approved";
    const sealed = needed && key ? sealText(key, JSON.stringify(values), `approvals ${r.id}`) : undefined;
    return { ...r, run: kept, secrets: { names, sealed } };
  }

  private snapshot(): Persisted {
    const now = Date.now();
    for (const [id, r] of this.requests) {
      if (r.status !== "pending" && now - r.createdAt > KEEP_FINISHED_MS) {
        this.requests.delete(id);
        this.lost.delete(id);
      }
    }
    return { version: 1, next: this.next, requests: [...this.requests.values()].map((r) => this.persisted(r)) };
  }

  private save(): Promise<void> {
    return this.state.save();
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
