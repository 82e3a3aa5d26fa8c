// Shared types of the HTTP layer: the server core every route can use, the per-request context, the reply shape.

import type { IncomingHttpHeaders } from "node:http";
import type { Hub } from "./ws.js";
import type { TaskPool } from "./pool.js";
import type { Scheduler } from "./scheduler.js";
import type { Shapes } from "./shapes.js";
import type { Store } from "./store.js";
import type {
  ApiFlavor,
  EnvironmentRow,
  InventoryRow,
  KeyRow,
  ProjectRow,
  RepositoryRow,
  Role,
  ScheduleRow,
  TaskRow,
  TemplateRow,
  UserRow,
  ViewRow,
} from "./types.js";

export interface Core {
  store: Store;
  shapes: Shapes;
  pool: TaskPool;
  hub: Hub;
  scheduler: Scheduler;
  flavor: ApiFlavor;
  version: string;
}

export interface Ctx {
  core: Core;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Authenticated user (set for every route but the public ones). */
  user: UserRow;
  project?: ProjectRow;
  /** The caller's role in `project` (undefined for admins who are not members). */
  role?: Role;
  template?: TemplateRow;
  task?: TaskRow;
  inventory?: InventoryRow;
  environment?: EnvironmentRow;
  key?: KeyRow;
  repository?: RepositoryRow;
  view?: ViewRow;
  schedule?: ScheduleRow;
  memberUser?: UserRow;
}

export interface Reply {
  status: number;
  /** JSON body (encoded Go-style, newline-terminated). */
  body?: unknown;
  /** Raw body (then contentType applies). */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string | string[]>;
  /** Close the connection without any reply (status is then unused). */
  closeConnection?: boolean;
}

export const empty = (status: number, headers?: Record<string, string | string[]>): Reply => (headers ? { status, headers } : { status });
export const json = (status: number, body: unknown): Reply => ({ status, body });
export const jsonError = (status: number, message: string): Reply => ({ status, body: { error: message } });
