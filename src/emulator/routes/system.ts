// System routes (§4.1, §2): ping, info, user, API tokens, cookie login/logout, apps, admin-only routes, global
// events, users.

import { createSession, sessionOf, COOKIE_NAME } from "../auth.js";
import { empty, json, type Ctx } from "../context.js";
import { tryDecode, LOGIN_SCHEMA, USER_SCHEMA, str, bool } from "../decode.js";
import { atoi, type Router } from "../router.js";

const ANSIBLE_VERSION = [
  "ansible [core 2.16.3]",
  "  config file = None",
  "  configured module search path = ['/home/semaphore/.ansible/plugins/modules', '/usr/share/ansible/plugins/modules']",
  "  ansible python module location = /usr/lib/python3.12/site-packages/ansible",
  "  ansible collection location = /home/semaphore/.ansible/collections:/usr/share/ansible/collections",
  "  executable location = /usr/bin/ansible",
  "  python version = 3.12.3 (main, Apr 10 2024, 05:33:47) [GCC 13.2.0] (/usr/bin/python3)",
  "  jinja version = 3.1.3",
  "  libyaml = True",
  "",
].join("\n");

// Live v2.10.32: six apps, empty titles, path "" and args null (§11 item 13).
const APPS = [
  { id: "ansible", icon: "mdi-ansible", color: "black", dark_color: "white", active: true, priority: 500 },
  { id: "terraform", icon: "mdi-terraform", color: "#7b42bc", dark_color: "#7b42bc", active: true, priority: 90 },
  { id: "tofu", icon: "mdi-circle-outline", color: "black", dark_color: "white", active: true, priority: 80 },
  { id: "python", icon: "mdi-language-python", color: "blue", dark_color: "blue", active: true, priority: 70 },
  { id: "bash", icon: "mdi-bash", color: "black", dark_color: "white", active: true, priority: 60 },
  { id: "powershell", icon: "mdi-powershell", color: "blue", dark_color: "blue", active: true, priority: 40 },
].map((a) => ({ ...a, title: "", path: "", args: null }));

export function registerSystem(r: Router): void {
  r.add(
    { method: "GET", path: "/api/ping", auth: "none", handler: () => ({ status: 200, raw: "pong", contentType: "text/plain; charset=utf-8" }) },
    {
      method: "GET",
      path: "/api/info",
      handler: (ctx) => {
        // keys in alphabetical order, as live marshals them
        const info: Record<string, unknown> = { ansible: ANSIBLE_VERSION, use_remote_runner: false, version: ctx.core.version, web_host: "" };
        if (ctx.core.flavor === "modern") {
          info.auth_methods = { totp: { enabled: false, allow_recovery: false }, email: { enabled: false } };
          info.premium_features = { project_runners: false, terraform_backend: false, task_summary: false };
        }
        return json(200, Object.fromEntries(Object.entries(info).sort(([a], [b]) => a.localeCompare(b))));
      },
    },
    {
      method: "GET",
      path: "/api/user",
      handler: (ctx) => json(200, { ...ctx.core.shapes.user(ctx.user), can_create_project: ctx.user.admin }),
    },
    {
      method: "GET",
      path: "/api/user/tokens",
      handler: (ctx) =>
        json(
          200,
          [...ctx.core.store.tokens.values()].filter((t) => t.user_id === ctx.user.id).map((t) => ctx.core.shapes.token(t)),
        ),
    },
    {
      method: "POST",
      path: "/api/user/tokens",
      handler: (ctx) => json(201, ctx.core.shapes.token(ctx.core.store.addToken(ctx.user.id))),
    },
    {
      method: "DELETE",
      path: "/api/user/tokens/{token_id}",
      handler: (ctx) => {
        const t = ctx.core.store.tokens.get(ctx.params["token_id"]!);
        if (!t || t.user_id !== ctx.user.id) return empty(404);
        t.expired = true;
        return empty(204);
      },
    },
    {
      method: "GET",
      path: "/api/auth/login",
      auth: "none",
      handler: () => json(200, { oidc_providers: [], login_with_password: true }),
    },
    {
      method: "POST",
      path: "/api/auth/login",
      auth: "none",
      handler: (ctx) => {
        const b = tryDecode(ctx.body, LOGIN_SCHEMA);
        if (!b) return empty(400);
        const login = str(b, "auth").toLowerCase();
        const user = ctx.core.store.userByLogin(login);
        if (!login || !user || user._password !== str(b, "password")) return empty(401);
        const s = createSession(ctx.core.store, user.id);
        return empty(204, { "Set-Cookie": `${COOKIE_NAME}=${s.cookie}; Path=/` });
      },
    },
    {
      method: "POST",
      path: "/api/auth/logout",
      auth: "none",
      handler: (ctx) => {
        const s = sessionOf(ctx.core.store, ctx.headers);
        if (s) s.expired = true;
        return empty(204, { "Set-Cookie": `${COOKIE_NAME}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0` });
      },
    },
    { method: "GET", path: "/api/apps", handler: () => json(200, APPS) },
    {
      method: "GET",
      path: "/api/apps/{app_id}",
      auth: "admin",
      handler: (ctx) => {
        const app = APPS.find((a) => a.id === ctx.params["app_id"]);
        return app ? json(200, app) : empty(404);
      },
    },
    { method: "GET", path: "/api/options", auth: "admin", handler: () => json(200, {}) },
    { method: "POST", path: "/api/options", auth: "admin", handler: () => empty(204) },
    { method: "GET", path: "/api/runners", auth: "admin", handler: () => json(200, []) },
    {
      method: "GET",
      path: "/api/tasks",
      auth: "admin",
      handler: (ctx) => {
        const { store } = ctx.core;
        return json(
          200,
          ctx.core.pool.active().map(({ task, location }) => {
            const o: Record<string, unknown> = { task_id: task.id, project_id: task.project_id, status: task.status, location };
            const user = task.user_id !== null ? store.users.get(task.user_id) : undefined;
            if (user) o.username = user.username;
            const project = store.projects.get(task.project_id);
            if (project) o.project_name = project.name;
            return o;
          }),
        );
      },
    },
    {
      method: "DELETE",
      path: "/api/tasks/{task_id}",
      auth: "admin",
      handler: (ctx) => {
        const id = atoi(ctx.params["task_id"]);
        if (id === null) return empty(400);
        const task = ctx.core.store.tasks.get(id);
        // stops the task (non-force) when it is active; anything else is a no-op
        if (task && ctx.core.pool.isActive(task.id)) ctx.core.pool.stop(task, false);
        return empty(204);
      },
    },
    // live: /events gives only the newest item, /events/last the last 200 (§11 item 4)
    { method: "GET", path: "/api/events", handler: (ctx) => json(200, userEvents(ctx, 1)) },
    { method: "GET", path: "/api/events/last", handler: (ctx) => json(200, userEvents(ctx, 200)) },
    {
      method: "GET",
      path: "/api/users",
      handler: (ctx) =>
        json(
          200,
          [...ctx.core.store.users.values()].sort((a, b) => a.name.localeCompare(b.name)).map((u) => ctx.core.shapes.user(u)),
        ),
    },
    {
      method: "POST",
      path: "/api/users",
      auth: "admin",
      adminFailStatus: 401,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, USER_SCHEMA);
        if (!b) return empty(400);
        const username = str(b, "username");
        if (!username) return json(400, { error: "Username can not be empty" });
        if (ctx.core.store.userByLogin(username)) return json(400, { error: "User with this login already exists" });
        const u = ctx.core.store.addUser({
          username,
          name: str(b, "name", username),
          email: str(b, "email", `${username}@example.com`),
          admin: bool(b, "admin"),
          password: str(b, "password", ""),
        });
        return json(201, ctx.core.shapes.user(u));
      },
    },
    {
      method: "GET",
      path: "/api/ws",
      // a plain GET (no Upgrade header) reaching the websocket handler: live closes the connection (§11 item 15)
      handler: () => ({ status: 0, closeConnection: true }),
    },
  );
}

function userEvents(ctx: Ctx, limit: number): unknown[] {
  const { store, shapes } = ctx.core;
  const list = store.events
    .filter((e) => (e.project_id === null ? e.user_id === ctx.user.id : !!store.member(e.project_id, ctx.user.id) || ctx.user.admin))
    .sort((a, b) => b._seq - a._seq);
  return list.slice(0, limit).map((e) => shapes.event(e));
}
