// Strict request-body decoding, the way Go's encoding/json fills a struct: the body must be JSON; each known field
// must have the JSON type of its Go field (string where an int is expected → error); `null` is accepted anywhere
// (pointer → nil, value → left at zero); unknown fields are ignored. Any failure → the route answers 400, empty body.

export type FieldType =
  | "int"
  | "bool"
  | "string"
  | "any"
  | "map" // map[string]interface{}
  | { arr: FieldType }
  | { obj: Schema };

export type Schema = Record<string, FieldType>;

class DecodeError extends Error {
  override name = "DecodeError";
}

/** Parse a request body as JSON (empty body → error, like Go's decoder returning EOF). */
function parseJsonBody(body: Buffer): unknown {
  const text = body.toString("utf8");
  if (text.trim() === "") throw new DecodeError("EOF");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DecodeError((e as Error).message);
  }
}

const INT_MIN = -(2 ** 63);
const INT_MAX = 2 ** 63;

function check(value: unknown, type: FieldType, path: string): unknown {
  if (value === null) return null;
  if (type === "any") return value;
  if (type === "int") {
    if (typeof value !== "number" || !Number.isInteger(value) || value < INT_MIN || value >= INT_MAX) {
      throw new DecodeError(`json: cannot unmarshal ${jsonType(value)} into Go struct field ${path} of type int`);
    }
    return value;
  }
  if (type === "bool") {
    if (typeof value !== "boolean") throw new DecodeError(`json: cannot unmarshal ${jsonType(value)} into Go struct field ${path} of type bool`);
    return value;
  }
  if (type === "string") {
    if (typeof value !== "string") throw new DecodeError(`json: cannot unmarshal ${jsonType(value)} into Go struct field ${path} of type string`);
    return value;
  }
  if (type === "map") {
    if (typeof value !== "object" || Array.isArray(value))
      throw new DecodeError(`json: cannot unmarshal ${jsonType(value)} into Go struct field ${path} of type map`);
    return value;
  }
  if ("arr" in type) {
    if (!Array.isArray(value)) throw new DecodeError(`json: cannot unmarshal ${jsonType(value)} into Go struct field ${path} of type slice`);
    return value.map((v, i) => check(v, type.arr, `${path}[${i}]`));
  }
  return decodeStruct(value, type.obj, path);
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "object") return "object";
  return typeof v;
}

/**
 * Decode a parsed JSON value into a struct described by `schema`. Returns only the schema's keys that were present
 * (null kept as null). A top-level `null` decodes to `{}` (Go leaves the struct untouched).
 */
function decodeStruct(value: unknown, schema: Schema, path = "body"): Record<string, unknown> {
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new DecodeError(`json: cannot unmarshal ${jsonType(value)} into Go value of type struct (${path})`);
  }
  const out: Record<string, unknown> = {};
  const obj = value as Record<string, unknown>;
  for (const [k, t] of Object.entries(schema)) {
    if (Object.prototype.hasOwnProperty.call(obj, k)) out[k] = check(obj[k], t, `${path}.${k}`);
  }
  return out;
}

/** Parse + decode in one step. */
function decodeBody(body: Buffer, schema: Schema): Record<string, unknown> {
  return decodeStruct(parseJsonBody(body), schema);
}

// ---- small typed readers for decoded structs ------------------------------------------------------------------

export function str(o: Record<string, unknown>, k: string, dflt = ""): string {
  const v = o[k];
  return typeof v === "string" ? v : dflt;
}
export function strOrNull(o: Record<string, unknown>, k: string): string | null {
  const v = o[k];
  return typeof v === "string" ? v : null;
}
export function int(o: Record<string, unknown>, k: string, dflt = 0): number {
  const v = o[k];
  return typeof v === "number" ? v : dflt;
}
export function intOrNull(o: Record<string, unknown>, k: string): number | null {
  const v = o[k];
  return typeof v === "number" ? v : null;
}
export function bool(o: Record<string, unknown>, k: string, dflt = false): boolean {
  const v = o[k];
  return typeof v === "boolean" ? v : dflt;
}
export function has(o: Record<string, unknown>, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

// ---- schemas of the request bodies --------------------------------------------------------------------------------

const TASK_PARAMS_SCHEMA: Schema = {
  debug: "bool",
  debug_level: "int",
  dry_run: "bool",
  diff: "bool",
  limit: { arr: "string" },
  tags: { arr: "string" },
  skip_tags: { arr: "string" },
  plan: "bool",
  destroy: "bool",
  auto_approve: "bool",
  upgrade: "bool",
  reconfigure: "bool",
};

/** db.Task: every field is decoded (server-set ones are overwritten afterwards). */
export const TASK_SCHEMA: Schema = {
  id: "int",
  template_id: "int",
  project_id: "int",
  status: "string",
  debug: "bool",
  dry_run: "bool",
  diff: "bool",
  playbook: "string",
  environment: "string",
  limit: "string",
  secret: "string",
  arguments: "string",
  git_branch: "string",
  user_id: "int",
  integration_id: "int",
  schedule_id: "int",
  created: "string",
  start: "string",
  end: "string",
  message: "string",
  commit_hash: "string",
  commit_message: "string",
  build_task_id: "int",
  version: "string",
  inventory_id: "int",
};

export const TASK_SCHEMA_MODERN: Schema = { ...TASK_SCHEMA, params: { obj: TASK_PARAMS_SCHEMA } };

export const STOP_SCHEMA: Schema = { force: "bool" };

export const LOGIN_SCHEMA: Schema = { auth: "string", password: "string" };

export const PROJECT_SCHEMA: Schema = {
  id: "int",
  name: "string",
  created: "string",
  alert: "bool",
  alert_chat: "string",
  max_parallel_tasks: "int",
  type: "string",
  demo: "bool",
};

export const PROJECT_USER_SCHEMA: Schema = { user_id: "int", role: "string" };

export const USER_SCHEMA: Schema = {
  id: "int",
  username: "string",
  name: "string",
  email: "string",
  admin: "bool",
  external: "bool",
  alert: "bool",
  password: "string",
};

export const KEY_SCHEMA: Schema = {
  id: "int",
  name: "string",
  type: "string",
  project_id: "int",
  string: "string",
  login_password: { obj: { login: "string", password: "string" } },
  ssh: { obj: { login: "string", passphrase: "string", private_key: "string" } },
  override_secret: "bool",
};

export const REPOSITORY_SCHEMA: Schema = {
  id: "int",
  name: "string",
  project_id: "int",
  git_url: "string",
  git_branch: "string",
  ssh_key_id: "int",
};

export const INVENTORY_SCHEMA: Schema = {
  id: "int",
  name: "string",
  project_id: "int",
  inventory: "string",
  ssh_key_id: "int",
  become_key_id: "int",
  type: "string",
  holder_id: "int",
  repository_id: "int",
};

export const ENVIRONMENT_SCHEMA: Schema = {
  id: "int",
  name: "string",
  project_id: "int",
  password: "string",
  json: "string",
  env: "string",
  secrets: { arr: { obj: { id: "int", type: "string", name: "string", secret: "string", operation: "string" } } },
};

export const VIEW_SCHEMA: Schema = { id: "int", project_id: "int", title: "string", position: "int" };

const SURVEY_VAR_SCHEMA: Schema = {
  name: "string",
  title: "string",
  required: "bool",
  type: "string",
  description: "string",
  values: { arr: { obj: { name: "string", value: "string" } } },
};

export const TEMPLATE_SCHEMA: Schema = {
  id: "int",
  project_id: "int",
  inventory_id: "int",
  repository_id: "int",
  environment_id: "int",
  name: "string",
  playbook: "string",
  arguments: "string",
  allow_override_args_in_task: "bool",
  description: "string",
  vaults: { arr: { obj: { id: "int", vault_key_id: "int", name: "string" } } },
  type: "string",
  start_version: "string",
  build_template_id: "int",
  view_id: "int",
  autorun: "bool",
  git_branch: "string",
  survey_vars: { arr: { obj: SURVEY_VAR_SCHEMA } },
  suppress_success_alerts: "bool",
  app: "string",
  task_params: "map",
};

export const SCHEDULE_SCHEMA: Schema = {
  id: "int",
  project_id: "int",
  template_id: "int",
  cron_format: "string",
  name: "string",
  active: "bool",
  repository_id: "int",
};

export const CRON_SCHEMA: Schema = { cron_format: "string" };
export const ACTIVE_SCHEMA: Schema = { active: "bool" };

/** Decode a request body; null when it is not acceptable (the route then answers 400 with an empty body). */
export function tryDecode(body: Buffer, schema: Schema): Record<string, unknown> | null {
  try {
    return decodeBody(body, schema);
  } catch (e) {
    if (e instanceof DecodeError) return null;
    throw e;
  }
}
