// Project resources (§4.3, §4.7): keys, repositories, inventories, environments, views, templates, schedules, with
// Semaphore's status codes (204 with no body on create of keys/repositories/environments, 201 + body on
// inventories/templates/views/schedules; missing item → 404) and validation messages.

import { parseCron } from "../cron.js";
import { empty, json, jsonError, type Ctx, type Reply } from "../context.js";
import {
  tryDecode,
  ENVIRONMENT_SCHEMA,
  INVENTORY_SCHEMA,
  KEY_SCHEMA,
  REPOSITORY_SCHEMA,
  SCHEDULE_SCHEMA,
  TEMPLATE_SCHEMA,
  VIEW_SCHEMA,
  CRON_SCHEMA,
  ACTIVE_SCHEMA,
  str,
  strOrNull,
  int,
  intOrNull,
  bool,
  has,
} from "../decode.js";
import type { Router } from "../router.js";
import { defaultScenario } from "../scenarios.js";
import type { Store } from "../store.js";
import {
  INVENTORY_TYPES,
  PERM,
  type App,
  type EnvironmentRow,
  type InventoryRow,
  type InventoryType,
  type KeyRow,
  type KeyType,
  type RepositoryRow,
  type ScheduleRow,
  type SurveyVar,
  type TemplateRow,
  type TemplateTaskParams,
  type ViewRow,
} from "../types.js";

const M = PERM.manage;
const KEY_TYPES: KeyType[] = ["none", "ssh", "login_password", "string"];

function bodyProjectMismatch(b: Record<string, unknown>, ctx: Ctx): boolean {
  return has(b, "project_id") && b["project_id"] !== null && b["project_id"] !== ctx.project!.id;
}

function idMismatch(b: Record<string, unknown>, id: number): boolean {
  return has(b, "id") && b["id"] !== null && b["id"] !== id;
}

type Ref = { id: number; name: string };
function refs(templates: Ref[], inventories: Ref[] = [], repositories: Ref[] = []): Reply {
  return json(200, { templates, inventories, repositories, integrations: [] });
}
const ref = (r: { id: number; name: string }): Ref => ({ id: r.id, name: r.name });

function inUse(reply: Reply): boolean {
  const b = reply.body as { templates: Ref[]; inventories: Ref[]; repositories: Ref[] };
  return b.templates.length + b.inventories.length + b.repositories.length > 0;
}

// ---- keys -----------------------------------------------------------------------------------------------------------

function keyFromBody(b: Record<string, unknown>, row: KeyRow): string | null {
  const name = str(b, "name");
  if (!name) return "Name can not be empty";
  const type = str(b, "type") as KeyType;
  if (!KEY_TYPES.includes(type)) return "Invalid access key type";
  row.name = name;
  row.type = type;
  row.override_secret = bool(b, "override_secret");
  const lp = (b["login_password"] ?? {}) as Record<string, unknown>;
  const ssh = (b["ssh"] ?? {}) as Record<string, unknown>;
  row._secret = {
    string: str(b, "string"),
    login: str(lp, "login") || str(ssh, "login"),
    password: str(lp, "password"),
    passphrase: str(ssh, "passphrase"),
    private_key: str(ssh, "private_key"),
  };
  return null;
}

function keyRefs(store: Store, k: KeyRow): Reply {
  const inv = store.listInProject(store.inventories, k.project_id).filter((i) => i.ssh_key_id === k.id || i.become_key_id === k.id);
  const repos = store.listInProject(store.repositories, k.project_id).filter((r) => r.ssh_key_id === k.id);
  const tpls = store.listInProject(store.templates, k.project_id).filter((t) => t.vaults.some((v) => v.vault_key_id === k.id));
  return refs(tpls.map(ref), inv.map(ref), repos.map(ref));
}

// ---- templates ----------------------------------------------------------------------------------------------------

function surveyVars(v: unknown): SurveyVar[] | null {
  if (!Array.isArray(v)) return null;
  return v.map((s: Record<string, unknown>) => ({
    name: str(s, "name"),
    title: str(s, "title"),
    required: bool(s, "required"),
    type: str(s, "type") as SurveyVar["type"],
    description: str(s, "description"),
    values: Array.isArray(s["values"]) ? (s["values"] as Record<string, unknown>[]).map((x) => ({ name: str(x, "name"), value: str(x, "value") })) : null,
  }));
}

/** Fill a template from a decoded body and validate it like Template.Validate(). Returns an error message or null. */
function templateFromBody(b: Record<string, unknown>, t: TemplateRow): string | null {
  const app = (str(b, "app") || "ansible") as App;
  t.app = app; // Semaphore does not validate the app name
  t.inventory_id = intOrNull(b, "inventory_id");
  t.repository_id = int(b, "repository_id");
  t.environment_id = intOrNull(b, "environment_id");
  t.name = str(b, "name");
  t.playbook = str(b, "playbook");
  t.arguments = strOrNull(b, "arguments");
  t.allow_override_args_in_task = bool(b, "allow_override_args_in_task");
  t.description = strOrNull(b, "description");
  t.vaults = Array.isArray(b["vaults"])
    ? (b["vaults"] as Record<string, unknown>[]).map((v, i) => ({ id: int(v, "id", i + 1), vault_key_id: int(v, "vault_key_id"), name: strOrNull(v, "name") }))
    : [];
  t.type = str(b, "type") as TemplateRow["type"];
  t.start_version = strOrNull(b, "start_version");
  t.build_template_id = intOrNull(b, "build_template_id");
  t.view_id = intOrNull(b, "view_id");
  t.autorun = bool(b, "autorun");
  t.git_branch = strOrNull(b, "git_branch");
  t.survey_vars = surveyVars(b["survey_vars"]);
  t.suppress_success_alerts = bool(b, "suppress_success_alerts");
  if (b["task_params"] && typeof b["task_params"] === "object") t.task_params = { ...(b["task_params"] as TemplateTaskParams) };
  if (t.app === "ansible" && t.inventory_id === null) return "template inventory can not be empty";
  if (t.name === "") return "template name can not be empty";
  if (t.app !== "terraform" && t.app !== "tofu" && t.playbook === "") return "template playbook can not be empty";
  if (t.arguments !== null) {
    try {
      JSON.parse(t.arguments);
    } catch {
      return "template arguments must be valid JSON";
    }
  }
  return null;
}

export function blankTemplate(id: number, projectId: number): TemplateRow {
  return {
    id,
    project_id: projectId,
    inventory_id: null,
    repository_id: 0,
    environment_id: null,
    name: "",
    playbook: "",
    arguments: null,
    allow_override_args_in_task: false,
    description: null,
    vaults: [],
    type: "",
    start_version: null,
    build_template_id: null,
    view_id: null,
    autorun: false,
    git_branch: null,
    survey_vars: null,
    suppress_success_alerts: false,
    app: "ansible",
    task_params: {},
    _scenario: "ansible-generic",
  };
}

/** Live lists keys, repositories, inventories and environments by id (§11 item 3). */
const byId = (a: { id: number }, b: { id: number }): number => a.id - b.id;

const SORTS = ["name", "playbook", "ssh_key", "inventory", "environment", "repository"];

function sortTemplates(store: Store, list: TemplateRow[], sort: string | null, order: string | null): TemplateRow[] {
  // no (or an unknown) sort: by id, like live (§11 item 3)
  if (!sort || !SORTS.includes(sort)) return order === "desc" ? [...list].sort((a, b) => b.id - a.id) : [...list].sort((a, b) => a.id - b.id);
  const by = sort;
  const key = (t: TemplateRow): string => {
    switch (by) {
      case "playbook":
        return t.playbook;
      case "inventory":
        return (t.inventory_id !== null && store.inventories.get(t.inventory_id)?.name) || "";
      case "environment":
        return (t.environment_id !== null && store.environments.get(t.environment_id)?.name) || "";
      case "repository":
        return store.repositories.get(t.repository_id)?.name ?? "";
      case "ssh_key": {
        const repo = store.repositories.get(t.repository_id);
        return (repo && store.keys.get(repo.ssh_key_id)?.name) || "";
      }
      default:
        return t.name;
    }
  };
  const sorted = [...list].sort((a, b) => key(a).localeCompare(key(b)) || a.id - b.id);
  return order === "desc" ? sorted.reverse() : sorted;
}

// ---- schedules ------------------------------------------------------------------------------------------------------

function cronError(expr: string): string | null {
  const r = parseCron(expr);
  return r.ok ? null : `Cron: ${r.error}`;
}

export function registerResources(r: Router): void {
  const P = "/api/project/{project_id}";

  // keys
  r.add(
    {
      method: "GET",
      path: `${P}/keys`,
      handler: (ctx) =>
        json(
          200,
          ctx.core.store
            .listInProject(ctx.core.store.keys, ctx.project!.id)
            .sort(byId)
            .map((k) => ctx.core.shapes.key(k)),
        ),
    },
    {
      method: "POST",
      path: `${P}/keys`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, KEY_SCHEMA);
        if (!b) return empty(400);
        if (bodyProjectMismatch(b, ctx)) return jsonError(400, "Project ID in body and URL must be the same");
        const row: KeyRow = {
          id: 0,
          name: "",
          type: "none",
          project_id: ctx.project!.id,
          override_secret: false,
          _secret: { string: "", login: "", password: "", passphrase: "", private_key: "" },
        };
        const err = keyFromBody(b, row);
        if (err) return jsonError(400, err);
        row.id = ctx.core.store.nextId("key");
        ctx.core.store.keys.set(row.id, row);
        return empty(204);
      },
    },
    { method: "GET", path: `${P}/keys/{key_id}`, handler: (ctx) => json(200, ctx.core.shapes.key(ctx.key!)) },
    { method: "GET", path: `${P}/keys/{key_id}/refs`, handler: (ctx) => keyRefs(ctx.core.store, ctx.key!) },
    {
      method: "PUT",
      path: `${P}/keys/{key_id}`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, KEY_SCHEMA);
        if (!b) return empty(400);
        if (idMismatch(b, ctx.key!.id)) return jsonError(400, "Access Key ID in body and URL must be the same");
        const copy = { ...ctx.key! };
        const err = keyFromBody(b, copy);
        if (err) return jsonError(400, err);
        Object.assign(ctx.key!, copy);
        return empty(204);
      },
    },
    {
      method: "DELETE",
      path: `${P}/keys/{key_id}`,
      perm: M,
      handler: (ctx) => {
        if (inUse(keyRefs(ctx.core.store, ctx.key!))) return empty(409);
        ctx.core.store.keys.delete(ctx.key!.id);
        return empty(204);
      },
    },
  );

  // repositories
  const repoFromBody = (b: Record<string, unknown>, row: RepositoryRow): string | null => {
    if (!str(b, "name")) return "Repository name can't be empty";
    if (!str(b, "git_url")) return "Repository url can't be empty";
    row.name = str(b, "name");
    row.git_url = str(b, "git_url");
    row.git_branch = str(b, "git_branch");
    row.ssh_key_id = int(b, "ssh_key_id");
    return null;
  };
  const repoRefs = (store: Store, repo: RepositoryRow): Reply =>
    refs(
      store
        .listInProject(store.templates, repo.project_id)
        .filter((t) => t.repository_id === repo.id)
        .map(ref),
      store
        .listInProject(store.inventories, repo.project_id)
        .filter((i) => i.repository_id === repo.id)
        .map(ref),
    );
  r.add(
    {
      method: "GET",
      path: `${P}/repositories`,
      handler: (ctx) =>
        json(
          200,
          ctx.core.store
            .listInProject(ctx.core.store.repositories, ctx.project!.id)
            .sort(byId)
            .map((x) => ctx.core.shapes.repository(x)),
        ),
    },
    {
      method: "POST",
      path: `${P}/repositories`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, REPOSITORY_SCHEMA);
        if (!b) return empty(400);
        if (bodyProjectMismatch(b, ctx)) return jsonError(400, "Project ID in body and URL must be the same");
        const row: RepositoryRow = { id: 0, name: "", project_id: ctx.project!.id, git_url: "", git_branch: "", ssh_key_id: 0 };
        const err = repoFromBody(b, row);
        if (err) return jsonError(400, err);
        row.id = ctx.core.store.nextId("repository");
        ctx.core.store.repositories.set(row.id, row);
        return empty(204);
      },
    },
    { method: "GET", path: `${P}/repositories/{repository_id}`, handler: (ctx) => json(200, ctx.core.shapes.repository(ctx.repository!)) },
    { method: "GET", path: `${P}/repositories/{repository_id}/refs`, handler: (ctx) => repoRefs(ctx.core.store, ctx.repository!) },
    {
      method: "PUT",
      path: `${P}/repositories/{repository_id}`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, REPOSITORY_SCHEMA);
        if (!b) return empty(400);
        if (idMismatch(b, ctx.repository!.id)) return jsonError(400, "Repository ID in body and URL must be the same");
        const copy = { ...ctx.repository! };
        const err = repoFromBody(b, copy);
        if (err) return jsonError(400, err);
        Object.assign(ctx.repository!, copy);
        return empty(204);
      },
    },
    {
      method: "DELETE",
      path: `${P}/repositories/{repository_id}`,
      perm: M,
      handler: (ctx) => {
        if (inUse(repoRefs(ctx.core.store, ctx.repository!))) return empty(409);
        ctx.core.store.repositories.delete(ctx.repository!.id);
        return empty(204);
      },
    },
  );

  // inventories
  const invFromBody = (b: Record<string, unknown>, row: InventoryRow): Reply | null => {
    const type = (str(b, "type") || "static") as InventoryType;
    if (!INVENTORY_TYPES.includes(type)) return empty(400);
    if (!str(b, "name")) return jsonError(400, "Inventory name can not be empty");
    row.name = str(b, "name");
    row.inventory = str(b, "inventory");
    row.ssh_key_id = intOrNull(b, "ssh_key_id");
    row.become_key_id = intOrNull(b, "become_key_id");
    row.type = type;
    row.holder_id = intOrNull(b, "holder_id");
    row.repository_id = intOrNull(b, "repository_id");
    return null;
  };
  const invRefs = (store: Store, inv: InventoryRow): Reply =>
    refs(
      store
        .listInProject(store.templates, inv.project_id)
        .filter((t) => t.inventory_id === inv.id)
        .map(ref),
    );
  r.add(
    {
      method: "GET",
      path: `${P}/inventory`,
      handler: (ctx) =>
        json(
          200,
          ctx.core.store
            .listInProject(ctx.core.store.inventories, ctx.project!.id)
            .sort(byId)
            .map((x) => ctx.core.shapes.inventory(x)),
        ),
    },
    {
      method: "POST",
      path: `${P}/inventory`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, INVENTORY_SCHEMA);
        if (!b) return empty(400);
        if (bodyProjectMismatch(b, ctx)) return jsonError(400, "Project ID in body and URL must be the same");
        const row: InventoryRow = {
          id: 0,
          name: "",
          project_id: ctx.project!.id,
          inventory: "",
          ssh_key_id: null,
          become_key_id: null,
          type: "static",
          holder_id: null,
          repository_id: null,
        };
        const err = invFromBody(b, row);
        if (err) return err;
        row.id = ctx.core.store.nextId("inventory");
        ctx.core.store.inventories.set(row.id, row);
        return json(201, ctx.core.shapes.inventory(row));
      },
    },
    { method: "GET", path: `${P}/inventory/{inventory_id}`, handler: (ctx) => json(200, ctx.core.shapes.inventory(ctx.inventory!)) },
    { method: "GET", path: `${P}/inventory/{inventory_id}/refs`, handler: (ctx) => invRefs(ctx.core.store, ctx.inventory!) },
    {
      method: "PUT",
      path: `${P}/inventory/{inventory_id}`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, INVENTORY_SCHEMA);
        if (!b) return empty(400);
        if (idMismatch(b, ctx.inventory!.id)) return jsonError(400, "Inventory ID in body and URL must be the same");
        const copy = { ...ctx.inventory! };
        const err = invFromBody(b, copy);
        if (err) return err;
        Object.assign(ctx.inventory!, copy);
        return empty(204);
      },
    },
    {
      method: "DELETE",
      path: `${P}/inventory/{inventory_id}`,
      perm: M,
      handler: (ctx) => {
        if (inUse(invRefs(ctx.core.store, ctx.inventory!))) return empty(409);
        ctx.core.store.inventories.delete(ctx.inventory!.id);
        return empty(204);
      },
    },
  );

  // environments
  const envFromBody = (store: Store, b: Record<string, unknown>, row: EnvironmentRow): string | null => {
    if (!str(b, "name")) return "Environment name can not be empty";
    const extra = str(b, "json") || "{}";
    try {
      JSON.parse(extra);
    } catch {
      return "Extra variables must be valid JSON";
    }
    const env = strOrNull(b, "env");
    if (env) {
      try {
        JSON.parse(env);
      } catch {
        return "Environment variables must be valid JSON";
      }
    }
    row.name = str(b, "name");
    row.json = extra;
    row.env = env;
    row.password = strOrNull(b, "password");
    if (Array.isArray(b["secrets"])) {
      let list = row.secrets ? [...row.secrets] : [];
      for (const s of b["secrets"] as Record<string, unknown>[]) {
        const op = str(s, "operation");
        const sid = intOrNull(s, "id");
        if (op === "delete") list = list.filter((x) => x.id !== sid);
        else if (op === "update") {
          const x = list.find((y) => y.id === sid);
          if (x) {
            x.name = str(s, "name") || x.name;
            x._value = str(s, "secret");
          }
        } else {
          list.push({ id: store.nextId("environment_secret"), type: str(s, "type") === "env" ? "env" : "var", name: str(s, "name"), _value: str(s, "secret") });
        }
      }
      row.secrets = list.length ? list : null;
    }
    return null;
  };
  const envRefs = (store: Store, env: EnvironmentRow): Reply =>
    refs(
      store
        .listInProject(store.templates, env.project_id)
        .filter((t) => t.environment_id === env.id)
        .map(ref),
    );
  r.add(
    {
      method: "GET",
      path: `${P}/environment`,
      handler: (ctx) =>
        json(
          200,
          ctx.core.store
            .listInProject(ctx.core.store.environments, ctx.project!.id)
            .sort(byId)
            .map((x) => ctx.core.shapes.environment(x)),
        ),
    },
    {
      method: "POST",
      path: `${P}/environment`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, ENVIRONMENT_SCHEMA);
        if (!b) return empty(400);
        if (bodyProjectMismatch(b, ctx)) return jsonError(400, "Project ID in body and URL must be the same");
        const row: EnvironmentRow = { id: 0, name: "", project_id: ctx.project!.id, password: null, json: "{}", env: null, secrets: null };
        const err = envFromBody(ctx.core.store, b, row);
        if (err) return jsonError(400, err);
        row.id = ctx.core.store.nextId("environment");
        ctx.core.store.environments.set(row.id, row);
        return empty(204);
      },
    },
    { method: "GET", path: `${P}/environment/{environment_id}`, handler: (ctx) => json(200, ctx.core.shapes.environment(ctx.environment!)) },
    { method: "GET", path: `${P}/environment/{environment_id}/refs`, handler: (ctx) => envRefs(ctx.core.store, ctx.environment!) },
    {
      method: "PUT",
      path: `${P}/environment/{environment_id}`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, ENVIRONMENT_SCHEMA);
        if (!b) return empty(400);
        if (idMismatch(b, ctx.environment!.id)) return jsonError(400, "Environment ID in body and URL must be the same");
        const copy = { ...ctx.environment! };
        const err = envFromBody(ctx.core.store, b, copy);
        if (err) return jsonError(400, err);
        Object.assign(ctx.environment!, copy);
        return empty(204);
      },
    },
    {
      method: "DELETE",
      path: `${P}/environment/{environment_id}`,
      perm: M,
      handler: (ctx) => {
        if (inUse(envRefs(ctx.core.store, ctx.environment!))) return empty(409);
        ctx.core.store.environments.delete(ctx.environment!.id);
        return empty(204);
      },
    },
  );

  // views
  const viewFromBody = (b: Record<string, unknown>, row: ViewRow): string | null => {
    if (!str(b, "title")) return "Title can not be empty";
    row.title = str(b, "title");
    row.position = int(b, "position");
    return null;
  };
  r.add(
    {
      method: "GET",
      path: `${P}/views`,
      handler: (ctx) =>
        json(
          200,
          ctx.core.store
            .listInProject(ctx.core.store.views, ctx.project!.id)
            .sort((a, b) => a.position - b.position || a.id - b.id)
            .map((v) => ctx.core.shapes.view(v)),
        ),
    },
    {
      method: "POST",
      path: `${P}/views`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, VIEW_SCHEMA);
        if (!b) return empty(400);
        const row: ViewRow = { id: 0, project_id: ctx.project!.id, title: "", position: 0 };
        const err = viewFromBody(b, row);
        if (err) return jsonError(400, err);
        row.id = ctx.core.store.nextId("view");
        ctx.core.store.views.set(row.id, row);
        return json(201, ctx.core.shapes.view(row));
      },
    },
    { method: "GET", path: `${P}/views/{view_id}`, handler: (ctx) => json(200, ctx.core.shapes.view(ctx.view!)) },
    {
      method: "GET",
      path: `${P}/views/{view_id}/templates`,
      handler: (ctx) => {
        const { store, shapes } = ctx.core;
        const list = store.listInProject(store.templates, ctx.project!.id).filter((t) => t.view_id === ctx.view!.id);
        return json(
          200,
          sortTemplates(store, list, null, null).map((t) => shapes.template(t, true)),
        );
      },
    },
    {
      method: "PUT",
      path: `${P}/views/{view_id}`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, VIEW_SCHEMA);
        if (!b) return empty(400);
        if (idMismatch(b, ctx.view!.id)) return jsonError(400, "View ID in body and URL must be the same");
        const copy = { ...ctx.view! };
        const err = viewFromBody(b, copy);
        if (err) return jsonError(400, err);
        Object.assign(ctx.view!, copy);
        return empty(204);
      },
    },
    {
      method: "DELETE",
      path: `${P}/views/{view_id}`,
      perm: M,
      handler: (ctx) => {
        const { store } = ctx.core;
        for (const t of store.listInProject(store.templates, ctx.project!.id)) if (t.view_id === ctx.view!.id) t.view_id = null;
        store.views.delete(ctx.view!.id);
        return empty(204);
      },
    },
  );

  // templates
  const tplRefs = (store: Store, t: TemplateRow): Reply =>
    refs(
      store
        .listInProject(store.templates, t.project_id)
        .filter((x) => x.build_template_id === t.id)
        .map(ref),
    );
  r.add(
    {
      method: "GET",
      path: `${P}/templates`,
      handler: (ctx) => {
        const { store, shapes } = ctx.core;
        const list = sortTemplates(store, store.listInProject(store.templates, ctx.project!.id), ctx.query.get("sort"), ctx.query.get("order"));
        return json(
          200,
          list.map((t) => shapes.template(t, true)),
        );
      },
    },
    {
      method: "POST",
      path: `${P}/templates`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, TEMPLATE_SCHEMA);
        if (!b) return empty(400);
        const row = blankTemplate(0, ctx.project!.id);
        const err = templateFromBody(b, row);
        if (err) return jsonError(400, err);
        row._scenario = defaultScenario(row.app);
        row.id = ctx.core.store.nextId("template");
        ctx.core.store.templates.set(row.id, row);
        ctx.core.store.addEvent({
          user_id: ctx.user.id,
          project_id: row.project_id,
          object_id: row.id,
          object_type: "template",
          description: `Template ID ${row.id} created`,
          object_name: row.name,
        });
        return json(201, ctx.core.shapes.template(row, false));
      },
    },
    { method: "GET", path: `${P}/templates/{template_id}`, handler: (ctx) => json(200, ctx.core.shapes.template(ctx.template!, false)) },
    { method: "GET", path: `${P}/templates/{template_id}/refs`, handler: (ctx) => tplRefs(ctx.core.store, ctx.template!) },
    {
      method: "PUT",
      path: `${P}/templates/{template_id}`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, TEMPLATE_SCHEMA);
        if (!b) return empty(400);
        if (idMismatch(b, ctx.template!.id)) return jsonError(400, "Template ID in body and URL must be the same");
        const copy: TemplateRow = { ...ctx.template!, task_params: { ...ctx.template!.task_params } };
        const err = templateFromBody(b, copy);
        if (err) return jsonError(400, err);
        if (copy.app !== ctx.template!.app) copy._scenario = defaultScenario(copy.app);
        Object.assign(ctx.template!, copy);
        return empty(204);
      },
    },
    {
      method: "DELETE",
      path: `${P}/templates/{template_id}`,
      perm: M,
      handler: (ctx) => {
        const { store, pool } = ctx.core;
        const tasks = store.tasksOf(ctx.project!.id, ctx.template!.id);
        if (tasks.some((t) => pool.isActive(t.id))) return empty(400);
        for (const t of tasks) store.deleteTask(t.id);
        for (const s of store.listInProject(store.schedules, ctx.project!.id)) if (s.template_id === ctx.template!.id) store.schedules.delete(s.id);
        store.templates.delete(ctx.template!.id);
        ctx.core.scheduler.refresh();
        return empty(204);
      },
    },
    {
      method: "GET",
      path: `${P}/templates/{template_id}/schedules`,
      handler: (ctx) => {
        const { store, shapes } = ctx.core;
        return json(
          200,
          store
            .listInProject(store.schedules, ctx.project!.id)
            .filter((s) => s.template_id === ctx.template!.id)
            .map((s) => shapes.schedule(s)),
        );
      },
    },
  );

  // integrations (§4.6): none are seeded and creating them is not emulated; the lists exist so clients can read them
  r.add(
    { method: "GET", path: `${P}/integrations`, handler: () => json(200, []) },
    { method: "GET", path: `${P}/integrations/aliases`, handler: () => json(200, []) },
  );
  for (const method of ["GET", "POST"] as const) {
    // trigger of an unknown alias → 200, empty body (observed)
    r.add({ method, path: "/api/integrations/{alias}", auth: "none", handler: () => empty(200) });
  }

  // schedules
  const schedFromBody = (ctx: Ctx, b: Record<string, unknown>, row: ScheduleRow): Reply | null => {
    const cron = str(b, "cron_format");
    const err = cronError(cron);
    if (err) return jsonError(400, err);
    const tpl = ctx.core.store.inProject(ctx.core.store.templates, ctx.project!.id, int(b, "template_id"));
    if (!tpl) return empty(400);
    row.template_id = tpl.id;
    row.cron_format = cron;
    row.name = str(b, "name");
    row.active = has(b, "active") ? bool(b, "active") : true;
    row.repository_id = intOrNull(b, "repository_id");
    return null;
  };
  r.add(
    {
      method: "GET",
      path: `${P}/schedules`,
      handler: (ctx) =>
        json(
          200,
          ctx.core.store.listInProject(ctx.core.store.schedules, ctx.project!.id).map((s) => ctx.core.shapes.schedule(s, true)),
        ),
    },
    {
      method: "POST",
      path: `${P}/schedules`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, SCHEDULE_SCHEMA);
        if (!b) return empty(400);
        if (bodyProjectMismatch(b, ctx)) return jsonError(400, "Project ID in body and URL must be the same");
        const row: ScheduleRow = { id: 0, project_id: ctx.project!.id, template_id: 0, cron_format: "", name: "", active: true, repository_id: null };
        const err = schedFromBody(ctx, b, row);
        if (err) return err;
        row.id = ctx.core.store.nextId("schedule");
        ctx.core.store.schedules.set(row.id, row);
        ctx.core.scheduler.refresh();
        return json(201, ctx.core.shapes.schedule(row));
      },
    },
    {
      method: "POST",
      path: `${P}/schedules/validate`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, CRON_SCHEMA);
        if (!b) return empty(400);
        const err = cronError(str(b, "cron_format"));
        return err ? jsonError(400, err) : empty(200);
      },
    },
    { method: "GET", path: `${P}/schedules/{schedule_id}`, handler: (ctx) => json(200, ctx.core.shapes.schedule(ctx.schedule!)) },
    {
      method: "PUT",
      path: `${P}/schedules/{schedule_id}`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, SCHEDULE_SCHEMA);
        if (!b) return empty(400);
        if (idMismatch(b, ctx.schedule!.id)) return jsonError(400, "Schedule ID in body and URL must be the same");
        const copy = { ...ctx.schedule! };
        const err = schedFromBody(ctx, b, copy);
        if (err) return err;
        Object.assign(ctx.schedule!, copy);
        ctx.core.scheduler.refresh();
        return empty(204);
      },
    },
    {
      method: "PUT",
      path: `${P}/schedules/{schedule_id}/active`,
      perm: M,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, ACTIVE_SCHEMA);
        if (!b) return empty(400);
        ctx.schedule!.active = bool(b, "active");
        ctx.core.scheduler.refresh();
        return empty(204);
      },
    },
    {
      method: "DELETE",
      path: `${P}/schedules/{schedule_id}`,
      perm: M,
      handler: (ctx) => {
        ctx.core.store.schedules.delete(ctx.schedule!.id);
        ctx.core.scheduler.refresh();
        return empty(204);
      },
    },
  );
}
