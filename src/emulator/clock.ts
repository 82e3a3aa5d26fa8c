// Time values as Semaphore (Go) writes them: RFC 3339 in UTC with up to nanosecond precision and the trailing zeros
// of the fraction trimmed (Go's time.RFC3339Nano), e.g. "2026-11-26T16:45:54.144576203Z". Users' `created` is
// second precision.

const startWallNs = BigInt(Date.now()) * 1_000_000n;
const startHr = process.hrtime.bigint();

/** Monotonic nanoseconds since the epoch (wall clock at module load + monotonic elapsed). */
function nowNs(): bigint {
  return startWallNs + (process.hrtime.bigint() - startHr);
}

/** Format nanoseconds since the epoch as Go's RFC3339Nano in UTC. */
function formatNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2026-11-26T16:45:54.144Z
  const base = iso.slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return frac ? `${base}.${frac}Z` : `${base}Z`;
}

export function now(): string {
  return formatNs(nowNs());
}

/** Milliseconds since the epoch → RFC3339Nano (sub-millisecond digits filled from `extraNs`). */
export function formatMs(ms: number, extraNs = 0): string {
  return formatNs(BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.floor(extraNs) % 1_000_000));
}

export function formatSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19) + "Z";
}
