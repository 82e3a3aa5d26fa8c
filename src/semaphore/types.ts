// Wire types of the Semaphore UI REST + WebSocket API (reference: semaphore-api.md §5-§7, §10) and the functions
// that turn a raw JSON reply into them.
//
// Field names are kept exactly as on the wire (snake_case), so the types read like the API documentation.
// Normalisation rules, the same for every type:
//  * absent and null are treated alike (v2.10 sends every key, later versions omit empty ones);
//  * nullable fields (`T | null`) come out as null when absent; non-nullable strings as "", booleans as false,
//    counts as 0, and nested arrays (survey_vars, secrets, vaults, ...) as [] — never null;
//  * only the minimum is validated (ids must be integers, names/status must be strings); a reply that fails that
//    throws SemaphoreError kind "bad_reply". A wrongly typed optional field is treated as absent;
//  * values that moved between versions are presented uniformly (a task's debug/dry_run/diff/limit are read from the
//    flat fields of v2.10 or from the `params` object of later versions; a template's empty `app` is "ansible").
// Ids are opaque integers: BoltDB hands out task ids counting *down* from 2147483646, so never sort by id.

import { SemaphoreError } from "./errors.js";

// ---------------------------------------------------------------------------------------------------------------
// Task status

/** Every task status known to any supported version (`rejected` exists only after v2.10). */
export const TASK_STATUSES = [
  "waiting",
  "starting",
  "waiting_confirmation",
  "confirmed",
  "rejected",
  "running",
  "stopping",
  "stopped",
  "success",
  "error",
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
/** A status as received: one of TaskStatus, or a value from a newer server this code doesn't know yet. */
export type AnyTaskStatus = TaskStatus | (string & {});

const TERMINAL_STATUSES: readonly TaskStatus[] = ["stopped", "success", "error", "rejected"];

/** A task in this status will not change any more ("finished"; `rejected` is final on servers that have it). */
export function isTerminalStatus(status: AnyTaskStatus): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * The task is over for whoever follows it: its status is final and Semaphore has stopped streaming its output. A live
 * v2.10 answers a forced stop of a task that is not exactly `running` (starting, confirmed…) with `stopped` and
 * `end: null` while the playbook runs on, and sets `end` when it finishes; so `stopped` counts only once `end` is set.
 * (`success`/`error` also come once with `end: null`, just before `end` is set, but their output is complete.)
 * `end` undefined means "not known" (e.g. restored state) and does not hold a task open.
 */
export function isTaskDone(t: { status: AnyTaskStatus; end?: string | null }): boolean {
  return isTerminalStatus(t.status) && !(t.status === "stopped" && t.end === null);
}

// ---------------------------------------------------------------------------------------------------------------
// Shapes

export interface Project {
  id: number;
  name: string;
  created: string | null;
  alert: boolean;
  alert_chat: string | null;
  /** 0 = unlimited. */
  max_parallel_tasks: number;
  type: string;
}

export interface SurveyVarValue {
  name: string;
  value: string;
}

export interface SurveyVar {
  /** Variable name, sent as a key of the start request's `environment`. */
  name: string;
  /** Prompt shown to the user. */
  title: string;
  required: boolean;
  /** "" (string) | "int" | "enum"; later versions add e.g. "secret". */
  type: string;
  description: string;
  /** Choices for enum variables. */
  values: SurveyVarValue[];
  /** Later versions only. */
  default_value: string | null;
}

export interface Template {
  id: number;
  project_id: number;
  inventory_id: number | null;
  repository_id: number | null;
  environment_id: number | null;
  name: string;
  /** Playbook or script path inside the repository. */
  playbook: string;
  /** JSON array as text. */
  arguments: string | null;
  /** Task `arguments` (and so tags/skip-tags on v2.10) are only used when this is on. */
  allow_override_args_in_task: boolean;
  description: string | null;
  vaults: Array<Record<string, unknown>>;
  /** "" (plain task) | "build" | "deploy". */
  type: string;
  start_version: string | null;
  build_template_id: number | null;
  view_id: number | null;
  last_task: TaskWithTpl | null;
  autorun: boolean;
  git_branch: string | null;
  survey_vars: SurveyVar[];
  suppress_success_alerts: boolean;
  /** "ansible" | "terraform" | "tofu" | "bash" | "powershell" | "python" | "pulumi" | ... ("" is read as "ansible"). */
  app: string;
  /** Number of tasks run from this template. */
  tasks: number;
  /** Later versions: per-template "allow_*" switches and defaults for task params. */
  task_params: Record<string, unknown> | null;
  /** Later versions. */
  allow_override_branch_in_task: boolean;
  /** Later versions. */
  allow_parallel_tasks: boolean;
}

export interface Task {
  id: number;
  template_id: number;
  project_id: number;
  status: AnyTaskStatus;
  /** From the flat field (v2.10) or params.debug (later). */
  debug: boolean;
  /** From the flat field (v2.10) or params.dry_run (later). */
  dry_run: boolean;
  /** From the flat field (v2.10) or params.diff (later). */
  diff: boolean;
  playbook: string;
  /** Extra variables as JSON text ("" when none). */
  environment: string;
  /** Comma separated hosts/groups (flat field, or params.limit joined with ","). */
  limit: string;
  secret: string;
  /** CLI args as a JSON array in text. */
  arguments: string | null;
  git_branch: string | null;
  user_id: number | null;
  integration_id: number | null;
  schedule_id: number | null;
  created: string | null;
  start: string | null;
  end: string | null;
  message: string;
  commit_hash: string | null;
  commit_message: string;
  build_task_id: number | null;
  version: string | null;
  inventory_id: number | null;
  /** Later versions: the app-specific parameters object (ansible: debug, dry_run, diff, limit[], tags[], skip_tags[]). */
  params: Record<string, unknown> | null;
}

/** A task as returned by the list routes and in a template's last_task. */
export interface TaskWithTpl extends Task {
  tpl_playbook: string;
  /** The template's name. */
  tpl_alias: string;
  tpl_type: string;
  tpl_app: string;
  /** Display name of the user who started it (not the login). */
  user_name: string | null;
  build_task: Task | null;
}

export interface TaskOutput {
  task_id: number;
  time: string;
  /** One line, no trailing newline, ANSI colour codes as sent. */
  output: string;
  /** Later versions only. */
  id: number | null;
}

export interface Info {
  /** e.g. "v2.10.32-31-gd4a2713", "2.13.0-75ffe9c-1742166024", "v2.17.0-beta"; "" if the server didn't say. */
  version: string;
  /** Full `ansible --version` output, or "". */
  ansible: string;
  web_host: string;
  use_remote_runner: boolean;
  /** Later versions only. */
  auth_methods: unknown;
  /** Later versions only. */
  premium_features: unknown;
  /** The reply as received, for displaying every key. */
  raw: Record<string, unknown>;
}

export interface User {
  id: number;
  created: string | null;
  username: string;
  name: string;
  email: string;
  admin: boolean;
  external: boolean;
  alert: boolean;
  /** Only in GET /api/user. */
  can_create_project: boolean | null;
}

// WebSocket (§7): server → client, one JSON object per text frame.

export interface WsLogFrame {
  type: "log";
  task_id: number;
  project_id: number;
  time: string;
  output: string;
}

export interface WsUpdateFrame {
  type: "update";
  task_id: number;
  project_id: number;
  template_id: number;
  status: AnyTaskStatus;
  start: string | null;
  end: string | null;
  version: string | null;
}

export type WsFrame = WsLogFrame | WsUpdateFrame;

// ---------------------------------------------------------------------------------------------------------------
// Field readers

type Raw = Record<string, unknown>;

function bad(detail: string): SemaphoreError {
  return new SemaphoreError({ kind: "bad_reply", method: "", path: "", detail });
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return v.length > 20 ? "a string" : JSON.stringify(v);
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

function asObject(raw: unknown, what: string): Raw {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad(`${what} is ${describe(raw)}, not an object`);
  return raw as Raw;
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v);
}

function reqInt(o: Raw, key: string, what: string): number {
  const v = o[key];
  if (!isInt(v)) throw bad(`${what}.${key} is ${v === undefined ? "missing" : describe(v)}, not an integer`);
  return v;
}

function reqStr(o: Raw, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== "string") throw bad(`${what}.${key} is ${v === undefined ? "missing" : describe(v)}, not a string`);
  return v;
}

function int(o: Raw, key: string, dflt = 0): number {
  const v = o[key];
  return isInt(v) ? v : dflt;
}

function intOrNull(o: Raw, key: string): number | null {
  const v = o[key];
  return isInt(v) ? v : null;
}

function str(o: Raw, key: string, dflt = ""): string {
  const v = o[key];
  return typeof v === "string" ? v : dflt;
}

function strOrNull(o: Raw, key: string): string | null {
  const v = o[key];
  return typeof v === "string" ? v : null;
}

function bool(o: Raw, key: string): boolean {
  return o[key] === true;
}

function objOrNull(o: Raw, key: string): Raw | null {
  const v = o[key];
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Raw) : null;
}

function arr(o: Raw, key: string, what: string): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`${what}.${key} is ${describe(v)}, not an array`);
  return v;
}

/** Normalises every element of a JSON array reply; throws bad_reply if it isn't an array. */
export function normalizeList<T>(raw: unknown, item: (x: unknown, what: string) => T, what: string): T[] {
  if (!Array.isArray(raw)) throw bad(`expected a list of ${what}s, got ${describe(raw)}`);
  return raw.map((x, i) => item(x, `${what}[${i}]`));
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisers

export function normalizeProject(raw: unknown, what = "project"): Project {
  const o = asObject(raw, what);
  return {
    id: reqInt(o, "id", what),
    name: reqStr(o, "name", what),
    created: strOrNull(o, "created"),
    alert: bool(o, "alert"),
    alert_chat: strOrNull(o, "alert_chat"),
    max_parallel_tasks: int(o, "max_parallel_tasks"),
    type: str(o, "type"),
  };
}

function normalizeSurveyVar(raw: unknown, what = "survey_var"): SurveyVar {
  const o = asObject(raw, what);
  return {
    name: reqStr(o, "name", what),
    title: str(o, "title"),
    required: bool(o, "required"),
    type: str(o, "type"),
    description: str(o, "description"),
    values: arr(o, "values", what).map((v, i) => {
      const e = asObject(v, `${what}.values[${i}]`);
      return { name: str(e, "name"), value: typeof e.value === "number" ? String(e.value) : str(e, "value") };
    }),
    default_value: strOrNull(o, "default_value"),
  };
}

export function normalizeTemplate(raw: unknown, what = "template"): Template {
  const o = asObject(raw, what);
  const lastTask = o.last_task === undefined || o.last_task === null ? null : normalizeTaskWithTpl(o.last_task, `${what}.last_task`);
  const app = str(o, "app");
  return {
    id: reqInt(o, "id", what),
    project_id: int(o, "project_id"),
    inventory_id: intOrNull(o, "inventory_id"),
    repository_id: intOrNull(o, "repository_id"),
    environment_id: intOrNull(o, "environment_id"),
    name: reqStr(o, "name", what),
    playbook: str(o, "playbook"),
    arguments: strOrNull(o, "arguments"),
    allow_override_args_in_task: bool(o, "allow_override_args_in_task"),
    description: strOrNull(o, "description"),
    vaults: arr(o, "vaults", what).filter((v): v is Raw => v !== null && typeof v === "object" && !Array.isArray(v)),
    type: str(o, "type"),
    start_version: strOrNull(o, "start_version"),
    build_template_id: intOrNull(o, "build_template_id"),
    view_id: intOrNull(o, "view_id"),
    last_task: lastTask,
    autorun: bool(o, "autorun"),
    git_branch: strOrNull(o, "git_branch"),
    survey_vars: arr(o, "survey_vars", what).map((v, i) => normalizeSurveyVar(v, `${what}.survey_vars[${i}]`)),
    suppress_success_alerts: bool(o, "suppress_success_alerts"),
    app: app === "" ? "ansible" : app,
    tasks: int(o, "tasks"),
    task_params: objOrNull(o, "task_params"),
    allow_override_branch_in_task: bool(o, "allow_override_branch_in_task"),
    allow_parallel_tasks: bool(o, "allow_parallel_tasks"),
  };
}

function paramFlag(o: Raw, params: Raw | null, key: string): boolean {
  return o[key] === true || (params !== null && params[key] === true);
}

function taskLimit(o: Raw, params: Raw | null): string {
  const flat = str(o, "limit");
  if (flat !== "") return flat;
  const p = params?.limit;
  if (Array.isArray(p)) return p.filter((x): x is string => typeof x === "string" && x !== "").join(",");
  return typeof p === "string" ? p : "";
}

export function normalizeTask(raw: unknown, what = "task"): Task {
  const o = asObject(raw, what);
  const params = objOrNull(o, "params");
  return {
    id: reqInt(o, "id", what),
    template_id: int(o, "template_id"),
    project_id: int(o, "project_id"),
    status: reqStr(o, "status", what),
    debug: paramFlag(o, params, "debug"),
    dry_run: paramFlag(o, params, "dry_run"),
    diff: paramFlag(o, params, "diff"),
    playbook: str(o, "playbook"),
    environment: str(o, "environment"),
    limit: taskLimit(o, params),
    secret: str(o, "secret"),
    arguments: strOrNull(o, "arguments"),
    git_branch: strOrNull(o, "git_branch"),
    user_id: intOrNull(o, "user_id"),
    integration_id: intOrNull(o, "integration_id"),
    schedule_id: intOrNull(o, "schedule_id"),
    created: strOrNull(o, "created"),
    start: strOrNull(o, "start"),
    end: strOrNull(o, "end"),
    message: str(o, "message"),
    commit_hash: strOrNull(o, "commit_hash"),
    commit_message: str(o, "commit_message"),
    build_task_id: intOrNull(o, "build_task_id"),
    version: strOrNull(o, "version"),
    inventory_id: intOrNull(o, "inventory_id"),
    params,
  };
}

export function normalizeTaskWithTpl(raw: unknown, what = "task"): TaskWithTpl {
  const task = normalizeTask(raw, what);
  const o = raw as Raw;
  return {
    ...task,
    tpl_playbook: str(o, "tpl_playbook"),
    tpl_alias: str(o, "tpl_alias"),
    tpl_type: str(o, "tpl_type"),
    tpl_app: str(o, "tpl_app"),
    user_name: strOrNull(o, "user_name"),
    build_task: o.build_task === undefined || o.build_task === null ? null : normalizeTask(o.build_task, `${what}.build_task`),
  };
}

export function normalizeTaskOutput(raw: unknown, what = "output"): TaskOutput {
  const o = asObject(raw, what);
  const output = o.output;
  if (output !== undefined && output !== null && typeof output !== "string") {
    throw bad(`${what}.output is ${describe(output)}, not a string`);
  }
  return { task_id: int(o, "task_id"), time: str(o, "time"), output: str(o, "output"), id: intOrNull(o, "id") };
}

export function normalizeInfo(raw: unknown, what = "info"): Info {
  const o = asObject(raw, what);
  return {
    version: str(o, "version"),
    ansible: str(o, "ansible"),
    web_host: str(o, "web_host"),
    use_remote_runner: bool(o, "use_remote_runner"),
    auth_methods: o.auth_methods ?? null,
    premium_features: o.premium_features ?? null,
    raw: { ...o },
  };
}

export function normalizeUser(raw: unknown, what = "user"): User {
  const o = asObject(raw, what);
  return {
    id: reqInt(o, "id", what),
    created: strOrNull(o, "created"),
    username: reqStr(o, "username", what),
    name: str(o, "name"),
    email: str(o, "email"),
    admin: bool(o, "admin"),
    external: bool(o, "external"),
    alert: bool(o, "alert"),
    can_create_project: typeof o.can_create_project === "boolean" ? o.can_create_project : null,
  };
}

/**
 * Normalises one websocket message. Returns null for frame types this code doesn't know (later servers may add
 * some; skip them); throws bad_reply for a known type with a broken shape or for a non-object.
 */
export function normalizeWsFrame(raw: unknown): WsFrame | null {
  const o = asObject(raw, "websocket frame");
  if (o.type === "log") {
    const output = o.output;
    if (output !== undefined && output !== null && typeof output !== "string") throw bad("log frame output is not a string");
    return {
      type: "log",
      task_id: reqInt(o, "task_id", "log frame"),
      project_id: int(o, "project_id"),
      time: str(o, "time"),
      output: str(o, "output"),
    };
  }
  if (o.type === "update") {
    return {
      type: "update",
      task_id: reqInt(o, "task_id", "update frame"),
      project_id: int(o, "project_id"),
      template_id: int(o, "template_id"),
      status: reqStr(o, "status", "update frame"),
      start: strOrNull(o, "start"),
      end: strOrNull(o, "end"),
      version: strOrNull(o, "version"),
    };
  }
  return null;
}

/** Parses a websocket text frame (string or Buffer). Invalid JSON → SemaphoreError kind "not_json". */
export function parseWsFrame(data: string | Uint8Array): WsFrame | null {
  const text = typeof data === "string" ? data : Buffer.from(data).toString("utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new SemaphoreError({ kind: "not_json", method: "WS", path: "/api/ws", detail: "invalid JSON frame", serverMessage: text.slice(0, 80) });
  }
  return normalizeWsFrame(raw);
}
