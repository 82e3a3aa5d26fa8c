// JSON shapes of §5: pick and order the keys of each model exactly as Semaphore v2.10 writes them (Go struct order),
// plus the later-release variants (§10) for the "modern" flavor. Also the Go-compatible JSON encoder.

import type { Store } from "./store.js";
import type {
  ApiFlavor,
  EnvironmentRow,
  EventRow,
  InventoryRow,
  KeyRow,
  ProjectRow,
  RepositoryRow,
  ScheduleRow,
  TaskOutputRow,
  TaskRow,
  TemplateRow,
  TokenRow,
  UserRow,
  ViewRow,
} from "./types.js";

/** Go's json.Marshal escapes <, >, & and U+2028/9 inside strings. JSON.stringify output only has them inside strings. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

export class Shapes {
  constructor(
    private readonly store: Store,
    private readonly flavor: ApiFlavor,
  ) {}

  project(p: ProjectRow): Record<string, unknown> {
    return { id: p.id, name: p.name, created: p.created, alert: p.alert, alert_chat: p.alert_chat, max_parallel_tasks: p.max_parallel_tasks, type: p.type };
  }

  user(u: UserRow): Record<string, unknown> {
    return { id: u.id, created: u.created, username: u.username, name: u.name, email: u.email, admin: u.admin, external: u.external, alert: u.alert };
  }

  token(t: TokenRow): Record<string, unknown> {
    return { id: t.id, created: t.created, expired: t.expired, user_id: t.user_id };
  }

  key(k: KeyRow): Record<string, unknown> {
    return {
      id: k.id,
      name: k.name,
      type: k.type,
      project_id: k.project_id,
      string: "",
      login_password: { login: "", password: "" },
      ssh: { login: "", passphrase: "", private_key: "" },
      override_secret: k.override_secret,
    };
  }

  repository(r: RepositoryRow): Record<string, unknown> {
    return { id: r.id, name: r.name, project_id: r.project_id, git_url: r.git_url, git_branch: r.git_branch, ssh_key_id: r.ssh_key_id };
  }

  inventory(i: InventoryRow): Record<string, unknown> {
    return {
      id: i.id,
      name: i.name,
      project_id: i.project_id,
      inventory: i.inventory,
      ssh_key_id: i.ssh_key_id,
      become_key_id: i.become_key_id,
      type: i.type,
      holder_id: i.holder_id,
      repository_id: i.repository_id,
    };
  }

  environment(e: EnvironmentRow): Record<string, unknown> {
    return {
      id: e.id,
      name: e.name,
      project_id: e.project_id,
      password: e.password,
      json: e.json,
      env: e.env,
      secrets: e.secrets ? e.secrets.map((s) => ({ id: s.id, type: s.type, name: s.name, secret: "", operation: "" })) : null,
    };
  }

  view(v: ViewRow): Record<string, unknown> {
    return { id: v.id, project_id: v.project_id, title: v.title, position: v.position };
  }

  schedule(s: ScheduleRow, withTplName = false): Record<string, unknown> {
    const o: Record<string, unknown> = {
      id: s.id,
      project_id: s.project_id,
      template_id: s.template_id,
      cron_format: s.cron_format,
      name: s.name,
      active: s.active,
      repository_id: s.repository_id,
    };
    if (withTplName) o.tpl_name = this.store.templates.get(s.template_id)?.name ?? "";
    return o;
  }

  /** Plain Task (§5). `secretEcho` is what the create response shows in `secret` ("{}"). */
  task(t: TaskRow, secretEcho?: string): Record<string, unknown> {
    const secret = secretEcho ?? t.secret;
    if (this.flavor === "modern") {
      const o: Record<string, unknown> = { id: t.id, template_id: t.template_id, project_id: t.project_id, status: t.status, playbook: t.playbook };
      const put = (k: string, v: unknown): void => {
        if (v !== null && v !== undefined && v !== "") o[k] = v;
      };
      put("environment", t.environment);
      o.limit = t.limit;
      put("secret", secret);
      put("arguments", t.arguments);
      put("git_branch", t.git_branch);
      put("user_id", t.user_id);
      put("integration_id", t.integration_id);
      put("schedule_id", t.schedule_id);
      o.created = t.created;
      put("start", t.start);
      put("end", t.end);
      put("message", t.message);
      put("commit_hash", t.commit_hash);
      put("commit_message", t.commit_message);
      o.build_task_id = t.build_task_id;
      put("version", t.version);
      put("inventory_id", t.inventory_id);
      if (Object.keys(t.params).length > 0) o.params = { ...t.params };
      return o;
    }
    return {
      id: t.id,
      template_id: t.template_id,
      project_id: t.project_id,
      status: t.status,
      debug: t.debug,
      dry_run: t.dry_run,
      diff: t.diff,
      playbook: t.playbook,
      environment: t.environment,
      limit: t.limit,
      secret,
      arguments: t.arguments,
      git_branch: t.git_branch,
      user_id: t.user_id,
      integration_id: t.integration_id,
      schedule_id: t.schedule_id,
      created: t.created,
      start: t.start,
      end: t.end,
      message: t.message,
      commit_hash: t.commit_hash,
      commit_message: t.commit_message,
      build_task_id: t.build_task_id,
      version: t.version,
      inventory_id: t.inventory_id,
    };
  }

  /** TaskWithTpl: Task plus tpl_playbook, tpl_alias, tpl_type, tpl_app, user_name, build_task. */
  taskWithTpl(t: TaskRow): Record<string, unknown> {
    const tpl = this.store.templates.get(t.template_id);
    const user = t.user_id !== null ? this.store.users.get(t.user_id) : undefined;
    const build = t.build_task_id !== null ? this.store.tasks.get(t.build_task_id) : undefined;
    return {
      ...this.task(t),
      tpl_playbook: tpl?.playbook ?? "",
      tpl_alias: tpl?.name ?? "",
      tpl_type: tpl?.type ?? "",
      tpl_app: tpl?.app ?? "",
      user_name: user ? user.name : null,
      build_task: build ? this.task(build) : null,
    };
  }

  template(t: TemplateRow, inList: boolean): Record<string, unknown> {
    const last = this.store.lastTaskOf(t.id);
    const o: Record<string, unknown> = {
      id: t.id,
      project_id: t.project_id,
      inventory_id: t.inventory_id,
      repository_id: t.repository_id,
      environment_id: t.environment_id,
      name: t.name,
      playbook: t.playbook,
      arguments: t.arguments,
      allow_override_args_in_task: t.allow_override_args_in_task,
      description: t.description,
      vaults: inList ? null : t.vaults.map((v) => ({ ...v })),
      type: t.type,
      start_version: t.start_version,
      // live's list leaves last_task.user_name null (the single GET fills it) (§11 item 7)
      build_template_id: t.build_template_id,
      view_id: t.view_id,
      last_task: last ? { ...this.taskWithTpl(last), ...(inList ? { user_name: null } : {}) } : null,
      autorun: t.autorun,
      git_branch: t.git_branch,
      survey_vars: t.survey_vars ? t.survey_vars.map((s) => ({ ...s, values: s.values ? s.values.map((v) => ({ ...v })) : null })) : null,
      suppress_success_alerts: t.suppress_success_alerts,
      app: t.app,
      tasks: 0 /* live: always 0 (§11 item 6) */,
    };
    if (this.flavor === "modern") o.task_params = { ...t.task_params };
    return o;
  }

  output(o: TaskOutputRow): Record<string, unknown> {
    if (this.flavor === "modern") return { id: o.id, task_id: o.task_id, time: o.time, output: o.output };
    return { task_id: o.task_id, task: o.task, time: o.time, output: o.output };
  }

  event(e: EventRow): Record<string, unknown> {
    const user = e.user_id !== null ? this.store.users.get(e.user_id) : undefined;
    const project = e.project_id !== null ? this.store.projects.get(e.project_id) : undefined;
    return {
      user_id: e.user_id,
      project_id: e.project_id,
      integration_id: e.integration_id,
      object_id: e.object_id,
      object_type: e.object_type,
      description: e.description,
      created: e.created,
      object_name: e.object_name,
      project_name: project ? project.name : null,
      username: user ? user.username : null,
    };
  }

  // ---- websocket frames: Go marshals a map, so keys come out sorted ----------------------------------------------

  logFrame(t: TaskRow, o: TaskOutputRow): string {
    return goJson({ output: o.output, project_id: t.project_id, task_id: t.id, time: o.time, type: "log" });
  }

  updateFrame(t: TaskRow): string {
    return goJson({
      end: t.end,
      project_id: t.project_id,
      start: t.start,
      status: t.status,
      task_id: t.id,
      template_id: t.template_id,
      type: "update",
      version: t.version,
    });
  }
}
