// In-memory storage of the emulator: the tables a Semaphore database would hold, id allocation (SQL-style ascending
// ids; tasks may count down like BoltDB), and the queries the routes need. No behaviour lives here.

import { randomBytes } from "node:crypto";
import { now, formatSeconds } from "./clock.js";
import type {
  EnvironmentRow,
  EventRow,
  InventoryRow,
  KeyRow,
  MemberRow,
  ProjectRow,
  RepositoryRow,
  Role,
  ScheduleRow,
  SessionRow,
  TaskOutputRow,
  TaskRow,
  TemplateRow,
  TokenRow,
  UserRow,
  ViewRow,
} from "./types.js";

/** 32 random bytes, URL-safe base64 with padding, lower-cased: 44 chars of [a-z0-9_-] ending "=" (§2.1). */
function newTokenId(): string {
  return randomBytes(32).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").toLowerCase();
}

const BOLT_FIRST_ID = 2147483646;

export class Store {
  users = new Map<number, UserRow>();
  tokens = new Map<string, TokenRow>();
  sessions = new Map<string, SessionRow>();
  projects = new Map<number, ProjectRow>();
  members: MemberRow[] = [];
  keys = new Map<number, KeyRow>();
  repositories = new Map<number, RepositoryRow>();
  inventories = new Map<number, InventoryRow>();
  environments = new Map<number, EnvironmentRow>();
  views = new Map<number, ViewRow>();
  templates = new Map<number, TemplateRow>();
  schedules = new Map<number, ScheduleRow>();
  tasks = new Map<number, TaskRow>();
  outputs = new Map<number, TaskOutputRow[]>();
  events: EventRow[] = [];

  private counters = new Map<string, number>();
  private taskSeq = 0;
  private eventSeq = 0;
  private outputSeq = 0;
  private nextTaskId: number;

  constructor(private readonly descendingIds = true) {
    this.nextTaskId = descendingIds ? BOLT_FIRST_ID : 1;
  }

  nextId(table: string): number {
    const n = (this.counters.get(table) ?? 0) + 1;
    this.counters.set(table, n);
    return n;
  }

  allocTaskId(): { id: number; seq: number } {
    const id = this.nextTaskId;
    this.nextTaskId += this.descendingIds ? -1 : 1;
    return { id, seq: ++this.taskSeq };
  }

  // ---- users, tokens, sessions -----------------------------------------------------------------------------------

  addUser(u: { username: string; name?: string; email?: string; admin?: boolean; password?: string; created?: string }): UserRow {
    const row: UserRow = {
      id: this.nextId("user"),
      created: u.created ?? formatSeconds(Date.now()),
      username: u.username,
      name: u.name ?? u.username,
      email: u.email ?? `${u.username}@example.com`,
      admin: u.admin ?? false,
      external: false,
      alert: false,
      _password: u.password ?? "changeme",
    };
    this.users.set(row.id, row);
    return row;
  }

  userByLogin(login: string): UserRow | undefined {
    const l = login.toLowerCase();
    for (const u of this.users.values()) if (u.username.toLowerCase() === l || u.email.toLowerCase() === l) return u;
    return undefined;
  }

  addToken(userId: number, expired = false): TokenRow {
    // BoltDB never fills a token's creation time (§11 item 12)
    const row: TokenRow = { id: newTokenId(), created: "0001-01-01T00:00:00Z", expired, user_id: userId };
    this.tokens.set(row.id, row);
    return row;
  }

  // ---- projects and membership -----------------------------------------------------------------------------------

  addProject(p: { name: string; alert?: boolean; alert_chat?: string | null; max_parallel_tasks?: number; created?: string }): ProjectRow {
    const row: ProjectRow = {
      id: this.nextId("project"),
      name: p.name,
      created: p.created ?? now(),
      alert: p.alert ?? false,
      alert_chat: p.alert_chat ?? null,
      max_parallel_tasks: p.max_parallel_tasks ?? 0,
      type: "",
    };
    this.projects.set(row.id, row);
    return row;
  }

  member(projectId: number, userId: number): MemberRow | undefined {
    return this.members.find((m) => m.project_id === projectId && m.user_id === userId);
  }

  setMember(projectId: number, userId: number, role: Role): void {
    const m = this.member(projectId, userId);
    if (m) m.role = role;
    else this.members.push({ project_id: projectId, user_id: userId, role });
  }

  removeMember(projectId: number, userId: number): boolean {
    const i = this.members.findIndex((m) => m.project_id === projectId && m.user_id === userId);
    if (i < 0) return false;
    this.members.splice(i, 1);
    return true;
  }

  /** Projects visible to the user: all for admins, own memberships otherwise; sorted by name like SQL. */
  projectsFor(user: UserRow): ProjectRow[] {
    const list = [...this.projects.values()].filter((p) => user.admin || this.member(p.id, user.id));
    return list.sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
  }

  canSeeProject(user: UserRow, projectId: number): boolean {
    return user.admin || !!this.member(projectId, user.id);
  }

  deleteProject(id: number): void {
    this.projects.delete(id);
    this.members = this.members.filter((m) => m.project_id !== id);
    for (const table of [this.keys, this.repositories, this.inventories, this.environments, this.views, this.templates, this.schedules] as Map<
      number,
      { project_id: number }
    >[]) {
      for (const [k, v] of table) if (v.project_id === id) table.delete(k);
    }
    for (const [k, t] of this.tasks) {
      if (t.project_id === id) {
        this.tasks.delete(k);
        this.outputs.delete(k);
      }
    }
    this.events = this.events.filter((e) => e.project_id !== id);
  }

  // ---- generic per-project tables --------------------------------------------------------------------------------

  inProject<T extends { project_id: number }>(table: Map<number, T>, projectId: number, id: number): T | undefined {
    const row = table.get(id);
    return row && row.project_id === projectId ? row : undefined;
  }

  listInProject<T extends { project_id: number; id: number }>(table: Map<number, T>, projectId: number): T[] {
    return [...table.values()].filter((r) => r.project_id === projectId);
  }

  // ---- tasks -----------------------------------------------------------------------------------------------------

  /** Tasks of a project (optionally one template), newest first. */
  tasksOf(projectId: number, templateId?: number): TaskRow[] {
    const list = [...this.tasks.values()].filter((t) => t.project_id === projectId && (templateId === undefined || t.template_id === templateId));
    return list.sort((a, b) => b._seq - a._seq);
  }

  lastTaskOf(templateId: number): TaskRow | undefined {
    let best: TaskRow | undefined;
    for (const t of this.tasks.values()) if (t.template_id === templateId && (!best || t._seq > best._seq)) best = t;
    return best;
  }

  appendOutput(taskId: number, output: string, time: string): TaskOutputRow {
    const row: TaskOutputRow = { id: ++this.outputSeq, task_id: taskId, task: "", time, output };
    let list = this.outputs.get(taskId);
    if (!list) this.outputs.set(taskId, (list = []));
    list.push(row);
    return row;
  }

  deleteTask(id: number): void {
    this.tasks.delete(id);
    this.outputs.delete(id);
  }

  // ---- events ----------------------------------------------------------------------------------------------------

  addEvent(
    e: Omit<EventRow, "_seq" | "created" | "integration_id" | "object_name"> & { created?: string; object_name?: string; integration_id?: number | null },
  ): EventRow {
    const row: EventRow = {
      _seq: ++this.eventSeq,
      user_id: e.user_id,
      project_id: e.project_id,
      integration_id: e.integration_id ?? null,
      object_id: e.object_id,
      object_type: e.object_type,
      description: e.description,
      created: e.created ?? now(),
      object_name: e.object_name ?? "",
    };
    this.events.push(row);
    return row;
  }
}
