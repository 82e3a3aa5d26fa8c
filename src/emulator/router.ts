// Route table and the middleware chain of the Semaphore API, in Semaphore's order: route match (unknown path → 404
// text/plain "Not Found"), authentication (401), admin-only (403), project id (400 {"error":"Invalid project ID"}),
// project membership (404, existence hidden), path resources (missing task → 400, others → 404), permission bits for
// non-GET methods (403), then the handler.

import type { Ctx, Reply } from "./context.js";
import { empty, jsonError } from "./context.js";
import { authenticate } from "./auth.js";
import { ROLE_PERMISSIONS, type ApiFlavor } from "./types.js";
import type { Core } from "./context.js";
import type { IncomingHttpHeaders } from "node:http";

export type Method = "GET" | "POST" | "PUT" | "DELETE";
export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

export interface RouteDef {
  method: Method;
  path: string;
  /** "none": public; "user": any authenticated user (default); "admin": admins only. */
  auth?: "none" | "user" | "admin";
  /** Status for a non-admin on an admin route (403 unless stated). */
  adminFailStatus?: number;
  /** Project permission bit(s) required (checked for non-GET methods on project routes). */
  perm?: number;
  /** Only served by these API flavors. */
  flavors?: ApiFlavor[];
  handler: Handler;
}

interface CompiledRoute extends RouteDef {
  segs: string[];
  literals: number;
}

export type MatchResult =
  { kind: "ok"; route: RouteDef; params: Record<string, string>; name: string } | { kind: "method_not_allowed"; name: string } | { kind: "not_found" };

function safeDecode(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** strconv.Atoi-compatible integer parsing. */
export function atoi(s: string | undefined): number | null {
  if (s === undefined || !/^[+-]?\d+$/.test(s)) return null;
  const n = parseInt(s, 10);
  return Number.isSafeInteger(n) ? n : null;
}

export class Router {
  private routes: CompiledRoute[] = [];

  constructor(private readonly flavor: ApiFlavor) {}

  add(...defs: RouteDef[]): void {
    for (const d of defs) {
      if (d.flavors && !d.flavors.includes(this.flavor)) continue;
      const segs = d.path.split("/").filter(Boolean);
      this.routes.push({ ...d, segs, literals: segs.filter((s) => !s.startsWith("{")).length });
    }
  }

  match(method: string, path: string): MatchResult {
    const segs = path.split("/").filter(Boolean);
    const want = method === "HEAD" ? "GET" : method;
    let best: { r: CompiledRoute; params: Record<string, string> } | null = null;
    let pathMatched: CompiledRoute | null = null;
    for (const r of this.routes) {
      if (r.segs.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.segs[i]!;
        if (p.startsWith("{")) params[p.slice(1, -1)] = safeDecode(segs[i]!);
        else if (p !== segs[i]) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (!pathMatched || r.literals > pathMatched.literals) pathMatched = r;
      if (r.method !== want) continue;
      if (!best || r.literals > best.r.literals) best = { r, params };
    }
    if (best) {
      return { kind: "ok", route: best.r, params: best.params, name: `${best.r.method} ${best.r.path}` };
    }
    if (pathMatched) return { kind: "method_not_allowed", name: `${method} ${pathMatched.path}` };
    return { kind: "not_found" };
  }
}

interface Resolver {
  table: (core: Core) => Map<number, { project_id: number }>;
  missing: number;
  set: (ctx: Ctx, row: unknown) => void;
}

const RESOLVERS: Record<string, Resolver> = {
  task_id: { table: (c) => c.store.tasks, missing: 400, set: (ctx, r) => (ctx.task = r as Ctx["task"]) },
  template_id: { table: (c) => c.store.templates, missing: 404, set: (ctx, r) => (ctx.template = r as Ctx["template"]) },
  inventory_id: { table: (c) => c.store.inventories, missing: 404, set: (ctx, r) => (ctx.inventory = r as Ctx["inventory"]) },
  environment_id: { table: (c) => c.store.environments, missing: 404, set: (ctx, r) => (ctx.environment = r as Ctx["environment"]) },
  key_id: { table: (c) => c.store.keys, missing: 404, set: (ctx, r) => (ctx.key = r as Ctx["key"]) },
  repository_id: { table: (c) => c.store.repositories, missing: 404, set: (ctx, r) => (ctx.repository = r as Ctx["repository"]) },
  view_id: { table: (c) => c.store.views, missing: 404, set: (ctx, r) => (ctx.view = r as Ctx["view"]) },
  schedule_id: { table: (c) => c.store.schedules, missing: 404, set: (ctx, r) => (ctx.schedule = r as Ctx["schedule"]) },
};

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Run the middleware chain and the handler of a matched route. */
export async function dispatch(core: Core, route: RouteDef, params: Record<string, string>, req: Request): Promise<Reply> {
  const ctx = { core, method: req.method, path: req.path, query: req.query, params, headers: req.headers, body: req.body } as Ctx;
  if ((route.auth ?? "user") !== "none") {
    const user = authenticate(core.store, req.headers);
    if (!user) return empty(401);
    ctx.user = user;
    if (route.auth === "admin" && !user.admin) return empty(route.adminFailStatus ?? 403);
  }
  if (params["project_id"] !== undefined) {
    const pid = atoi(params["project_id"]);
    if (pid === null) return jsonError(400, "Invalid project ID");
    const project = core.store.projects.get(pid);
    if (!project) return empty(404);
    const member = core.store.member(pid, ctx.user.id);
    if (!member && !ctx.user.admin) return empty(404);
    ctx.project = project;
    if (member) ctx.role = member.role;
    for (const [name, raw] of Object.entries(params)) {
      const res = RESOLVERS[name];
      if (!res) continue;
      const id = atoi(raw);
      if (id === null) return empty(400);
      const row = res.table(core).get(id);
      if (!row || row.project_id !== pid) return empty(res.missing);
      res.set(ctx, row);
    }
    if (route.perm !== undefined && req.method !== "GET" && req.method !== "HEAD" && !ctx.user.admin) {
      const perms = ctx.role ? ROLE_PERMISSIONS[ctx.role] : 0;
      if ((perms & route.perm) !== route.perm) return empty(403);
    }
  }
  return route.handler(ctx);
}
