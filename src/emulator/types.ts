// Internal row types of the Semaphore emulator. Field names are the JSON names of Semaphore v2.10 (snake_case), so
// the serialisers in shapes.ts only pick and order keys. Internal-only fields start with an underscore.

import type { TaskStatus } from "../semaphore/types.js";

// One task model: the emulator's statuses are the client's (src/semaphore/types.ts), and so is "finished".
export type { TaskStatus } from "../semaphore/types.js";

export type App = "ansible" | "terraform" | "tofu" | "bash" | "powershell" | "python" | "pulumi";

export type Role = "owner" | "manager" | "task_runner" | "guest";
export const ROLES: readonly Role[] = ["owner", "manager", "task_runner", "guest"];

/** Permission bits of §2.4. */
export const PERM = { run: 1, updateProject: 2, manage: 4, manageUsers: 8 } as const;
export const ROLE_PERMISSIONS: Record<Role, number> = { owner: 15, manager: 5, task_runner: 1, guest: 0 };

export type ApiFlavor = "v2.10" | "modern";

export interface UserRow {
  id: number;
  created: string;
  username: string;
  name: string;
  email: string;
  admin: boolean;
  external: boolean;
  alert: boolean;
  _password: string;
}

export interface TokenRow {
  id: string;
  created: string;
  expired: boolean;
  user_id: number;
}

export interface SessionRow {
  cookie: string;
  id: number;
  user_id: number;
  lastActive: number; // ms epoch
  expired: boolean;
}

export interface ProjectRow {
  id: number;
  name: string;
  created: string;
  alert: boolean;
  alert_chat: string | null;
  max_parallel_tasks: number;
  type: string;
}

export interface MemberRow {
  project_id: number;
  user_id: number;
  role: Role;
}

export type KeyType = "none" | "ssh" | "login_password" | "string";

export interface KeyRow {
  id: number;
  name: string;
  type: KeyType;
  project_id: number;
  _secret: { string: string; login: string; password: string; passphrase: string; private_key: string };
  override_secret: boolean;
}

export interface RepositoryRow {
  id: number;
  name: string;
  project_id: number;
  git_url: string;
  git_branch: string;
  ssh_key_id: number;
}

export type InventoryType = "static" | "static-yaml" | "file" | "terraform-workspace" | "tofu-workspace";
export const INVENTORY_TYPES: readonly InventoryType[] = ["static", "static-yaml", "file", "terraform-workspace", "tofu-workspace"];

export interface InventoryRow {
  id: number;
  name: string;
  project_id: number;
  inventory: string;
  ssh_key_id: number | null;
  become_key_id: number | null;
  type: InventoryType;
  holder_id: number | null;
  repository_id: number | null;
}

export interface EnvironmentSecretRow {
  id: number;
  type: "var" | "env";
  name: string;
  _value: string;
}

export interface EnvironmentRow {
  id: number;
  name: string;
  project_id: number;
  password: string | null;
  json: string;
  env: string | null;
  secrets: EnvironmentSecretRow[] | null;
}

export interface ViewRow {
  id: number;
  project_id: number;
  title: string;
  position: number;
}

export interface SurveyVarValue {
  name: string;
  value: string;
}

export interface SurveyVar {
  name: string;
  title: string;
  required: boolean;
  type: "" | "int" | "enum";
  description: string;
  values: SurveyVarValue[] | null;
}

export interface TemplateVault {
  id: number;
  vault_key_id: number;
  name: string | null;
}

/** Modern flavor only (§10): per-template switches for task params. */
export interface TemplateTaskParams {
  allow_debug?: boolean;
  allow_override_inventory?: boolean;
  allow_override_limit?: boolean;
  allow_override_tags?: boolean;
  allow_override_skip_tags?: boolean;
  allow_auto_approve?: boolean;
  auto_approve?: boolean;
  allow_destroy?: boolean;
}

export interface TemplateRow {
  id: number;
  project_id: number;
  inventory_id: number | null;
  repository_id: number;
  environment_id: number | null;
  name: string;
  playbook: string;
  arguments: string | null;
  allow_override_args_in_task: boolean;
  description: string | null;
  vaults: TemplateVault[];
  type: "" | "build" | "deploy";
  start_version: string | null;
  build_template_id: number | null;
  view_id: number | null;
  autorun: boolean;
  git_branch: string | null;
  survey_vars: SurveyVar[] | null;
  suppress_success_alerts: boolean;
  app: App;
  task_params: TemplateTaskParams;
  /** Which scripted behaviour runs for this template (see scenarios.ts). */
  _scenario: ScenarioRef;
}

export interface ScheduleRow {
  id: number;
  project_id: number;
  template_id: number;
  cron_format: string;
  name: string;
  active: boolean;
  repository_id: number | null;
}

/** Modern flavor: the `params` object of a task (§10). */
export interface TaskParams {
  debug?: boolean;
  debug_level?: number;
  dry_run?: boolean;
  diff?: boolean;
  limit?: string[];
  tags?: string[];
  skip_tags?: string[];
  plan?: boolean;
  destroy?: boolean;
  auto_approve?: boolean;
  upgrade?: boolean;
  reconfigure?: boolean;
  [k: string]: unknown;
}

export interface TaskRow {
  id: number;
  template_id: number;
  project_id: number;
  status: TaskStatus;
  debug: boolean;
  dry_run: boolean;
  diff: boolean;
  playbook: string;
  environment: string;
  limit: string;
  secret: string;
  arguments: string | null;
  git_branch: string | null;
  user_id: number | null;
  integration_id: number | null;
  schedule_id: number | null;
  created: string;
  start: string | null;
  end: string | null;
  message: string;
  commit_hash: string | null;
  commit_message: string;
  build_task_id: number | null;
  version: string | null;
  inventory_id: number | null;
  params: TaskParams;
  /** creation order (ids may count down, so ordering never uses ids) */
  _seq: number;
  /** secret extra vars given at start; used by the run, never stored in `secret` */
  _secretVars: Record<string, unknown>;
}

export interface TaskOutputRow {
  id: number;
  task_id: number;
  task: string;
  time: string;
  output: string;
}

export interface EventRow {
  _seq: number;
  user_id: number | null;
  project_id: number | null;
  integration_id: number | null;
  object_id: number | null;
  object_type: string;
  description: string;
  created: string;
  object_name: string;
}

// ---- scenarios (what a template "runs") --------------------------------------------------------------------------

/** A scripted run: printed lines with delays, optional confirmation pause, exit code. */
export interface ScriptSpec {
  /** Lines printed one by one. */
  lines: string[];
  /** Delay before each line, in units of lineDelayMs (default 1). */
  delayUnits?: number;
  /** Exit code (0 = success; non-zero → `Running app failed: exit status N` and status error). */
  exitCode?: number;
  /** Pause for confirmation after this many lines (Terraform-style plan → apply). */
  confirmAfter?: number;
}

export type BuiltinScenario =
  | "deploy-web"
  | "run-migrations"
  | "full-backup"
  | "terraform-apply"
  | "rotate-certs"
  | "bash-reindex"
  | "bash-prune"
  | "ansible-generic"
  | "terraform-generic"
  | "shell-generic";

export type ScenarioRef = BuiltinScenario | ScriptSpec;
