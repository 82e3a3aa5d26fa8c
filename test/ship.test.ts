// Shipping, without network: what the npm package holds, the systemd unit (keys, hardening, every written path
// inside StateDirectory, `systemd-analyze verify`), and the Dockerfile (every COPY source in the build context,
// headless entry point, state volume, and a simulated build of exactly what it copies). The slow end-to-end
// pack -> install -> run is test/ship-pack.test.ts.
import test from "ava";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadConfig, formatIssue } from "../src/config/load.js";
import { runCli } from "../src/cli/main.js";
import { VERSION } from "../src/version.js";
import { walk } from "./harness/files.js";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const NODE_LTS = readFileSync(join(root, ".node-version"), "utf8").trim();
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
  files: string[];
  engines: { node: string };
};
const UNIT = join(root, "src/deploy/chatrixcd.service");
const DOCKERFILE = join(root, "src/deploy/Dockerfile");
const DOCKERIGNORE = join(root, "src/deploy/Dockerfile.dockerignore");

/** npm's environment from `npm test` must not leak into nested npm commands. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, ...extra };
}

// ---- the npm package ------------------------------------------------------------------------------------------

/** Problems with a package file list: only compiled code, the example config, README and the unit; nothing missing. */
export function packageProblems(files: string[], sources: string[]): string[] {
  const problems: string[] = [];
  const allowed = new Set(["package.json", "README.md", "chatrixcd.ini.example", "src/deploy/chatrixcd.service"]);
  for (const f of files) {
    if (allowed.has(f)) continue;
    if (!/^dist\/(src|screens)\/.+\.js$/.test(f)) problems.push(`${f} does not belong in the package`);
  }
  for (const need of [...allowed, pkg.bin.chatrixcd!]) if (!files.includes(need)) problems.push(`${need} is missing`);
  const compiled = new Set(files.filter((f) => f.endsWith(".js")).map((f) => f.replace(/^dist\//, "").replace(/\.js$/, "")));
  for (const s of sources) if (!compiled.has(s.replace(/\.ts$/, ""))) problems.push(`${s} has no compiled dist/${s.replace(/\.ts$/, ".js")}`);
  const sourceSet = new Set(sources.map((s) => s.replace(/\.ts$/, "")));
  for (const c of compiled) if (!sourceSet.has(c)) problems.push(`dist/${c}.js has no source (stale build output)`);
  return problems;
}

const runtimeSources = () =>
  [...walk(join(root, "src")).map((f) => `src/${f}`), ...walk(join(root, "screens")).map((f) => `screens/${f}`)].filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".d.ts"),
  );

test("--version prints package.json's version; --help names the program", async (t) => {
  let out = "";
  t.is(await runCli(["--version"], {}, { out: (s) => (out += s), err: () => undefined }), 0);
  // The bare version first (scripts read it), then the paths a run would use.
  t.is(out.split("\n")[0], pkg.version);
  t.regex(out, /\nConfig file: .*\nState dir: .*\nLog file: .*\nAudit file: .*\n$/);
  t.is(VERSION, pkg.version);
  out = "";
  t.is(await runCli(["--help"], {}, { out: (s) => (out += s), err: () => undefined }), 0);
  t.regex(out, new RegExp(`^chatrixcd ${pkg.version.replace(/\./g, "\\.")}: .*\\n[\\s\\S]*--headless`));
});

test("the package's file list holds only what runs (npm pack --dry-run)", async (t) => {
  const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, env: cleanEnv(), maxBuffer: 16 << 20 });
  const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  t.deepEqual(packageProblems(files, runtimeSources()), []);
  // The check can fail:
  const extra = packageProblems([...files, "dist/src/app.js.map", "test/http.test.ts", "dist/test/http.test.js"], runtimeSources()).join("\n");
  for (const f of ["dist/src/app.js.map", "test/http.test.ts", "dist/test/http.test.js"]) t.true(extra.includes(`${f} does not belong`), f);
  t.regex(
    packageProblems(
      files.filter((f) => f !== "dist/screens/main.js"),
      runtimeSources(),
    ).join("\n"),
    /main\.js is missing/,
  );
  t.regex(packageProblems([...files, "dist/src/gone.js"], runtimeSources()).join("\n"), /stale/);
  t.true(pkg.files.includes("src/deploy/chatrixcd.service"), "the unit ships");
});

test("the bin is the built entry point with a node shebang", (t) => {
  const main = readFileSync(join(root, pkg.bin.chatrixcd!), "utf8");
  t.true(main.startsWith("#!/usr/bin/env node\n"));
});

// ---- systemd unit -----------------------------------------------------------------------------------------------

type Unit = Record<string, Array<[string, string]>>;

function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      unit[section] ??= [];
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0 || !section) throw new Error(`cannot parse unit line ${JSON.stringify(line)}`);
    unit[section]!.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

const all = (u: Unit, section: string, key: string) => (u[section] ?? []).filter(([k]) => k === key).map(([, v]) => v);
const last = (u: Unit, section: string, key: string) => all(u, section, key).at(-1);

function unitEnvironment(u: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of all(u, "Service", "Environment")) {
    for (const m of v.matchAll(/"([^"]*)"|(\S+)/g)) {
      const a = m[1] ?? m[2]!;
      const eq = a.indexOf("=");
      if (eq > 0) env[a.slice(0, eq)] = a.slice(eq + 1);
    }
  }
  return env;
}

const inside = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

/**
 * Problems with a unit: the keys it must have, its hardening, and whether every path the bot writes (given the
 * shipped example config in ConfigurationDirectory and the unit's environment) is inside a writable directory.
 */
function unitProblems(text: string, exampleConfig: string): string[] {
  const problems: string[] = [];
  let u: Unit;
  try {
    u = parseUnit(text);
  } catch (e) {
    return [(e as Error).message];
  }
  const exec = last(u, "Service", "ExecStart") ?? "";
  if (!/(^|\s|\/)chatrixcd\s.*--headless\b/.test(exec)) problems.push(`ExecStart must run chatrixcd --headless: ${exec}`);
  const state = last(u, "Service", "StateDirectory");
  const conf = last(u, "Service", "ConfigurationDirectory");
  if (!state) problems.push("StateDirectory= is missing");
  if (!conf) problems.push("ConfigurationDirectory= is missing");
  const configPath = /--config\s+(\S+)/.exec(exec)?.[1];
  if (!configPath || !conf || !inside(configPath, `/etc/${conf}`)) problems.push(`ExecStart must pass --config inside /etc/${conf}: ${exec}`);
  const expect: Record<string, RegExp> = {
    ProtectSystem: /^strict$/,
    NoNewPrivileges: /^yes$/,
    ProtectHome: /^(yes|read-only|tmpfs)$/,
    PrivateTmp: /^yes$/,
    PrivateDevices: /^yes$/,
    ProtectKernelTunables: /^yes$/,
    ProtectKernelModules: /^yes$/,
    ProtectControlGroups: /^yes$/,
    RestrictSUIDSGID: /^yes$/,
    RestrictNamespaces: /^yes$/,
    LockPersonality: /^yes$/,
    CapabilityBoundingSet: /^$/,
    SystemCallFilter: /@system-service/,
    RestrictAddressFamilies: /AF_INET\b.*AF_INET6|AF_INET6.*AF_INET\b/,
    UMask: /^0?077$/,
  };
  for (const [key, re] of Object.entries(expect)) {
    const vals = all(u, "Service", key);
    if (!vals.some((v) => re.test(v))) problems.push(`hardening: ${key}= should match ${re} (has ${vals.length ? vals.join(" | ") : "nothing"})`);
  }
  if (!/^(yes|true)$/.test(last(u, "Service", "DynamicUser") ?? "") && !last(u, "Service", "User")) problems.push("runs as root: set DynamicUser=yes or User=");
  if (last(u, "Service", "MemoryDenyWriteExecute") === "yes") problems.push("MemoryDenyWriteExecute=yes breaks Node's JIT");
  if (!all(u, "Install", "WantedBy").length) problems.push("[Install] WantedBy= is missing");

  // What is writable under ProtectSystem=strict.
  const writable = [
    ...(state ? state.split(/\s+/).map((d) => `/var/lib/${d}`) : []),
    ...all(u, "Service", "LogsDirectory")
      .flatMap((v) => v.split(/\s+/))
      .map((d) => `/var/log/${d}`),
    ...all(u, "Service", "CacheDirectory")
      .flatMap((v) => v.split(/\s+/))
      .map((d) => `/var/cache/${d}`),
    ...all(u, "Service", "RuntimeDirectory")
      .flatMap((v) => v.split(/\s+/))
      .map((d) => `/run/${d}`),
    ...all(u, "Service", "ReadWritePaths")
      .flatMap((v) => v.split(/\s+/))
      .map((p) => p.replace(/^-/, "")),
  ];
  // The example config placed where the unit reads it: a temporary directory stands in for the file system root.
  const fsRoot = mkdtempSync(join(tmpdir(), "chatrixcd-unit-"));
  try {
    const real = configPath ?? `/etc/${conf ?? "chatrixcd"}/chatrixcd.ini`;
    mkdirSync(join(fsRoot, dirname(real)), { recursive: true });
    writeFileSync(join(fsRoot, real), exampleConfig);
    const env = unitEnvironment(u);
    const mapIn = (p: string) => (p.startsWith("/") ? join(fsRoot, p) : p);
    const cfg = loadConfig(join(fsRoot, real), {
      env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, /_(DIR|PATH|FILE)$/.test(k) ? mapIn(v) : v])),
      demo: true,
    });
    const errors = cfg.issues.filter((i) => i.severity === "error");
    if (errors.length) problems.push(`the example config with the unit's environment does not load: ${errors.map(formatIssue).join("; ")}`);
    const out = (p: string) => (inside(p, fsRoot) ? `/${relative(fsRoot, p).split("\\").join("/")}` : p);
    const b = cfg.values.bot;
    const stateDir = out(b.state_dir);
    const written: Record<string, string> = {
      "[bot] state_dir": stateDir,
      "audit log": posix.join(stateDir, "audit.jsonl"),
      "tracked tasks": posix.join(stateDir, "tracked-tasks.json"),
      "[bot] aliases_file": b.aliases_file ? out(b.aliases_file) : posix.join(stateDir, "aliases.json"),
      "[matrix] store_path (session, sync, crypto store)": cfg.values.matrix.store_path ? out(cfg.values.matrix.store_path) : posix.join(stateDir, "matrix"),
      ...(b.log_file ? { "[bot] log_file": out(b.log_file) } : {}),
    };
    for (const [what, p] of Object.entries(written)) {
      if (!writable.some((w) => inside(p, w)))
        problems.push(`${what} = ${p} is not writable under the unit's hardening (writable: ${writable.join(", ") || "nothing"})`);
    }
    const wd = last(u, "Service", "WorkingDirectory");
    if (wd && !writable.some((w) => inside(wd, w))) problems.push(`WorkingDirectory=${wd} is outside the writable directories`);
  } finally {
    rmSync(fsRoot, { recursive: true, force: true });
  }
  return problems;
}

test("systemd unit: headless with StateDirectory/ConfigurationDirectory, hardened, and every written path is writable", (t) => {
  const unit = readFileSync(UNIT, "utf8");
  const example = readFileSync(join(root, "chatrixcd.ini.example"), "utf8");
  t.deepEqual(unitProblems(unit, example), []);

  // The check can fail: each of these breaks the unit.
  const broken: Array<[string, string, RegExp]> = [
    ["no state env", unit.replace(/^Environment=CHATRIXCD_BOT_STATE_DIR=.*$/m, ""), /state_dir = \/etc\/chatrixcd\/\.chatrixcd-state is not writable/],
    [
      "state env elsewhere",
      unit.replace(/^Environment=CHATRIXCD_BOT_STATE_DIR=.*$/m, "Environment=CHATRIXCD_BOT_STATE_DIR=/opt/chatrixcd"),
      /aliases_file = \/opt\/chatrixcd\/aliases\.json is not writable/,
    ],
    [
      "log file outside",
      unit.replace(/^(Environment=NODE_ENV=production)$/m, "$1\nEnvironment=CHATRIXCD_BOT_LOG_FILE=/var/log/chatrixcd.log"),
      /log_file = \/var\/log\/chatrixcd\.log is not writable/,
    ],
    [
      "matrix store outside",
      unit.replace(/^(Environment=NODE_ENV=production)$/m, "$1\nEnvironment=CHATRIXCD_MATRIX_STORE_PATH=/srv/matrix"),
      /store_path .* = \/srv\/matrix is not writable/,
    ],
    ["no StateDirectory", unit.replace(/^StateDirectory=.*$/m, ""), /StateDirectory= is missing/],
    ["no ConfigurationDirectory", unit.replace(/^ConfigurationDirectory=.*$/m, ""), /ConfigurationDirectory= is missing/],
    ["not headless", unit.replace(/^(ExecStart=.*) --headless/m, "$1"), /--headless/],
    ["ProtectSystem=full", unit.replace("ProtectSystem=strict", "ProtectSystem=full"), /ProtectSystem/],
    ["no NoNewPrivileges", unit.replace(/^NoNewPrivileges=yes$/m, ""), /NoNewPrivileges/],
    ["root", unit.replace(/^DynamicUser=yes$/m, ""), /runs as root/],
  ];
  for (const [name, text, re] of broken) t.regex(unitProblems(text, example).join("\n"), re, name);
  // A log file in LogsDirectory is fine.
  t.deepEqual(
    unitProblems(unit.replace(/^(Environment=NODE_ENV=production)$/m, "$1\nEnvironment=CHATRIXCD_BOT_LOG_FILE=/var/log/chatrixcd/chatrixcd.log"), example),
    [],
  );
});

test("systemd unit: systemd-analyze verify finds nothing to complain about", async (t) => {
  const has = await run("systemd-analyze", ["--version"]).then(
    () => true,
    () => false,
  );
  // No skipping: a unit nobody verified is not shipped. Debian: apt install systemd.
  t.true(has, "systemd-analyze is needed to verify the unit (Debian: apt install systemd)");
  const dir = mkdtempSync(join(tmpdir(), "chatrixcd-unit-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The installed binary does not exist here: point ExecStart at node so verify checks everything else.
  const check = async (text: string) => {
    writeFileSync(join(dir, "chatrixcd.service"), text.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
    const r = await run("systemd-analyze", ["verify", "--man=no", join(dir, "chatrixcd.service")]).then(
      (x) => ({ ...x, code: 0 }),
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    return `${r.stdout}${r.stderr}`.trim();
  };
  t.is(await check(readFileSync(UNIT, "utf8")), "");
  t.regex(await check(readFileSync(UNIT, "utf8").replace("ProtectSystem=strict", "ProtectSytem=strict")), /Unknown key/, "verify would notice a typo");
});

// ---- Dockerfile -------------------------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
  line: number;
}

function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const start = i + 1;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, " ");
      i++;
      if (/^\s*#/.test(lines[i]!)) continue;
      line += lines[i]!;
    }
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(line)}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  }
  return out;
}

/** Arguments of COPY/ENTRYPOINT/CMD/VOLUME: the JSON (exec) form or whitespace-separated words; flags apart. */
function words(args: string): { flags: Record<string, string>; words: string[] } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m; (m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest)); rest = rest.slice(m[0].length)) flags[m[1]!] = m[2] ?? "";
  if (rest.startsWith("[")) return { flags, words: JSON.parse(rest) as string[] };
  return { flags, words: rest.split(/\s+/).filter(Boolean) };
}

function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Docker's .dockerignore rules: last matching pattern wins; a pattern matching a directory matches what is in it. */
function ignoredBy(patterns: string[]): (path: string) => boolean {
  const rules = patterns
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith("#"))
    .map((p) => {
      const negate = p.startsWith("!");
      const clean = posix.normalize(p.replace(/^!/, "").replace(/^\/+/, "")).replace(/\/+$/, "");
      return { negate, re: globToRegExp(clean) };
    });
  return (path) => {
    const parts = path.split("/");
    let ignored = false;
    for (const r of rules) {
      for (let n = 1; n <= parts.length; n++)
        if (r.re.test(parts.slice(0, n).join("/"))) {
          ignored = !r.negate;
          break;
        }
    }
    return ignored;
  };
}

/** The build context as Docker would send it: repo files minus the ignore file's exclusions. */
function buildContext(ignore: (p: string) => boolean): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (["node_modules", ".git", "dist"].includes(p)) {
          if (!ignore(p)) out.push(`${p}/`);
          continue;
        }
        visit(p);
      } else if (!ignore(p)) out.push(p);
    }
  };
  visit("");
  return out;
}

function dockerfileProblems(text: string, ignoreText: string): string[] {
  const problems: string[] = [];
  let ins: Instruction[];
  try {
    ins = parseDockerfile(text);
  } catch (e) {
    return [(e as Error).message];
  }
  const ignore = ignoredBy(ignoreText.split("\n"));
  const context = buildContext(ignore);
  for (const leaked of context.filter((p) => /(^|\/)(node_modules|\.git|dist)\/$|(^|\/)chatrixcd\.ini$|\.tgz$|^test\//.test(p)))
    problems.push(`the build context would include ${leaked}`);
  const froms = ins.filter((i) => i.op === "FROM");
  if (froms.length === 0) problems.push("no FROM");
  const finalStart = ins.lastIndexOf(froms.at(-1)!);
  const final = ins.slice(finalStart);
  // Every stage runs the Node that CI tests on (.node-version), so the image is what was tested.
  for (const f of froms) {
    const version = /node:([\d.]+)/.exec(f.args)?.[1];
    if (version !== NODE_LTS) problems.push(`line ${f.line}: base image ${f.args} is not the tested Node ${NODE_LTS} (.node-version)`);
  }
  for (const i of ins.filter((x) => x.op === "COPY" || x.op === "ADD")) {
    const { flags, words: w } = words(i.args);
    if (flags.from !== undefined) continue;
    for (const src of w.slice(0, -1)) {
      const clean = posix.normalize(src).replace(/\/+$/, "");
      if (clean === "." || clean.includes("*")) {
        problems.push(`line ${i.line}: COPY ${src} copies more than it names`);
        continue;
      }
      if (!existsSync(join(root, clean))) problems.push(`line ${i.line}: COPY source ${src} does not exist in the repository`);
      else if (ignore(clean) && !(statSync(join(root, clean)).isDirectory() && context.some((p) => p.startsWith(`${clean}/`))))
        problems.push(`line ${i.line}: COPY source ${src} is excluded by the .dockerignore`);
    }
  }
  const entry = final.filter((i) => i.op === "ENTRYPOINT").at(-1);
  const cmd = final.filter((i) => i.op === "CMD").at(-1);
  const argv = [...(entry ? words(entry.args).words : []), ...(cmd ? words(cmd.args).words : [])];
  if (!entry || !entry.args.startsWith("[")) problems.push("ENTRYPOINT should be in exec form, so signals reach the bot");
  if (!argv.includes("--headless")) problems.push(`the container must run headless: ${argv.join(" ")}`);
  if (!/chatrixcd|dist\/screens\/main\.js/.test(argv.slice(0, 2).join(" "))) problems.push(`the entry point does not run chatrixcd: ${argv.join(" ")}`);
  const env: Record<string, string> = {};
  for (const i of final.filter((x) => x.op === "ENV")) for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, "");
  const volumes = final.filter((i) => i.op === "VOLUME").flatMap((i) => words(i.args).words);
  const stateDir = env.CHATRIXCD_BOT_STATE_DIR;
  if (!stateDir) problems.push("ENV CHATRIXCD_BOT_STATE_DIR is not set: state would be written next to the config");
  else if (!volumes.includes(stateDir)) problems.push(`the state directory ${stateDir} is not a VOLUME (${volumes.join(", ")})`);
  if (!/--config\s+\/\S+|"--config",\s*"\//.test(`${argv.join(" ")}`)) problems.push("the config path is not given (--config /config/chatrixcd.ini)");
  const user = final.filter((i) => i.op === "USER").at(-1)?.args;
  if (!user || user === "root" || user === "0") problems.push("the runtime stage runs as root");
  return problems;
}

test("Dockerfile: every COPY source is in the build context, it runs headless as a non-root user, state is a volume", (t) => {
  const text = readFileSync(DOCKERFILE, "utf8");
  const ignore = readFileSync(DOCKERIGNORE, "utf8");
  t.deepEqual(dockerfileProblems(text, ignore), []);
  // The check can fail:
  t.regex(dockerfileProblems(text.replace('["chatrixcd", "--headless"]', '["chatrixcd"]'), ignore).join("\n"), /headless/);
  t.regex(dockerfileProblems(text.replace("COPY screens ./screens", "COPY screenz ./screens"), ignore).join("\n"), /screenz does not exist/);
  t.regex(dockerfileProblems(text, ignore.replace("!screens\n", "")).join("\n"), /screens is excluded/);
  t.regex(dockerfileProblems(text, ignore.replace(/^\*$/m, "")).join("\n"), /would include (node_modules|test\/)/);
  t.regex(dockerfileProblems(text.replace('VOLUME ["/data"]', ""), ignore).join("\n"), /not a VOLUME/);
  t.regex(dockerfileProblems(text.replace(/^USER node$/m, ""), ignore).join("\n"), /root/);
  t.regex(dockerfileProblems(text.replace(`node:${NODE_LTS}-`, "node:20-"), ignore).join("\n"), /not the tested Node/);
});

test("Dockerfile: a simulated build of exactly what it copies compiles and runs --version", async (t) => {
  // Stage 1 as Docker would do it: the context (ignore file applied), then only the COPYed paths, then tsc
  // (node_modules from the repo stands in for `npm ci`).
  const ins = parseDockerfile(readFileSync(DOCKERFILE, "utf8"));
  const ignore = ignoredBy(readFileSync(DOCKERIGNORE, "utf8").split("\n"));
  const context = buildContext(ignore);
  const stages: Instruction[][] = [];
  for (const i of ins) {
    if (i.op === "FROM") stages.push([]);
    stages.at(-1)!.push(i);
  }
  const [build, runtime] = [stages[0]!, stages.at(-1)!];
  const dir = mkdtempSync(join(tmpdir(), "chatrixcd-docker-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stageDir = (name: string) => join(dir, name);
  const copyFromContext = (into: string, src: string, dest: string, workdir: string) => {
    const clean = posix.normalize(src).replace(/\/+$/, "");
    const files = context.filter((p) => p === clean || p.startsWith(`${clean}/`));
    t.true(files.length > 0, `${src} is in the build context`);
    const target = dest.endsWith("/") || dest === "." || dest === "./" ? join(into, workdir, dest, posix.basename(clean)) : join(into, workdir, dest);
    for (const f of files) {
      const to =
        f === clean ? (dest.endsWith("/") || dest === "./" ? join(into, workdir, dest, posix.basename(f)) : target) : join(target, f.slice(clean.length + 1));
      mkdirSync(dirname(to), { recursive: true });
      cpSync(join(root, f), to);
    }
  };
  const apply = (stage: Instruction[], name: string, from: Record<string, string>) => {
    let workdir = "/";
    let appDir = "/";
    for (const i of stage) {
      if (i.op === "WORKDIR") workdir = posix.resolve(workdir, i.args);
      if (i.op !== "COPY") continue;
      const { flags, words: w } = words(i.args);
      const dest = w.at(-1)!;
      appDir = workdir;
      for (const src of w.slice(0, -1)) {
        if (flags.from) {
          const fromPath = join(from[flags.from]!, src);
          t.true(existsSync(fromPath), `COPY --from=${flags.from} ${src}: the build stage produced it`);
          cpSync(fromPath, join(stageDir(name), posix.resolve(workdir, dest)), { recursive: true });
        } else copyFromContext(stageDir(name), src, dest, workdir);
      }
    }
    return join(stageDir(name), appDir); // where the program was put
  };
  const buildWork = apply(build, "build", {});
  symlinkSync(join(root, "node_modules"), join(buildWork, "node_modules"));
  const tsc = await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "."], { cwd: buildWork }).then(
    () => "",
    (e: { stdout: string }) => e.stdout,
  );
  t.is(tsc, "", "the build stage compiles with only what it copied");
  t.true(existsSync(join(buildWork, "dist/screens/main.js")));
  const buildFrom = { build: join(stageDir("build"), "/") };
  const runtimeWork = apply(runtime, "runtime", buildFrom);
  symlinkSync(join(root, "node_modules"), join(runtimeWork, "node_modules"));
  const { stdout } = await run(process.execPath, [join(runtimeWork, "dist/screens/main.js"), "--version"], { cwd: dir });
  t.is(stdout.split("\n")[0], pkg.version);
  t.regex(stdout, /\nState dir: /);
  t.true(existsSync(join(runtimeWork, "chatrixcd.ini.example")));
  t.false(existsSync(join(runtimeWork, "src")), "no sources in the runtime image");
});
