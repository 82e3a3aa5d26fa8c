// From an empty directory: `npm pack` (with its lifecycle scripts, in a copy of the project so the running suite's
// dist/ is left alone), `npx ./chatrixcd-<version>.tgz --help`, `npm install <tgz>` into an empty project, then
// --version and the demo headless: it logs the embedded Semaphore URL, answers /healthz and /metrics, writes only
// into its state directory, and stops cleanly on SIGTERM. Needs the npm registry (dependencies); ~20-40 s.
import test from "ava";
import { execFile, spawn } from "node:child_process";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { walk } from "./harness/files.js";
import { httpRequest } from "./harness/http-request.js";

const exec = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; version: string; bin: Record<string, string> };

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !k.startsWith("CHATRIXCD_")));
  return { ...env, ...extra };
}

async function sh(cmd: string, args: string[], cwd: string, env = cleanEnv()): Promise<string> {
  try {
    const { stdout } = await exec(cmd, args, { cwd, env, maxBuffer: 32 << 20, timeout: 180_000 });
    return stdout;
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}: ${x.message}\n${x.stdout ?? ""}\n${x.stderr ?? ""}`);
  }
}

const get = (url: string) => httpRequest(url);

test("npm pack -> npx --help in an empty directory -> npm install -> --version and the demo headless", async (t) => {
  t.timeout(300_000);
  const work = mkdtempSync(join(tmpdir(), "chatrixcd-pack-"));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));

  // 1. A copy of the project (sources, not build output), packed with its real lifecycle scripts.
  const proj = join(work, "project");
  mkdirSync(proj);
  for (const f of ["package.json", "package-lock.json", ".npmrc", "tsconfig.json", "src", "screens", "README.md", "chatrixcd.ini.example"])
    cpSync(join(root, f), join(proj, f), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(proj, "node_modules"));
  mkdirSync(join(proj, "dist/src/stale"), { recursive: true });
  cpSync(join(root, "package.json"), join(proj, "dist/src/stale/leftover.js")); // prepack must clean old output
  const out = join(work, "out");
  mkdirSync(out);
  await sh("npm", ["pack", "--pack-destination", out], proj);
  const tgzName = `${pkg.name}-${pkg.version}.tgz`;
  t.deepEqual(readdirSync(out), [tgzName]);
  const tgz = join(out, tgzName);

  const listing = (await sh("tar", ["tzf", tgz], work))
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ""));
  const unexpected = listing.filter(
    (f) => !/^dist\/(src|screens)\/.+\.js$/.test(f) && !["package.json", "README.md", "chatrixcd.ini.example", "src/deploy/chatrixcd.service"].includes(f),
  );
  t.deepEqual(unexpected, [], "only compiled code, the example config, README and the unit");
  t.false(listing.includes("dist/src/stale/leftover.js"), "prepack cleaned old build output");
  for (const need of ["dist/screens/main.js", "dist/src/app.js", "dist/src/http/server.js", "dist/src/emulator/index.js", "src/deploy/chatrixcd.service"])
    t.true(listing.includes(need), need);

  // 2. The recipe: npx on the tarball from an empty directory.
  const empty = join(work, "empty");
  mkdirSync(empty);
  cpSync(tgz, join(empty, tgzName));
  const help = await sh("npx", ["--yes", `./${tgzName}`, "--help"], empty);
  t.regex(help, new RegExp(`^chatrixcd ${pkg.version.replace(/\./g, "\\.")}: [\\s\\S]*--headless`));

  // 3. Installed into an empty project.
  const app = join(work, "app");
  mkdirSync(app);
  await sh("npm", ["init", "-y"], app);
  await sh("npm", ["install", "--no-audit", "--no-fund", tgz], app);
  t.is((await sh("npx", ["chatrixcd", "--version"], app)).split("\n")[0], pkg.version); // the paths follow on the next lines
  const bin = join(app, "node_modules/.bin/chatrixcd");
  t.true(lstatSync(bin).isSymbolicLink());
  const target = realpathSync(bin);
  t.is(relative(join(app, "node_modules/chatrixcd"), target), pkg.bin.chatrixcd!);
  t.true((statSync(target).mode & 0o111) !== 0, "the bin is executable");
  t.true(readFileSync(target, "utf8").startsWith("#!/usr/bin/env node\n"));
  t.false(readdirSync(join(app, "node_modules")).includes("typescript"), "no dev dependencies installed");

  // 4. The demo, headless, from another empty directory.
  const runDir = join(work, "run");
  const stateDir = join(runDir, "state");
  mkdirSync(runDir);
  const child = spawn(bin, ["--demo", "--headless"], {
    cwd: runDir,
    env: cleanEnv({ CHATRIXCD_BOT_STATE_DIR: stateDir, CHATRIXCD_BOT_HTTP_LISTEN: "127.0.0.1:0" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const waitFor = async (re: RegExp, ms = 30_000): Promise<RegExpExecArray> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(log);
      if (m) return m;
      if (child.exitCode !== null || Date.now() > end) throw new Error(`no ${re} in the log (exit ${child.exitCode}):\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const semaphoreUrl = (await waitFor(/demo: embedded Semaphore-compatible server on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  await waitFor(/running headless on the embedded demo/);
  const httpUrl = (await waitFor(/health and metrics on (http:\/\/127\.0\.0\.1:\d+)\/healthz/))[1]!;
  t.is((await get(`${semaphoreUrl}/api/ping`)).body, "pong");
  let health = await get(`${httpUrl}/healthz`);
  for (let i = 0; i < 100 && health.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    health = await get(`${httpUrl}/healthz`);
  }
  t.is(health.status, 200, health.body);
  const metrics = await get(`${httpUrl}/metrics`);
  t.regex(metrics.body, new RegExp(`^chatrixcd_build_info\\{version="${pkg.version.replace(/\./g, "\\.")}",nodejs="v[\\d.]+"\\} 1$`, "m"));

  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const { code, signal } = await Promise.race([
    exited,
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`no exit 15 s after SIGTERM:\n${log}`)), 15_000);
    }),
  ]);
  clearTimeout(timer);
  t.is(signal, null);
  t.is(code, 0, log);
  t.regex(log, /shutting down/);
  t.notRegex(log, /\b(ERROR|unhandled)\b/, "no errors on the way");
  const strays = walk(runDir).filter((f) => !f.startsWith("state/"));
  t.deepEqual(strays, [], "everything the bot wrote is inside its state directory");
  t.true(walk(stateDir).includes("tracked-tasks.json"));
});
