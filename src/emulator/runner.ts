// Runs one task the way Semaphore's TaskRunner does: status starting → running, Semaphore's own log lines
// ("Started: N", "Run TaskRunner with template: …", "Preparing: N", "installing static inventory"), then the
// template's scenario, then success, or error with "Running app failed: exit status N" / "…: signal: killed".
// The host (live pool or the virtual-time seeder) provides time, sleeping, status changes and logging.

import type { Store } from "./store.js";
import { parseInventory, applyLimit, scenarioFor, type RunContext, type RunIO } from "./scenarios.js";
import type { ApiFlavor, TaskRow, TaskStatus } from "./types.js";

export class Killed extends Error {
  override name = "Killed";
}

/** The part of a task run that the environment provides. */
export interface RunHost {
  sleep(units: number): Promise<void>;
  log(task: TaskRow, line: string): void;
  /** Guarded status change (see TaskPool.setStatus); returns false when the guard refused it. */
  setStatus(task: TaskRow, status: TaskStatus): boolean;
  /** Enter waiting_confirmation and resolve when the task is confirmed/rejected. */
  waitConfirmation(task: TaskRow): Promise<"confirmed" | "rejected">;
  /** Set `end`, send the final update (same status again), record the "finished" event. */
  finish(task: TaskRow): void;
  /** True when the whole server is going away: end silently. */
  disposed(): boolean;
}

/** A cancellable sleeper: kill() makes the pending and every later sleep throw Killed. */
export class Proc {
  private timer: NodeJS.Timeout | null = null;
  private rejectPending: ((e: Error) => void) | null = null;
  killed = false;

  constructor(private readonly unitMs: number) {}

  sleep(units: number): Promise<void> {
    if (this.killed) return Promise.reject(new Killed());
    const ms = Math.max(0, Math.round(units * this.unitMs));
    return new Promise<void>((resolve, reject) => {
      this.rejectPending = reject;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.rejectPending = null;
        resolve();
      }, ms);
    });
  }

  /** Wait for an external event; kill() rejects it. */
  wait<T>(register: (resolve: (v: T) => void) => void): Promise<T> {
    if (this.killed) return Promise.reject(new Killed());
    return new Promise<T>((resolve, reject) => {
      this.rejectPending = reject;
      register((v) => {
        this.rejectPending = null;
        resolve(v);
      });
    });
  }

  kill(): void {
    if (this.killed) return;
    this.killed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const r = this.rejectPending;
    this.rejectPending = null;
    r?.(new Killed());
  }
}

/** Go's json error texts for the environment/arguments strings Semaphore parses. */
export function goJsonError(text: string, want: "object" | "array"): string | null {
  const t = text.trim();
  if (t === "") return "unexpected end of JSON input";
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    const c = t[0]!;
    for (const word of ["null", "true", "false"]) {
      if (c !== word[0]) continue;
      for (let i = 1; i < word.length; i++) {
        if (t[i] === undefined) return "unexpected end of JSON input";
        if (t[i] !== word[i]) return `invalid character '${t[i]}' in literal ${word} (expecting '${word[i]}')`;
      }
      return `invalid character '${t[word.length]}' after top-level value`;
    }
    if (!'{["-0123456789'.includes(c)) return `invalid character '${c}' looking for beginning of value`;
    return "unexpected end of JSON input";
  }
  const kind = Array.isArray(v) ? "array" : v === null ? "null" : typeof v === "object" ? "object" : typeof v === "number" ? "number" : typeof v;
  if (kind === "null") return null;
  if (want === "object" && kind !== "object") return `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`;
  if (want === "array") {
    if (kind !== "array") return `json: cannot unmarshal ${kind} into Go value of type []string`;
    if ((v as unknown[]).some((x) => typeof x !== "string")) return "json: cannot unmarshal number into Go value of type string";
  }
  return null;
}

function parseObject(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  const v: unknown = JSON.parse(text);
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function parseArgs(text: string | null): string[] {
  if (!text || text.trim() === "") return [];
  const err = goJsonError(text, "array");
  if (err) throw new Error(err);
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? (v as string[]) : [];
}

/** Everything a scenario gets to know about its run. Throws (with a Go-like message) on unusable task input. */
function buildContext(store: Store, task: TaskRow, flavor: ApiFlavor, firstCheckout: boolean): RunContext {
  const template = store.templates.get(task.template_id);
  const project = store.projects.get(task.project_id);
  if (!template || !project) throw new Error("template not found");
  const invId = task.inventory_id ?? template.inventory_id;
  const inventory =
    (invId !== null ? store.inventories.get(invId) : undefined) ?? (template.inventory_id !== null ? store.inventories.get(template.inventory_id) : undefined);
  const repository = store.repositories.get(template.repository_id);
  const environment = template.environment_id !== null ? store.environments.get(template.environment_id) : undefined;

  const tplVars = environment ? parseObject(environment.json) : {};
  const taskVars = parseObject(task.environment);
  // template environment first; task vars (and secret vars) are added, but on key clash the template wins (§4.5)
  const extraVars: Record<string, unknown> = { ...tplVars };
  for (const [k, v] of Object.entries({ ...taskVars, ...task._secretVars })) if (!(k in tplVars)) extraVars[k] = v;
  const envVars: Record<string, string> = {};
  if (environment?.env) {
    for (const [k, v] of Object.entries(parseObject(environment.env))) envVars[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  const cliArgs = [...parseArgs(template.arguments), ...(template.allow_override_args_in_task ? parseArgs(task.arguments) : [])];
  const argv = [...Object.entries(extraVars).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`), ...cliArgs];

  const modern = flavor === "modern";
  const limit = modern
    ? template.task_params.allow_override_limit
      ? (task.params.limit ?? [])
      : []
    : task.limit
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
  const { hosts, groups } = parseInventory(inventory);
  const tp = template.task_params;
  return {
    task,
    template,
    project,
    inventory,
    repository,
    environment,
    extraVars,
    envVars,
    argv,
    cliArgs,
    hosts: applyLimit(hosts, groups, limit),
    groups,
    limit,
    debug: modern ? !!task.params.debug : task.debug,
    dryRun: modern ? !!task.params.dry_run : task.dry_run,
    diff: modern ? !!task.params.diff : task.diff,
    planOnly: modern && !!task.params.plan,
    autoApprove: modern && (!!tp.auto_approve || (!!tp.allow_auto_approve && !!task.params.auto_approve)),
    firstCheckout,
    flavor,
  };
}

/** The whole life of a dequeued task. Resolves when the task is finished (never rejects). */
export async function runTask(store: Store, task: TaskRow, host: RunHost, flavor: ApiFlavor): Promise<void> {
  const tpl = store.templates.get(task.template_id);
  const firstCheckout = ![...store.tasks.values()].some((t) => t.template_id === task.template_id && t.id !== task.id && t.start !== null);
  try {
    if (!host.setStatus(task, "starting")) {
      // stopped while still queued
      host.finish(task);
      return;
    }
    await host.sleep(0.1);
    host.log(task, `Started: ${task.id}`);
    host.log(task, `Run TaskRunner with template: ${tpl?.name ?? ""}\n`);
    await host.sleep(0.2);
    host.setStatus(task, "running");
    host.log(task, `Preparing: ${task.id}`);
    await host.sleep(0.2);
    host.log(task, "installing static inventory");
    const ctx = buildContext(store, task, flavor, firstCheckout);
    const scenario = scenarioFor(tpl!._scenario);
    const io: RunIO = {
      print: async (line, units = 1) => {
        await host.sleep(units);
        host.log(task, line);
      },
      printAll: async (lines, units = 1) => {
        for (const [i, l] of lines.entries()) {
          await host.sleep(i === 0 ? units : 0.05);
          host.log(task, l);
        }
      },
      sleep: (units) => host.sleep(units),
      confirm: async () => {
        const answer = await host.waitConfirmation(task);
        if (answer === "confirmed") host.setStatus(task, "running");
        return answer;
      },
      setCommit: (hash, message) => {
        task.commit_hash = hash;
        task.commit_message = message;
      },
    };
    const result = await scenario(ctx, io);
    if (result === 0) host.setStatus(task, "success");
    else if (result === "rejected") {
      /* stays rejected: it is final */
    } else {
      host.log(task, `Running app failed: exit status ${result}`);
      host.setStatus(task, "error");
    }
  } catch (e) {
    if (host.disposed()) return;
    if (e instanceof Killed) host.log(task, "Running app failed: signal: killed");
    else host.log(task, `Running app failed: ${(e as Error).message}`);
    host.setStatus(task, "error"); // refused by the guard when a forced stop already made it "stopped"
  }
  if (host.disposed()) return;
  host.finish(task);
}
