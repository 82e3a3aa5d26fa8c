// The demo (`npm start` without a config file) keeps its state with its embedded Semaphore: a temp dir removed at
// exit, so a second start shows no ghost tasks from the first one's server.
import test from "ava";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../screens/main.js", import.meta.url));

async function runDemoOnce(cwd: string): Promise<{ out: string; code: number | null }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CHATRIXCD_")) env[k] = v;
  const p = spawn(process.execPath, [MAIN, "--demo", "--headless"], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise<number | null>((r) => p.on("exit", (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not come up:\n${out}`)), 30_000);
    const seen = (d: Buffer) => {
      out += d.toString();
      if (/running headless/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    p.stdout.on("data", seen);
    p.stderr.on("data", seen);
  });
  p.kill("SIGTERM");
  return { out, code: await exited };
}

test("the demo's state lives in a temp dir that is removed at exit, not in ./.chatrixcd-state", async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), "chatrixcd-demo-cwd-"));
  try {
    const { out, code } = await runDemoOnce(cwd);
    t.is(code, 0);
    t.false(existsSync(join(cwd, ".chatrixcd-state")), "nothing is left in the working directory");
    const dir = /demo: state in (\S+) \(removed at exit\)/.exec(out)?.[1];
    t.truthy(dir, out);
    t.false(existsSync(dir!), "the demo's state dir is gone after exit");
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
