import { MatrixScheduler, MatrixError, ConnectionError, type MatrixEvent } from "matrix-js-sdk";

const MAX_BACKOFF_MS = 30_000;

/**
 * The SDK's default scheduler runs one global queue and gives up on the first connection error, dropping what is
 * queued behind. Ours keeps one queue per room (a slow room does not delay others; order holds within a room) and
 * retries connection errors and 5xx for as long as the outage lasts, so nothing is lost.
 */
export function retryDelay(err: unknown, attempts: number): number {
  const delay = computeRetryDelay(err, attempts);
  if (delay >= 0) matrixRetries[(err as { isRateLimitError?: () => boolean })?.isRateLimitError?.() ? "rate_limited" : "transient"]++;
  return delay;
}

/** Retries decided by retryDelay, process-wide (the scheduler's sends and the bot's joins/leaves), for /metrics. */
export const matrixRetries = { rate_limited: 0, transient: 0 };

function computeRetryDelay(err: unknown, attempts: number): number {
  if (err instanceof MatrixError || (err as { isRateLimitError?: () => boolean })?.isRateLimitError) {
    const m = err as MatrixError;
    if (m.isRateLimitError?.()) return m.getRetryAfterMs() ?? 1000;
    const status = m.httpStatus ?? 0;
    if (status >= 500 || status === 0) return backoff(attempts);
    return -1;
  }
  if (err instanceof ConnectionError || (err as Error)?.name === "ConnectionError" || (err as Error)?.name === "TypeError") return backoff(attempts);
  const status = (err as { httpStatus?: number })?.httpStatus;
  if (status && status >= 500) return backoff(attempts);
  return -1;
}

function backoff(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempts - 1, 6));
}

export function createSendScheduler(): MatrixScheduler {
  return new MatrixScheduler(
    (ev: MatrixEvent, attempts: number, err: MatrixError) => retryDelay(err, attempts),
    (ev: MatrixEvent) => ev.getRoomId() ?? null,
  );
}
