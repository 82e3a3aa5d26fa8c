// Project routes (§4.2): list/create projects, project item, caller's role, project users, project events.

import { empty, json, jsonError } from "../context.js";
import { tryDecode, PROJECT_SCHEMA, PROJECT_USER_SCHEMA, str, int, bool, strOrNull } from "../decode.js";
import { atoi, type Router } from "../router.js";
import type { Store } from "../store.js";
import { PERM, ROLES, ROLE_PERMISSIONS, type ProjectRow, type Role } from "../types.js";

/** POST /api/projects side effects: key "None", environment "Empty", creator is owner. */
export function createProjectWithDefaults(store: Store, p: Parameters<Store["addProject"]>[0], ownerId: number | null): ProjectRow {
  const project = store.addProject(p);
  const keyId = store.nextId("key");
  store.keys.set(keyId, {
    id: keyId,
    name: "None",
    type: "none",
    project_id: project.id,
    override_secret: false,
    _secret: { string: "", login: "", password: "", passphrase: "", private_key: "" },
  });
  const envId = store.nextId("environment");
  store.environments.set(envId, { id: envId, name: "Empty", project_id: project.id, password: null, json: "{}", env: null, secrets: null });
  if (ownerId !== null) store.setMember(project.id, ownerId, "owner");
  store.addEvent({
    user_id: ownerId,
    project_id: project.id,
    object_id: project.id,
    object_type: "project",
    description: "Project created",
    object_name: project.name,
  });
  return project;
}

export function registerProjects(r: Router): void {
  r.add(
    {
      method: "GET",
      path: "/api/projects",
      handler: (ctx) =>
        json(
          200,
          ctx.core.store.projectsFor(ctx.user).map((p) => ctx.core.shapes.project(p)),
        ),
    },
    {
      method: "POST",
      path: "/api/projects",
      auth: "admin",
      adminFailStatus: 401, // sic (§2.3)
      handler: (ctx) => {
        const b = tryDecode(ctx.body, PROJECT_SCHEMA);
        if (!b) return empty(400);
        const name = str(b, "name");
        if (!name) return jsonError(400, "Project name can not be empty");
        const p = createProjectWithDefaults(
          ctx.core.store,
          {
            name,
            alert: bool(b, "alert"),
            alert_chat: strOrNull(b, "alert_chat"),
            max_parallel_tasks: int(b, "max_parallel_tasks"),
          },
          ctx.user.id,
        );
        return json(201, ctx.core.shapes.project(p));
      },
    },
    { method: "GET", path: "/api/project/{project_id}", handler: (ctx) => json(200, ctx.core.shapes.project(ctx.project!)) },
    {
      method: "PUT",
      path: "/api/project/{project_id}",
      perm: PERM.updateProject,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, PROJECT_SCHEMA);
        if (!b) return empty(400);
        const p = ctx.project!;
        if (int(b, "id") !== p.id) return jsonError(400, "Project ID in body and URL must be the same");
        p.name = str(b, "name");
        p.alert = bool(b, "alert");
        p.alert_chat = strOrNull(b, "alert_chat");
        p.max_parallel_tasks = int(b, "max_parallel_tasks");
        p.type = str(b, "type");
        return empty(204);
      },
    },
    {
      method: "DELETE",
      path: "/api/project/{project_id}",
      perm: PERM.updateProject,
      handler: (ctx) => {
        ctx.core.pool.purgeProject(ctx.project!.id);
        ctx.core.store.deleteProject(ctx.project!.id);
        ctx.core.scheduler.refresh();
        return empty(204);
      },
    },
    {
      method: "GET",
      path: "/api/project/{project_id}/role",
      handler: (ctx) => {
        // admins bypass every project check; a non-member admin gets role "" with all permissions
        const role = ctx.role ?? "";
        const permissions = ctx.user.admin ? 15 : ctx.role ? ROLE_PERMISSIONS[ctx.role] : 0;
        return json(200, { role, permissions });
      },
    },
    {
      method: "GET",
      path: "/api/project/{project_id}/users",
      handler: (ctx) => {
        const { store } = ctx.core;
        const list = store.members
          .filter((m) => m.project_id === ctx.project!.id)
          .map((m) => ({ m, u: store.users.get(m.user_id) }))
          .filter((x) => x.u)
          .sort((a, b) => a.u!.name.localeCompare(b.u!.name))
          .map(({ m, u }) => ({ id: u!.id, username: u!.username, name: u!.name, role: m.role }));
        return json(200, list);
      },
    },
    {
      method: "POST",
      path: "/api/project/{project_id}/users",
      perm: PERM.manageUsers,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, PROJECT_USER_SCHEMA);
        if (!b) return empty(400);
        const role = str(b, "role") as Role;
        if (!ROLES.includes(role)) return empty(400);
        const user = ctx.core.store.users.get(int(b, "user_id"));
        if (!user) return empty(404);
        ctx.core.store.setMember(ctx.project!.id, user.id, role);
        return empty(204);
      },
    },
    {
      method: "PUT",
      path: "/api/project/{project_id}/users/{user_id}",
      perm: PERM.manageUsers,
      handler: (ctx) => {
        const uid = atoi(ctx.params["user_id"]);
        if (uid === null) return empty(400);
        if (!ctx.core.store.member(ctx.project!.id, uid)) return empty(404);
        const b = tryDecode(ctx.body, PROJECT_USER_SCHEMA);
        if (!b) return empty(400);
        const role = str(b, "role") as Role;
        if (!ROLES.includes(role)) return empty(400);
        ctx.core.store.setMember(ctx.project!.id, uid, role);
        return empty(204);
      },
    },
    {
      method: "DELETE",
      path: "/api/project/{project_id}/users/{user_id}",
      perm: PERM.manageUsers,
      handler: (ctx) => {
        const uid = atoi(ctx.params["user_id"]);
        if (uid === null) return empty(400);
        return ctx.core.store.removeMember(ctx.project!.id, uid) ? empty(204) : empty(404);
      },
    },
    {
      method: "GET",
      path: "/api/project/{project_id}/events",
      // live: only the newest item (/events/last gives many) (§11 item 4)
      handler: (ctx) =>
        json(
          200,
          projectEvents(ctx.core.store, ctx.project!.id, 1).map((e) => ctx.core.shapes.event(e)),
        ),
    },
    {
      method: "GET",
      path: "/api/project/{project_id}/events/last",
      handler: (ctx) =>
        json(
          200,
          projectEvents(ctx.core.store, ctx.project!.id, 200).map((e) => ctx.core.shapes.event(e)),
        ),
    },
  );
}

function projectEvents(store: Store, projectId: number, limit: number) {
  const list = store.events.filter((e) => e.project_id === projectId).sort((a, b) => b._seq - a._seq);
  return list.slice(0, limit);
}
