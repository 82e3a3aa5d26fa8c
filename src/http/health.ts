// /healthz: is the bot doing its job? Matrix must have synced recently (when configured) and Semaphore must be
// reachable, over the websocket or by polling. Read from the store and the tracker: a health check never makes a
// request of its own, so scraping it often costs nothing and cannot pile up behind a slow Semaphore.
import type { App } from "../app.js";
import { VERSION } from "../version.js";

/** A sync older than this is stale: a healthy client completes one at least every ~30 s (the long-poll timeout). */
export const MATRIX_SYNC_MAX_AGE_S = 120;

export interface HealthCheck {
  ok: boolean;
  state: string;
  detail?: string;
}

export interface HealthReport {
  status: "ok" | "fail";
  version: string;
  uptimeSeconds: number;
  checks: {
    matrix: HealthCheck & { lastSyncAgeSeconds?: number };
    semaphore: HealthCheck & { transport?: "websocket" | "polling"; version?: string };
  };
}

export function healthReport(app: Pick<App, "store" | "ops">, now = Date.now()): HealthReport {
  const c = app.store.connection;

  let matrix: HealthReport["checks"]["matrix"];
  const age = c.matrixLastSync !== undefined ? Math.max(0, Math.round((now - c.matrixLastSync) / 1000)) : undefined;
  if (c.matrix === "not_configured") {
    matrix = { ok: true, state: c.matrix, detail: "Matrix is not configured (console only)" };
  } else if ((c.matrix === "syncing" || c.matrix === "catching_up") && age !== undefined && age <= MATRIX_SYNC_MAX_AGE_S) {
    matrix = { ok: true, state: c.matrix, lastSyncAgeSeconds: age };
  } else {
    const why =
      age === undefined
        ? "no sync has completed yet"
        : age > MATRIX_SYNC_MAX_AGE_S
          ? `the last sync completed ${age} s ago (more than ${MATRIX_SYNC_MAX_AGE_S} s)`
          : `the sync is ${c.matrix}`;
    matrix = {
      ok: false,
      state: c.matrix,
      detail: `${why}${c.matrixDetail ? `: ${c.matrixDetail}` : ""}`,
      ...(age !== undefined ? { lastSyncAgeSeconds: age } : {}),
    };
  }

  let semaphore: HealthReport["checks"]["semaphore"];
  const version = c.semaphoreVersion ? { version: c.semaphoreVersion } : {};
  if (c.semaphore === "websocket" || c.semaphore === "polling") {
    semaphore = { ok: true, state: c.semaphore, transport: c.semaphore, ...version };
  } else {
    const why = c.semaphore === "down" ? "Semaphore is unreachable" : c.semaphore === "connecting" ? "connecting to Semaphore" : "Semaphore is not configured";
    semaphore = { ok: false, state: c.semaphore, detail: `${why}${c.semaphoreDetail ? `: ${c.semaphoreDetail}` : ""}`, ...version };
  }

  return {
    status: matrix.ok && semaphore.ok ? "ok" : "fail",
    version: VERSION,
    uptimeSeconds: Math.round((now - app.ops.startedAt) / 1000),
    checks: { matrix, semaphore },
  };
}
