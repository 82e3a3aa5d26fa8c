// `npm test` = `tsc -p . && node dist/test/run-tests.js [ava args]`
//
// 1. Starts a real Synapse (test/harness/synapse.ts) and exports CHATRIXCD_TEST_SYNAPSE_* to ava.
//    CI=true: Synapse must start, else exit 1. Otherwise a loud warning and
//    CHATRIXCD_TEST_SYNAPSE=skip, so integration tests (synapseTest) skip.
// 2. Runs ava (stdio passed through, stdout also parsed).
// 3. Stops Synapse, also on SIGINT/SIGTERM/SIGHUP and on errors.
// 4. Last line: `tests: N passed, M failed[, K skipped]`; exit code = ava's.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { cleanStaleDataDirs, ENV, isCI, SKIP_MARKER, startSynapse, synapseEnv, type SynapseHandle } from "./harness/synapse.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let synapse: SynapseHandle | null = null;
let ava: ChildProcess | null = null;

function loud(lines: string[]): void {
  const bar = "!".repeat(78);
  process.stderr.write(`\n${bar}\n${lines.map((l) => `!!  ${l}`).join("\n")}\n${bar}\n\n`);
}

async function stopSynapse(keepData: boolean): Promise<void> {
  const s = synapse;
  synapse = null;
  if (!s) return;
  try {
    await s.stop({ keepData });
    if (keepData) process.stderr.write(`synapse: data and log kept for debugging: ${s.logPath}\n`);
  } catch (e) {
    process.stderr.write(`synapse: stop failed: ${(e as Error).message}\n`);
  }
}

let interrupted: { sig: NodeJS.Signals; code: number } | null = null;

/** Stop ava gracefully; main() then stops Synapse and prints the summary. */
function onSignal(sig: NodeJS.Signals, code: number): void {
  if (interrupted) return;
  interrupted = { sig, code };
  process.stderr.write(`\nrun-tests: ${sig}, stopping ava and Synapse...\n`);
  const child = ava;
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGINT"); // ava stops its workers
    setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
  } else {
    // Not running tests (yet or any more): clean up and leave now. A Synapse still starting
    // is killed by the harness' exit hook.
    void stopSynapse(false).then(() => process.exit(code));
  }
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  synapseSkipped: number;
}

/** Counts from ava's default reporter (or TAP with --tap). */
export function parseAvaOutput(raw: string): Counts {
  const text = raw.replace(ANSI, "");
  const num = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : 0;
  };
  const lines = text.split(/\r?\n/);
  const synapseSkipped = lines.filter((l) => /^\s*(- \[skip\]|ok \d+ .*# SKIP)/.test(l) && l.includes(SKIP_MARKER)).length;
  if (/^# pass \d+/m.test(text) || /^TAP version/m.test(text)) {
    return {
      passed: num(/^# pass (\d+)/m),
      failed: num(/^# fail (\d+)/m),
      skipped: num(/^# skip (\d+)/m),
      synapseSkipped,
    };
  }
  // The summary omits "N tests passed" when something failed: count the ✔ lines instead.
  const passed = lines.filter((l) => /^\s*✔ /.test(l)).length;
  const failed =
    num(/^\s*(\d+) tests? failed/m) +
    num(/^\s*(\d+) hooks? failed/m) +
    num(/^\s*(\d+) uncaught exceptions?/m) +
    num(/^\s*(\d+) unhandled rejections?/m) +
    num(/^\s*(\d+) tests? remained pending after a timeout/m);
  return { passed, failed, skipped: num(/^\s*(\d+) tests? skipped/m), synapseSkipped };
}

function avaCommand(args: string[]): [string, string[]] {
  const bin = path.join(root, "node_modules/.bin/ava");
  if (fs.existsSync(bin)) return [bin, args];
  return ["npx", ["ava", ...args]];
}

async function main(): Promise<number> {
  const avaArgs = process.argv.slice(2);
  const ci = isCI();
  const env: NodeJS.ProcessEnv = { ...process.env };
  let skipReason: string | null = null;

  if (!ci && process.env[ENV.STATE] === "skip") {
    skipReason = `${ENV.STATE}=skip was set`;
  } else if (process.getuid?.() !== 0) {
    skipReason = "not running as root (Synapse runs in a chroot)";
  } else {
    const t0 = Date.now();
    try {
      synapse = await startSynapse();
      process.stderr.write(`synapse: ready on ${synapse.url} in ${Date.now() - t0} ms (log: ${synapse.logPath})\n`);
    } catch (e) {
      skipReason = (e as Error).message;
    }
  }

  if (synapse) {
    Object.assign(env, synapseEnv(synapse));
    delete env[ENV.SKIP_REASON];
  } else if (ci) {
    loud([
      "CI=true but the Synapse homeserver could not be started.",
      "Integration tests must not be skipped in CI. Reason:",
      ...String(skipReason).split("\n").slice(0, 40),
    ]);
    console.log("tests: 0 passed, 1 failed");
    return 1;
  } else {
    loud([
      "NO SYNAPSE: integration tests against a real homeserver will be SKIPPED.",
      `Reason: ${String(skipReason).split("\n")[0]}`,
      "Needs root and debootstrap (see test/synapse/provision.sh). With CI=true this is an error.",
    ]);
    env[ENV.STATE] = "skip";
    env[ENV.SKIP_REASON] = String(skipReason).split("\n")[0];
  }

  // Keep colours when a human is watching, though stdout becomes a pipe for ava.
  if (process.stdout.isTTY && env.FORCE_COLOR === undefined && env.NO_COLOR === undefined) env.FORCE_COLOR = "1";

  const [cmd, args] = avaCommand(avaArgs);
  const t0 = Date.now();
  let output = "";
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ["inherit", "pipe", "inherit"] });
    ava = child;
    child.stdout!.on("data", (d: Buffer) => {
      process.stdout.write(d);
      output += d.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  ava = null;
  const stoppedBy = interrupted as { sig: NodeJS.Signals; code: number } | null;
  const elapsed = ((Date.now() - t0) / 1000).toFixed(1);

  await stopSynapse(code !== 0 && !stoppedBy);
  if (process.getuid?.() === 0) cleanStaleDataDirs(); // private servers of killed ava workers

  const counts = parseAvaOutput(output);
  if (code !== 0 && counts.failed === 0) {
    // ava failed without a countable test failure (bad arguments, no test files, crash...).
    counts.failed = 1;
    if (!stoppedBy) process.stderr.write(`run-tests: ava exited with code ${code}\n`);
  }
  if (counts.synapseSkipped > 0) {
    loud([`${counts.synapseSkipped} test(s) SKIPPED because Synapse was not available (${skipReason?.split("\n")[0]}).`]);
  }
  process.stderr.write(`ava finished in ${elapsed} s${stoppedBy ? ` (interrupted by ${stoppedBy.sig})` : ""}\n`);
  console.log(`tests: ${counts.passed} passed, ${counts.failed} failed` + (counts.skipped > 0 ? `, ${counts.skipped} skipped` : ""));
  return stoppedBy ? stoppedBy.code : code;
}

process.on("SIGINT", () => onSignal("SIGINT", 130));
process.on("SIGTERM", () => onSignal("SIGTERM", 143));
process.on("SIGHUP", () => onSignal("SIGHUP", 129));

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    process.stderr.write(`run-tests: ${(err as Error)?.stack ?? String(err)}\n`);
    await stopSynapse(true);
    console.log("tests: 0 passed, 1 failed");
    process.exitCode = 1;
  },
);
