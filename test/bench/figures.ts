// Shared shape of benchmark results: every figure is printed beside a baseline measured in the same run.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** NODE_OPTIONS as the shipped systemd unit sets them, so the bench measures the bot as deployed. */
export function deployedNodeOptions(): string {
  const unit = readFileSync(fileURLToPath(new URL("../../../src/deploy/chatrixcd.service", import.meta.url)), "utf8");
  return /^Environment=NODE_OPTIONS=(.*)$/m.exec(unit)?.[1]?.trim() ?? "";
}

export interface Figure {
  id: string;
  name: string;
  ours: string;
  baseline: string;
  goal?: string;
  /** Whether the goal was met, when there is one. */
  met?: boolean;
  note?: string;
  raw?: Record<string, unknown>;
}

/** Child benchmark processes print one line per figure with this prefix so the runner can collect them. */
export const FIGURE_PREFIX = "@@figure ";

export function emit(f: Figure): void {
  process.stdout.write(`${FIGURE_PREFIX}${JSON.stringify(f)}\n`);
}

export const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
export const median = (xs: number[]): number => pct(xs, 50);
export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
export const ms = (n: number): string => (Number.isFinite(n) ? (n >= 100 ? `${Math.round(n)} ms` : `${n.toFixed(1)} ms`) : "n/a");
export const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
