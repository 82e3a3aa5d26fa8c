// Public API of the Semaphore-compatible server (emulator) used by the demo and by tests. It speaks the REST and
// WebSocket API of Semaphore UI v2.10 as described in /work/shared/reference/semaphore-api.md (paths, JSON shapes,
// status codes with empty bodies, task pool and status machine, output lines, websocket frames), with a "modern"
// flavor for the later-release differences a client must tolerate (§10).
//
//   const sem = await startSemaphoreServer({ tickMs: 50, lineDelayMs: 2 });
//   await fetch(`${sem.url}/api/projects`, { headers: { Authorization: `Bearer ${sem.tokens.runner}` } });
//   await sem.stop();
//
// Seeded data (seed "demo", ids are stable):
//   users/tokens  admin (admin, owner of both projects), owner "alice" (owner of 1 and 2), manager "bob" (manager
//                 in 1), runner "chatrixcd" (task_runner in 1 only), guest "gina" (guest in 1), outsider "oscar"
//                 (no project), expired (an expired token of "chatrixcd"). Passwords: server.users[key].password.
//   project 1 "Infrastructure" (views "Deploy", "Maintenance"; schedule "Nightly backup" 0 2 * * * → template 3)
//     template 1 "Deploy web"          ansible, succeeds (~25 lines of coloured ansible output), allows args override
//     template 2 "Run migrations"      ansible, fails: fatal: [db1] … failed=1, "Running app failed: exit status 2"
//     template 3 "Full backup"         ansible, long: a line every ~10 × lineDelayMs (about 2 minutes by default)
//     template 4 "Terraform apply"     terraform: plan → waiting_confirmation → (confirm) → apply → success
//     template 5 "Rotate certificates" ansible, survey_vars cert_domain (required string), validity_days (int),
//                                      ca (enum letsencrypt|internal); fails if cert_domain is missing
//   project 2 "Internal tools"
//     template 6 "Rebuild search index" bash (prints its key=value arguments), template 7 "Prune docker images" bash
//   history: 7 tasks (success, error, scheduled success, confirmed terraform, bash, runner's deploy, force-stopped
//   backup). Task ids count down from 2147483646 like a live v2.10 on BoltDB: the history has 2147483646…2147483640
//   and new tasks get 2147483639 and below (ascending from 1 with ascendingIds).
//
// Faithful to a live v2.10.32 by default (semaphore-api.md §11); the deliberate differences left are named options
// (ascendingIds, forceStopKillsAtOnce) or listed below.
// Seed "empty": the same users and tokens, no project.

import { Hub } from "./ws.js";
import { FaultState, type Faults } from "./faults.js";
import { HttpFront } from "./http.js";
import { TaskPool, type TaskInput } from "./pool.js";
import { createProjectWithDefaults, registerProjects } from "./routes/projects.js";
import { registerResources } from "./routes/resources.js";
import { registerSystem } from "./routes/system.js";
import { registerTasks } from "./routes/tasks.js";
import { Router } from "./router.js";
import { Scheduler } from "./scheduler.js";
import { addTemplateRow, seed, type SeedUser } from "./seed.js";
import { Shapes } from "./shapes.js";
import { Store } from "./store.js";
import { formatMs } from "./clock.js";
import { defaultScenario } from "./scenarios.js";
import type { Core } from "./context.js";
import type { ApiFlavor, App, Role, ScenarioRef, SurveyVar, TaskParams, TaskStatus, TemplateTaskParams } from "./types.js";

export type { Faults } from "./faults.js";
export type { SeedUser } from "./seed.js";
export type { ApiFlavor, App, BuiltinScenario, Role, ScenarioRef, ScriptSpec, SurveyVar, TaskParams, TaskStatus, TemplateTaskParams } from "./types.js";

/** Like live's `2.10.32-<commit>-<build time>` (no "v"), marked as ours. */
export const DEFAULT_VERSION = "2.10.32-emulated-d4a2713";

// Differences from a live v2.10.32 (semaphore-api.md §11) knowingly not reproduced, by item number:
//   8  an integral float such as {"template_id": 1.0} is accepted (live: 400): JSON.parse can't tell 1.0 from 1;
//   9  commit_hash/commit_message are filled after a run (live with a file:// repository: null/"");
//   10 the output preamble is shorter than live's (no repository/requirements.yml lines);
//   16 stop transitions are not delayed ~0.5 s;  17 large bodies are not chunked.

export interface SemaphoreServerOptions {
  /** Instrumentation: called on every task status update, before it is pushed (tests' ground truth, benchmarks' clock). */
  onTaskUpdate?: (task: { id: number; project_id: number; status: string; end: unknown }, atMs: number) => void;
  /** default "127.0.0.1" */
  host?: string;
  /** default 0 (ephemeral) */
  port?: number;
  /** false: no socket at all; reached only through `fetch` (in-process tests). Default true. */
  listen?: boolean;
  /** Task pool tick (ms). Semaphore's is 5000; tests use small values; 0: no timer, tasks move on tick() only. */
  tickMs?: number;
  /** One "unit" of delay between output lines of scripted scenarios (ms); default 300 (realistic). */
  lineDelayMs?: number;
  /** default "demo" */
  seed?: "demo" | "empty";
  /** Reported by /api/info; default DEFAULT_VERSION (live form: no "v"). */
  version?: string;
  /** "modern": tasks accept/echo `params`, omit empty fields, /reject and `rejected` exist (§10). Default "v2.10". */
  apiFlavor?: ApiFlavor;
  /** Deliberate difference: task ids count up from 1 like SQL backends (default false: down from 2147483646, as live). */
  ascendingIds?: boolean;
  /** Deliberate difference: a force-stop of an active task that is not `running` kills it at once (default false: as
   *  live, it becomes `stopped` with `end: null` while the playbook runs on, and `end` is set when it finishes). */
  forceStopKillsAtOnce?: boolean;
  /** Global cap of concurrently running tasks (Semaphore's max_parallel_tasks, default 10; 0 = unlimited). */
  maxParallelTasks?: number;
  /** Fire active schedules at their cron times (UTC). Default true. */
  schedules?: boolean;
  /** Websocket ping interval (default 54000 ms); a connection that missed the previous ping's pong is dropped. */
  wsPingMs?: number;
}

export interface ProjectJson {
  id: number;
  name: string;
  created: string;
  alert: boolean;
  alert_chat: string | null;
  max_parallel_tasks: number;
  type: string;
}

export interface UserJson {
  id: number;
  created: string;
  username: string;
  name: string;
  email: string;
  admin: boolean;
  external: boolean;
  alert: boolean;
}

/** Template as the API returns it (§5); see semaphore-api.md for every key. */
export interface TemplateJson {
  id: number;
  project_id: number;
  name: string;
  app: App;
  [key: string]: unknown;
}

/** Task as the API returns it (§5); see semaphore-api.md for every key. */
export interface TaskJson {
  id: number;
  template_id: number;
  project_id: number;
  status: TaskStatus;
  [key: string]: unknown;
}

export interface TemplateSpec {
  name: string;
  /** default "bash" */
  app?: App;
  /** default "<name>.sh" / "<name>.yml" (terraform: "") */
  playbook?: string;
  description?: string | null;
  /** default: the project's first inventory (ansible: one is created if there is none) */
  inventoryId?: number | null;
  /** default: the project's first repository (created if there is none) */
  repositoryId?: number;
  /** default: the project's "Empty" environment */
  environmentId?: number | null;
  viewId?: number | null;
  arguments?: string | null;
  allowOverrideArgsInTask?: boolean;
  surveyVars?: SurveyVar[] | null;
  type?: "" | "build" | "deploy";
  gitBranch?: string | null;
  taskParams?: TemplateTaskParams;
  /** What runs: a built-in scenario name or a script ({lines, exitCode, delayUnits, confirmAfter}). */
  scenario?: ScenarioRef;
}

export interface StartTaskOptions {
  /** default null: started by a schedule or an integration, not by a user */
  userId?: number | null;
  integrationId?: number | null;
  scheduleId?: number | null;
  environment?: string;
  message?: string;
  limit?: string;
  arguments?: string | null;
  gitBranch?: string | null;
  debug?: boolean;
  dryRun?: boolean;
  diff?: boolean;
  inventoryId?: number | null;
  secret?: string;
  params?: TaskParams;
}

export interface ServerStats {
  requests: number;
  requestsByRoute: Record<string, number>;
  bytesOut: number;
  wsFramesOut: number;
  /** Payload bytes of websocket frames sent. */
  wsBytesOut: number;
}

export interface SemaphoreServer {
  /** "http://127.0.0.1:PORT" */
  url: string;
  port: number;
  flavor: ApiFlavor;
  /** Bearer token of an admin user. */
  adminToken: string;
  /** Seeded tokens: admin, owner, manager, runner (task_runner in project 1 only), guest (guest in project 1),
   *  outsider (member of no project), expired (an expired token of the runner user). */
  tokens: Record<string, string>;
  /** Seeded users by the same keys (id, username, password for POST /api/auth/login). */
  users: Record<string, SeedUser>;
  /** Create a project as the admin would (key "None", environment "Empty", owner = admin unless ownerUserId given). */
  createProject(name: string, opts?: { maxParallelTasks?: number; ownerUserId?: number | null }): ProjectJson;
  addTemplate(projectId: number, spec: TemplateSpec): TemplateJson;
  addUser(spec: { username: string; name?: string; email?: string; password?: string; admin?: boolean }): UserJson;
  addMember(projectId: number, userId: number, role: Role): void;
  /** Returns the token id (what goes after "Bearer "). */
  addToken(userId: number, opts?: { expired?: boolean }): string;
  /** Start a task as if from the web UI (userId) or a schedule/integration (userId null, the default). */
  startTaskAs(projectId: number, templateId: number, opts?: StartTaskOptions): TaskJson;
  /** A run that finished at `end` after starting at `start`, as if it had happened then (a known history for tests). */
  addPastRun(projectId: number, templateId: number, run: { status: "success" | "error" | "stopped"; start: Date; end: Date }): TaskJson;
  /** Current state of a task (plain Task JSON), or undefined. */
  getTask(taskId: number): TaskJson | undefined;
  /** The request pipeline without a socket, for SemaphoreClient's `fetch` option; refused during an outage. */
  fetch: HttpFront["fetchInProcess"];
  /** Run one pool tick now (on top of the timer). */
  tick(): void;
  faults: Faults;
  /** Full outage: close the listening socket and all connections; tasks keep running in memory. */
  outage(): Promise<void>;
  /** Listen again on the same port. */
  restart(): Promise<void>;
  /** Stop everything (timers included). */
  stop(): Promise<void>;
  stats(): ServerStats;
  resetStats(): void;
}

export async function startSemaphoreServer(opts: SemaphoreServerOptions = {}): Promise<SemaphoreServer> {
  const host = opts.host ?? "127.0.0.1";
  const flavor: ApiFlavor = opts.apiFlavor ?? "v2.10";
  const store = new Store(!(opts.ascendingIds ?? false));
  const shapes = new Shapes(store, flavor);
  const pingMs = opts.wsPingMs ?? 54_000;
  const hub = new Hub(store, { pingMs });
  const pool = new TaskPool(
    store,
    {
      tickMs: opts.tickMs ?? 5000,
      lineDelayMs: opts.lineDelayMs ?? 300,
      maxParallelTasks: opts.maxParallelTasks ?? 10,
      flavor,
      forceStopKillsAtOnce: opts.forceStopKillsAtOnce ?? false,
    },
    {
      log: (task, row) => hub.broadcast(task.project_id, shapes.logFrame(task, row)),
      update: (task) => {
        opts.onTaskUpdate?.({ id: task.id, project_id: task.project_id, status: task.status, end: task.end }, performance.now());
        hub.broadcast(task.project_id, shapes.updateFrame(task));
      },
    },
  );
  const seeded = await seed(store, opts.seed ?? "demo", flavor);
  const scheduler = new Scheduler(
    store,
    (s) => void pool.create({ project_id: s.project_id, template_id: s.template_id, user_id: null, schedule_id: flavor === "modern" ? s.id : null }),
    opts.schedules ?? true,
  );
  const core: Core = { store, shapes, pool, hub, scheduler, flavor, version: opts.version ?? DEFAULT_VERSION };
  const router = new Router(flavor);
  registerSystem(router);
  registerProjects(router);
  registerResources(router);
  registerTasks(router);
  const faultState = new FaultState();
  const front = new HttpFront(core, router, faultState, host);
  const listen = opts.listen ?? true;
  if (listen) await front.listen(opts.port ?? 0);
  else front.inProcessUp = true;
  pool.start();
  scheduler.refresh();

  const port = front.port;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  let wsBase = 0;
  let wsBytesBase = 0;
  let stopped = false;

  const ensureRepo = (projectId: number): number => {
    const existing = store.listInProject(store.repositories, projectId)[0];
    if (existing) return existing.id;
    const none = store.listInProject(store.keys, projectId).find((k) => k.type === "none");
    const id = store.nextId("repository");
    store.repositories.set(id, {
      id,
      name: "scripts",
      project_id: projectId,
      git_url: `/opt/semaphore/project-${projectId}`,
      git_branch: "",
      ssh_key_id: none?.id ?? 0,
    });
    return id;
  };
  const ensureInventory = (projectId: number): number => {
    const existing = store.listInProject(store.inventories, projectId)[0];
    if (existing) return existing.id;
    const id = store.nextId("inventory");
    store.inventories.set(id, {
      id,
      name: "localhost",
      project_id: projectId,
      inventory: "localhost ansible_connection=local\n",
      ssh_key_id: null,
      become_key_id: null,
      type: "static",
      holder_id: null,
      repository_id: null,
    });
    return id;
  };
  const requireProject = (projectId: number): void => {
    if (!store.projects.has(projectId)) throw new Error(`no project ${projectId}`);
  };

  const server: SemaphoreServer = {
    url: listen ? `http://${urlHost}:${port}` : "http://semaphore-emulator.invalid",
    port,
    flavor,
    adminToken: seeded.adminToken,
    tokens: seeded.tokens,
    users: seeded.users,

    createProject(name, o = {}) {
      const owner = o.ownerUserId === undefined ? seeded.users["admin"]!.id : o.ownerUserId;
      const p = createProjectWithDefaults(store, { name, max_parallel_tasks: o.maxParallelTasks ?? 0 }, owner);
      return shapes.project(p) as unknown as ProjectJson;
    },

    addTemplate(projectId, spec) {
      requireProject(projectId);
      const app: App = spec.app ?? "bash";
      const env = store.listInProject(store.environments, projectId).find((e) => e.name === "Empty");
      const row = addTemplateRow(store, projectId, {
        name: spec.name,
        app,
        playbook: spec.playbook ?? (app === "terraform" || app === "tofu" ? "" : app === "ansible" ? `${slug(spec.name)}.yml` : `${slug(spec.name)}.sh`),
        description: spec.description ?? null,
        inventory_id:
          spec.inventoryId !== undefined
            ? spec.inventoryId
            : app === "ansible"
              ? ensureInventory(projectId)
              : (store.listInProject(store.inventories, projectId)[0]?.id ?? null),
        repository_id: spec.repositoryId ?? ensureRepo(projectId),
        environment_id: spec.environmentId !== undefined ? spec.environmentId : (env?.id ?? null),
        view_id: spec.viewId ?? null,
        arguments: spec.arguments ?? null,
        allow_override_args_in_task: spec.allowOverrideArgsInTask ?? false,
        survey_vars: spec.surveyVars ?? null,
        type: spec.type ?? "",
        git_branch: spec.gitBranch ?? null,
        task_params: spec.taskParams ?? {},
        _scenario: spec.scenario ?? defaultScenario(app),
      });
      return shapes.template(row, false) as TemplateJson;
    },

    addUser(spec) {
      const u = store.addUser(spec);
      return shapes.user(u) as unknown as UserJson;
    },

    addMember(projectId, userId, role) {
      requireProject(projectId);
      store.setMember(projectId, userId, role);
    },

    addToken(userId, o = {}) {
      if (!store.users.has(userId)) throw new Error(`no user ${userId}`);
      return store.addToken(userId, o.expired ?? false).id;
    },

    startTaskAs(projectId, templateId, o = {}) {
      const input: TaskInput = {
        project_id: projectId,
        template_id: templateId,
        user_id: o.userId ?? null,
        integration_id: o.integrationId ?? null,
        schedule_id: o.scheduleId ?? null,
        environment: o.environment ?? "",
        message: o.message ?? "",
        limit: o.limit ?? "",
        arguments: o.arguments ?? null,
        git_branch: o.gitBranch ?? null,
        debug: o.debug ?? false,
        dry_run: o.dryRun ?? false,
        diff: o.diff ?? false,
        inventory_id: o.inventoryId ?? null,
        secret: o.secret ?? "",
        params: o.params ?? null,
      };
      const res = pool.create(input);
      if (!res.ok) {
        if (res.reason === "template_not_found") throw new Error(`no template ${templateId} in project ${projectId}`);
        return shapes.task(res.task) as TaskJson;
      }
      return shapes.task(res.task) as TaskJson;
    },

    addPastRun(projectId, templateId, run) {
      const row = store.tasks.get(server.startTaskAs(projectId, templateId).id)!;
      Object.assign(row, {
        status: run.status,
        created: formatMs(run.start.getTime()),
        start: formatMs(run.start.getTime()),
        end: formatMs(run.end.getTime()),
      });
      pool.removeQueued(row.id); // finished: not waiting for the pool any more
      return shapes.task(row) as TaskJson;
    },

    getTask(taskId) {
      const t = store.tasks.get(taskId);
      return t ? (shapes.task(t) as TaskJson) : undefined;
    },

    fetch: (url, init) => front.fetchInProcess(url, init),
    tick: () => pool.tick(),

    faults: {
      setLatency: (ms) => void (faultState.latencyMs = Math.max(0, ms)),
      setHtml502: (on) => void (faultState.html502 = on),
      setInvalidJson: (on) => void (faultState.invalidJson = on),
      refuseWebsocket: (status) => void (faultState.wsRefuseStatus = status),
      dropWebsockets: () => hub.terminateAll(),
    },

    outage: () => front.close(),

    async restart() {
      if (stopped) throw new Error("server stopped");
      if (listen) await front.listen(port);
      else front.inProcessUp = true;
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      scheduler.dispose();
      pool.dispose();
      await front.dispose();
      hub.dispose();
    },

    stats: () => ({
      requests: front.stats.requests,
      requestsByRoute: { ...front.stats.requestsByRoute },
      bytesOut: front.stats.bytesOut,
      wsFramesOut: hub.framesOut - wsBase,
      wsBytesOut: hub.bytesOut - wsBytesBase,
    }),

    resetStats() {
      front.stats = { requests: 0, requestsByRoute: {}, bytesOut: 0 };
      wsBase = hub.framesOut;
      wsBytesBase = hub.bytesOut;
    },
  };
  return server;
}

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "script"
  );
}
