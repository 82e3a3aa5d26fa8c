// The benchmark's side of soak-probe.ts: ask a probed process for a sample (SIGUSR2) and read it back.
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL, fileURLToPath } from "node:url";
import { sleep } from "./figures.js";
import type { ProbeSample } from "./soak-probe.js";

/** `node --import <this> …` preloads the probe. */
export const PROBE_URL = pathToFileURL(fileURLToPath(new URL("./soak-probe.js", import.meta.url))).href;

export interface Probed {
  proc: ChildProcess;
  file: string;
  samples: number;
}

/** SIGUSR2 to every probed process at the same moment; resolves with each one's sample of the interval just ended. */
export async function takeSamples(ps: Probed[], timeoutMs = 30_000): Promise<ProbeSample[]> {
  for (const p of ps) p.proc.kill("SIGUSR2");
  const out: ProbeSample[] = [];
  for (const p of ps) {
    const want = ++p.samples;
    const end = performance.now() + timeoutMs;
    for (;;) {
      const lines = existsSync(p.file) ? readFileSync(p.file, "utf8").trim().split("\n").filter(Boolean) : [];
      if (lines.length >= want) {
        out.push(JSON.parse(lines[want - 1]!) as ProbeSample);
        break;
      }
      if (performance.now() > end)
        throw new Error(`no probe sample from pid ${p.proc.pid} in ${timeoutMs / 1000} s (was it started with --import soak-probe.js and SOAK_PROBE_FILE?)`);
      await sleep(50);
    }
  }
  return out;
}
