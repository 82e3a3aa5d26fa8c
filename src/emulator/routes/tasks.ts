// Task routes (§4.4, §4.5): history lists (cap 1000, /last with the 1..200 limit rule), start (201 waiting; unknown
// template → 500; invalid environment JSON → 500 plus an `error` task row), item (plain Task), output, stop (JSON
// body required), confirm (400 unless active), reject (modern flavor), delete (admins only, not while active).

import { empty, json, type Ctx, type Reply } from "../context.js";
import { tryDecode, STOP_SCHEMA, TASK_SCHEMA, TASK_SCHEMA_MODERN, bool, int, intOrNull, str, strOrNull } from "../decode.js";
import type { TaskInput } from "../pool.js";
import type { Router } from "../router.js";
import { PERM, type TaskParams } from "../types.js";

const LIST_CAP = 1000;
const LAST_MAX = 200;

/** `limit` query rule of the /last routes: 1..200, anything else (absent, invalid, <1, >200) → 200. */
export function lastLimit(raw: string | null): number {
  if (raw === null || !/^[+-]?\d+$/.test(raw)) return LAST_MAX;
  const n = parseInt(raw, 10);
  return n <= 0 || n > LAST_MAX ? LAST_MAX : n;
}

function listTasks(ctx: Ctx, templateId: number | undefined, limit: number): Reply {
  const { store, shapes } = ctx.core;
  return json(
    200,
    store
      .tasksOf(ctx.project!.id, templateId)
      .slice(0, limit)
      .map((t) => shapes.taskWithTpl(t)),
  );
}

/** Decoded start body → pool input. */
function taskInputFromBody(b: Record<string, unknown>, projectId: number, userId: number | null): TaskInput {
  return {
    project_id: projectId,
    template_id: int(b, "template_id"),
    user_id: userId,
    debug: bool(b, "debug"),
    dry_run: bool(b, "dry_run"),
    diff: bool(b, "diff"),
    playbook: str(b, "playbook"),
    environment: str(b, "environment"),
    limit: str(b, "limit"),
    secret: str(b, "secret"),
    arguments: strOrNull(b, "arguments"),
    git_branch: strOrNull(b, "git_branch"),
    message: str(b, "message"),
    inventory_id: intOrNull(b, "inventory_id"),
    build_task_id: intOrNull(b, "build_task_id"),
    version: strOrNull(b, "version"),
    params: b["params"] && typeof b["params"] === "object" ? stripNulls(b["params"] as Record<string, unknown>) : null,
  };
}

function stripNulls(o: Record<string, unknown>): TaskParams {
  const out: TaskParams = {};
  for (const [k, v] of Object.entries(o)) if (v !== null) out[k] = v;
  return out;
}

export function registerTasks(r: Router): void {
  const P = "/api/project/{project_id}";
  r.add(
    { method: "GET", path: `${P}/tasks`, handler: (ctx) => listTasks(ctx, undefined, LIST_CAP) },
    { method: "GET", path: `${P}/tasks/last`, handler: (ctx) => listTasks(ctx, undefined, lastLimit(ctx.query.get("limit"))) },
    { method: "GET", path: `${P}/templates/{template_id}/tasks`, handler: (ctx) => listTasks(ctx, ctx.template!.id, LIST_CAP) },
    { method: "GET", path: `${P}/templates/{template_id}/tasks/last`, handler: (ctx) => listTasks(ctx, ctx.template!.id, lastLimit(ctx.query.get("limit"))) },
    {
      method: "POST",
      path: `${P}/tasks`,
      perm: PERM.run,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, ctx.core.flavor === "modern" ? TASK_SCHEMA_MODERN : TASK_SCHEMA);
        if (!b) return empty(400);
        const res = ctx.core.pool.create(taskInputFromBody(b, ctx.project!.id, ctx.user.id));
        if (!res.ok) return empty(500);
        // the secret is never stored: the create response echoes "{}", later reads give ""
        return json(201, ctx.core.shapes.task(res.task, "{}"));
      },
    },
    { method: "GET", path: `${P}/tasks/{task_id}`, handler: (ctx) => json(200, ctx.core.shapes.task(ctx.task!)) },
    {
      method: "GET",
      path: `${P}/tasks/{task_id}/output`,
      handler: (ctx) =>
        json(
          200,
          (ctx.core.store.outputs.get(ctx.task!.id) ?? []).map((o) => ctx.core.shapes.output(o)),
        ),
    },
    {
      method: "GET",
      path: `${P}/tasks/{task_id}/raw_output`,
      flavors: ["modern"],
      handler: (ctx) => ({
        status: 200,
        raw: (ctx.core.store.outputs.get(ctx.task!.id) ?? []).map((o) => o.output + "\n").join(""),
        contentType: "text/plain; charset=utf-8",
      }),
    },
    {
      method: "POST",
      path: `${P}/tasks/{task_id}/stop`,
      perm: PERM.run,
      handler: (ctx) => {
        const b = tryDecode(ctx.body, STOP_SCHEMA);
        if (!b) return empty(400);
        ctx.core.pool.stop(ctx.task!, bool(b, "force"));
        return empty(204);
      },
    },
    {
      method: "POST",
      path: `${P}/tasks/{task_id}/confirm`,
      perm: PERM.run,
      handler: (ctx) => (ctx.core.pool.confirm(ctx.task!) ? empty(204) : empty(400)),
    },
    {
      method: "POST",
      path: `${P}/tasks/{task_id}/reject`,
      perm: PERM.run,
      flavors: ["modern"],
      handler: (ctx) => (ctx.core.pool.reject(ctx.task!) ? empty(204) : empty(400)),
    },
    {
      method: "DELETE",
      path: `${P}/tasks/{task_id}`,
      perm: PERM.manage,
      handler: (ctx) => {
        if (!ctx.user.admin) return empty(401); // only admins may delete task logs
        if (ctx.core.pool.isActive(ctx.task!.id)) return empty(400);
        ctx.core.store.deleteTask(ctx.task!.id);
        return empty(204);
      },
    },
  );
}
