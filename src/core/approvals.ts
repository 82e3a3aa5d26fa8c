// Per-template approval policy ([template "<project>/<template>"] sections): a run of such a template starts only
// after N distinct eligible approvers said yes. Nobody approves their own run; requests expire. Requests are kept in
// state_dir so a restart neither loses nor re-runs them.
import { readFileSync } from "node:fs";
import { EventEmitter } from "node:events";
import type { Operations, Actor } from "./operations.js";
import { OperationError, actorName, userMessage } from "./operations.js";
import type { ResolvedRun } from "./task-ops.js";
import type { TemplatePolicy } from "../config/schema.js";
import type { TaskState } from "./store.js";
import { errorText } from "../log/logger.js";
import { writeFileAtomic } from "../util/atomic-write.js";

export type ApprovalStatus = "pending" | "started" | "denied" | "expired" | "failed";

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

interface Persisted { version: 1; next: number; requests: ApprovalRequest[] }

const KEEP_FINISHED_MS = 24 * 3600_000;

const refMatches = (ref: string, id: number, name: string) => ref === String(id) || ref.toLowerCase() === name.toLowerCase();

/** The policy that applies to a template: an exact template section wins over a `*` one. */
export function policyFor(policies: readonly TemplatePolicy[], project: { id: number; name: string }, template: { id: number; name: string }): TemplatePolicy | undefined {
  const inProject = policies.filter((p) => refMatches(p.project, project.id, project.name));
  return inProject.find((p) => refMatches(p.template, template.id, template.name)) ?? inProject.find((p) => p.template === "*");
}

export class ApprovalService extends EventEmitter<{ changed: [ApprovalRequest] }> {
  private requests = new Map<string, ApprovalRequest>();
  private timers = new Map<string, NodeJS.Timeout>();
  private next = 1;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly ops: Operations, private readonly file: string | undefined) { super(); }

  policy(run: Pick<ResolvedRun, "project" | "template">): TemplatePolicy | undefined {
    const p = policyFor(this.ops.config.templates ?? [], run.project, run.template);
    return p && p.approvals_required > 0 ? p : undefined;
  }

  get(id: string): ApprovalRequest | undefined { return this.requests.get(id.replace(/^#/, "").toLowerCase()); }

  list(): ApprovalRequest[] { return [...this.requests.values()]; }

  pending(): ApprovalRequest[] { return this.list().filter((r) => r.status === "pending"); }

  /** Opens a request for a confirmed run that needs approval. */
  async create(actor: Actor, run: ResolvedRun): Promise<ApprovalRequest> {
    const policy = this.policy(run);
    if (!policy) throw new OperationError(`${run.template.name} needs no approval.`, "bad_input");
    const now = Date.now();
    const req: ApprovalRequest = {
      id: `r${this.next++}`, run, requester: actorName(actor), requesterActor: actor,
      roomId: actor.kind === "chat" ? actor.roomId : undefined,
      needed: policy.approvals_required, approvers: [...policy.approvers], approvals: [], status: "pending",
      createdAt: now, expiresAt: now + policy.approval_expiry * 1000,
    };
    this.requests.set(req.id, req);
    this.arm(req);
    await this.ops.audit.record(actor, "run requested", "ok", { projectId: run.project.id, params: { template: run.template.name, request: req.id, approvals_required: req.needed, ...this.ops.tasks.auditParams(run) } });
    this.ops.logger.log("info", "approvals", `${req.requester} asked to run ${run.summary}; request ${req.id} needs ${req.needed} approval(s)`);
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
      if (!req.approvers.includes(who)) return { ok: false, reason: `${who} is not an approver of ${req.run.template.name} (approvers: ${req.approvers.join(", ")})` };
      return { ok: true };
    }
    // Approve permission counts in the room where the run was asked for, wherever the approver answers from:
    // approve rights in one room must not reach requests made in another.
    const elsewhere = actor.kind === "chat" && req.roomId !== undefined && req.roomId !== actor.roomId;
    const d = this.ops.authorize(elsewhere ? { ...actor, roomId: req.roomId! } : actor, "approve");
    return d.allowed ? { ok: true } : { ok: false, reason: elsewhere ? `${d.reason.replace(/this room/g, "the room")} ${req.roomId}, where the run was asked for` : d.reason };
  }

  /** Finds a request by id, or the only pending one asked for in the actor's room. */
  find(actor: Actor, ref: string | undefined): ApprovalRequest {
    if (ref) {
      const r = this.get(ref);
      if (!r) throw new OperationError(`There is no approval request ${JSON.stringify(ref)}. Pending ones: ${this.pending().map((p) => p.id).join(", ") || "none"}.`, "bad_input");
      return r;
    }
    const here = this.pending().filter((r) => actor.kind !== "chat" || r.roomId === actor.roomId);
    if (here.length === 1) return here[0]!;
    throw new OperationError(here.length === 0 ? "No approval request is pending here." : `Which one? Pending: ${here.map((r) => `${r.id} (${r.run.template.name})`).join(", ")}.`, "bad_input");
  }

  private assertOpen(req: ApprovalRequest): void {
    if (req.status === "pending" && Date.now() >= req.expiresAt) this.expire(req);
    if (req.status !== "pending") {
      const what = req.status === "started" ? `already approved and started as task ${req.taskId}` : req.status === "denied" ? `denied by ${req.deniedBy}` : req.status === "expired" ? "expired" : `failed to start (${req.error})`;
      throw new OperationError(`Request ${req.id} is ${what}; nothing to do.`, "bad_input");
    }
  }

  /** Adds the actor's approval; starts the run when the quorum is reached. */
  async approve(actor: Actor, req: ApprovalRequest): Promise<{ req: ApprovalRequest; task?: TaskState }> {
    this.assertOpen(req);
    const who = actorName(actor);
    const ok = this.eligible(actor, req);
    if (!ok.ok) {
      this.ops.counters.refused++;
      await this.ops.audit.record(actor, "approve", "refused", { projectId: req.run.project.id, params: { request: req.id }, detail: ok.reason });
      throw new OperationError(`Not allowed to approve ${req.id}: ${ok.reason}.`, "denied");
    }
    if (req.approvals.some((a) => a.user === who)) throw new OperationError(`You already approved ${req.id} (${req.approvals.length}/${req.needed}); it needs another approver.`, "bad_input");
    req.approvals.push({ user: who, at: Date.now() });
    await this.ops.audit.record(actor, "approve", "ok", { projectId: req.run.project.id, params: { request: req.id, template: req.run.template.name }, approvals: req.approvals.map((a) => a.user) });
    let task: TaskState | undefined;
    if (req.approvals.length >= req.needed) {
      try {
        task = await this.ops.tasks.start(req.requesterActor, req.run, { request: req.id, approvals: req.approvals.map((a) => a.user) });
        req.status = "started";
        req.taskId = task.taskId;
      } catch (e) {
        req.status = "failed";
        req.error = userMessage(e);
      }
      this.disarm(req);
    }
    await this.save();
    this.emit("changed", req);
    return { req, task };
  }

  /** Refuses the run: by an eligible approver, or withdrawn by the requester. */
  async deny(actor: Actor, req: ApprovalRequest, reason?: string): Promise<ApprovalRequest> {
    this.assertOpen(req);
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
    await this.ops.audit.record(actor, who === req.requester ? "withdraw" : "deny", "ok", { projectId: req.run.project.id, params: { request: req.id, template: req.run.template.name }, approvals: req.approvals.map((a) => a.user), detail: reason });
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
    if (req.status !== "pending") return;
    req.status = "expired";
    this.disarm(req);
    void this.ops.audit.record(req.requesterActor, "run requested", "cancelled", { projectId: req.run.project.id, params: { request: req.id, template: req.run.template.name }, approvals: req.approvals.map((a) => a.user), detail: "approval request expired" });
    this.ops.logger.log("info", "approvals", `request ${req.id} (${req.run.template.name}) expired with ${req.approvals.length}/${req.needed} approvals`);
    void this.save();
    this.emit("changed", req);
  }

  load(): void {
    if (!this.file) return;
    try {
      const data = JSON.parse(readFileSync(this.file, "utf8")) as Persisted;
      if (data.version !== 1 || !Array.isArray(data.requests)) throw new Error("unknown format");
      this.next = Math.max(this.next, Number(data.next) || 1);
      for (const r of data.requests) {
        if (typeof r?.id !== "string" || !r.run?.project || !r.run?.template) continue;
        this.requests.set(r.id, r);
        if (r.status === "pending") {
          if (Date.now() >= r.expiresAt) this.expire(r); else this.arm(r);
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") this.ops.logger.log("warn", "approvals", `could not read ${this.file} (${errorText(e)}); starting with no approval requests`);
    }
  }

  private save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const now = Date.now();
    for (const [id, r] of this.requests) if (r.status !== "pending" && now - r.createdAt > KEEP_FINISHED_MS) this.requests.delete(id);
    const text = JSON.stringify({ version: 1, next: this.next, requests: [...this.requests.values()] } satisfies Persisted);
    this.chain = this.chain.then(() => writeFileAtomic(file, text)).catch((e) => this.ops.logger.log("error", "approvals", `could not save ${file}: ${errorText(e)}`));
    return this.chain;
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
