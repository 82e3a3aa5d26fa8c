// Control a real Synapse homeserver (Debian sid package in a debootstrap chroot) from Node.
//
// - startSynapse(): provisions the chroot if needed (test/synapse/provision.sh), creates a fresh
//   data dir /srv/chatrixcd-<port> inside the chroot, writes the config and starts Synapse.
// - connectToRunning(): the Synapse started by test/run-tests.ts, described by env vars.
//
// /proc: Synapse runs in a private mount namespace (`unshare --mount`) in which /proc is
// bind-mounted into the chroot. The mount is never visible on the host and disappears with the
// Synapse process, so nothing can be left mounted, and concurrent servers never double-mount.
// Synapse also gets PDEATHSIG=SIGTERM (setpriv): if the Node process that started it dies, it stops.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const SYNAPSE_ROOT = process.env.CHATRIXCD_SYNAPSE_ROOT ?? "/var/cache/chatrixcd/synapse-sid";
export const SERVER_NAME = "localhost";
/** Only used on 127.0.0.1-bound test servers. */
export const DEFAULT_SHARED_SECRET = "chatrixcd-test-registration-secret";

/** Env vars through which the runner hands its Synapse to ava worker processes. */
export const ENV = {
  /** "1" when the runner started Synapse, "skip" when integration tests must skip. */
  STATE: "CHATRIXCD_TEST_SYNAPSE",
  URL: "CHATRIXCD_TEST_SYNAPSE_URL",
  PORT: "CHATRIXCD_TEST_SYNAPSE_PORT",
  SECRET: "CHATRIXCD_TEST_SYNAPSE_SECRET",
  PID: "CHATRIXCD_TEST_SYNAPSE_PID",
  SERVER_NAME: "CHATRIXCD_TEST_SYNAPSE_SERVER_NAME",
  LOG: "CHATRIXCD_TEST_SYNAPSE_LOG",
  DATA_DIR: "CHATRIXCD_TEST_SYNAPSE_DATA_DIR",
  /** Why Synapse is unavailable (set with STATE=skip). */
  SKIP_REASON: "CHATRIXCD_TEST_SYNAPSE_SKIP_REASON",
} as const;

export interface StartOptions {
  /** Fixed port; default: a free port on 127.0.0.1. */
  port?: number;
  /** Keep Synapse's default rate limits (for M_LIMIT_EXCEEDED tests). Default: relaxed. */
  realRateLimits?: boolean;
  /** Top-level Synapse config keys, applied last (e.g. matrix_authentication_service). */
  extraConfig?: Record<string, unknown>;
  /** Readiness timeout in ms (default 60 000). */
  startTimeoutMs?: number;
}

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
}

export interface SynapseHandle {
  /** Base URL, e.g. http://127.0.0.1:43123 */
  readonly url: string;
  readonly port: number;
  readonly serverName: string;
  /** PID of the Synapse python process (changes on restart). */
  readonly pid: number;
  /** Host path of Synapse's log file (WARNING level). */
  readonly logPath: string;
  /** Host path of the data dir (in the chroot: /srv/chatrixcd-<port>). */
  readonly dataDir: string;
  readonly sharedSecret: string;
  /** false for the runner's server seen through connectToRunning(). */
  readonly owned: boolean;
  /** Register through the shared-secret admin API (nonce + HMAC-SHA1). Retries on 429. */
  registerUser(localpart: string, password: string, admin?: boolean): Promise<RegisteredUser>;
  /** SIGSTOP the server (requests hang, as with a frozen homeserver). */
  pause(): void;
  /** SIGCONT the server. */
  resume(): void;
  /** Stop and start again on the same port with the same data. Only for owned servers. */
  restart(): Promise<void>;
  /** SIGTERM, SIGKILL after 10 s; removes the data dir unless keepData. No-op if not owned. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

// ---------------------------------------------------------------------------------------------

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("synapse harness: cannot find the repository root");
    dir = up;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function tail(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, "utf8");
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return `(no ${file})`;
  }
}

function isProvisioned(): boolean {
  try {
    const stamp = fs.readFileSync(path.join(SYNAPSE_ROOT, ".chatrixcd-ready"), "utf8");
    const tmpl = fs.readFileSync(path.join(SYNAPSE_ROOT, "srv/chatrixcd-template/.ready"), "utf8");
    return stamp === tmpl;
  } catch {
    return false;
  }
}

/** Runs test/synapse/provision.sh unless the chroot and config template are already there. */
export async function ensureProvisioned(): Promise<void> {
  if (isProvisioned()) return;
  const script = path.join(repoRoot(), "test/synapse/provision.sh");
  const out: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const p = spawn("bash", [script], { stdio: ["ignore", "pipe", "pipe"] });
    p.stdout.on("data", (d: Buffer) => out.push(d.toString()));
    p.stderr.on("data", (d: Buffer) => {
      out.push(d.toString());
      process.stderr.write(d);
    });
    p.on("error", reject);
    p.on("exit", (c) => resolve(c));
  });
  if (code !== 0 || !isProvisioned()) {
    throw new Error(`provision.sh failed (exit ${code}):\n${out.join("").slice(-3000)}`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Remove data dirs of earlier runs whose owner process is gone (crashed runs, killed workers). */
export function cleanStaleDataDirs(): void {
  const srv = path.join(SYNAPSE_ROOT, "srv");
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(srv);
  } catch {
    return;
  }
  for (const name of entries) {
    if (!/^chatrixcd-\d+$/.test(name)) continue;
    const dir = path.join(srv, name);
    const pids: number[] = [];
    for (const f of ["owner.pid", "homeserver.pid"]) {
      try {
        pids.push(Number(fs.readFileSync(path.join(dir, f), "utf8").trim()));
      } catch {
        /* missing */
      }
    }
    if (pids.length === 0) {
      // Being created right now by someone else? Only remove if it is old.
      try {
        if (Date.now() - fs.statSync(dir).mtimeMs < 120_000) continue;
      } catch {
        continue;
      }
    }
    if (pids.some((p) => p > 0 && pidAlive(p))) continue;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const RELAXED = { per_second: 1000, burst_count: 10000 };
const RELAXED_RATE_LIMITS = {
  rc_message: RELAXED,
  rc_registration: RELAXED,
  rc_registration_token_validity: RELAXED,
  rc_login: { address: RELAXED, account: RELAXED, failed_attempts: RELAXED },
  rc_admin_redaction: RELAXED,
  rc_joins: { local: RELAXED, remote: RELAXED },
  rc_joins_per_room: RELAXED,
  rc_3pid_validation: RELAXED,
  rc_invites: { per_room: RELAXED, per_user: RELAXED, per_issuer: RELAXED },
  rc_third_party_invite: RELAXED,
  rc_room_creation: RELAXED,
  rc_media_create: RELAXED,
  rc_presence: { per_user: RELAXED },
  rc_delayed_event_mgmt: RELAXED,
  rc_reports: RELAXED,
  rc_user_directory: RELAXED,
  rc_key_requests: RELAXED,
};

function supportsLoginViaExistingSession(): boolean {
  try {
    const src = fs.readFileSync(path.join(SYNAPSE_ROOT, "usr/lib/python3/dist-packages/synapse/config/auth.py"), "utf8");
    return src.includes("login_via_existing_session");
  } catch {
    return false;
  }
}

/** Writes the per-run config files. JSON is valid YAML; test.yaml shallowly overrides base.yaml. */
function writeConfig(
  hostDir: string,
  chrootDir: string,
  port: number,
  secret: string,
  realRateLimits: boolean,
  extraConfig: Record<string, unknown> = {},
): void {
  const tmpl = path.join(SYNAPSE_ROOT, "srv/chatrixcd-template");
  fs.copyFileSync(path.join(tmpl, "homeserver.yaml"), path.join(hostDir, "base.yaml"));
  fs.copyFileSync(path.join(tmpl, `${SERVER_NAME}.signing.key`), path.join(hostDir, "signing.key"));
  const logConfig = {
    version: 1,
    formatters: { precise: { format: "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s" } },
    handlers: { file: { class: "logging.FileHandler", formatter: "precise", filename: `${chrootDir}/homeserver.log`, encoding: "utf8" } },
    root: { level: "WARNING", handlers: ["file"] },
    disable_existing_loggers: false,
  };
  fs.writeFileSync(path.join(hostDir, "log.config"), JSON.stringify(logConfig, null, 2));
  const config: Record<string, unknown> = {
    server_name: SERVER_NAME,
    pid_file: `${chrootDir}/homeserver.pid`,
    listeners: [
      {
        port,
        bind_addresses: ["127.0.0.1"],
        type: "http",
        tls: false,
        x_forwarded: false,
        resources: [{ names: ["client"], compress: false }],
      },
    ],
    database: { name: "sqlite3", args: { database: `${chrootDir}/homeserver.db` } },
    log_config: `${chrootDir}/log.config`,
    media_store_path: `${chrootDir}/media_store`,
    signing_key_path: `${chrootDir}/signing.key`,
    registration_shared_secret: secret,
    enable_registration: false,
    report_stats: false,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    bcrypt_rounds: 4, // password hashing at the default 12 rounds costs ~0.25 s per register/login
    ...(supportsLoginViaExistingSession() ? { login_via_existing_session: { enabled: true, require_ui_auth: false } } : {}),
    ...(realRateLimits ? {} : RELAXED_RATE_LIMITS),
    ...extraConfig,
  };
  fs.writeFileSync(path.join(hostDir, "test.yaml"), JSON.stringify(config, null, 2));
}

const CLEAN_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", HOME: "/root" };

// Live servers of this process: killed synchronously if the process exits without stop().
const live = new Set<OwnedSynapse>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const s of live) s.killNow();
  });
}

async function registerViaSharedSecret(url: string, secret: string, localpart: string, password: string, admin: boolean): Promise<RegisteredUser> {
  const endpoint = `${url}/_synapse/admin/v1/register`;
  for (let attempt = 0; ; attempt++) {
    const nonceRes = await fetch(endpoint);
    if (!nonceRes.ok) throw new Error(`GET ${endpoint}: ${nonceRes.status} ${await nonceRes.text()}`);
    const { nonce } = (await nonceRes.json()) as { nonce: string };
    const mac = createHmac("sha1", secret)
      .update([nonce, localpart, password, admin ? "admin" : "notadmin"].join("\0"))
      .digest("hex");
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ nonce, username: localpart, password, admin, mac }),
    });
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status === 429 && attempt < 20) {
      await sleep(Math.min(Number(body.retry_after_ms ?? 1000), 10_000));
      continue;
    }
    if (!res.ok) throw new Error(`register ${localpart}: ${res.status} ${JSON.stringify(body)}`);
    return {
      userId: String(body.user_id),
      accessToken: String(body.access_token),
      deviceId: String(body.device_id),
    };
  }
}

class OwnedSynapse implements SynapseHandle {
  readonly owned = true;
  readonly serverName = SERVER_NAME;
  readonly url: string;
  readonly logPath: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly chrootDir: string,
    readonly sharedSecret: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.logPath = path.join(dataDir, "homeserver.log");
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** Spawn and wait until /_matrix/client/versions answers 200. */
  async launch(timeoutMs: number): Promise<void> {
    const consolePath = path.join(this.dataDir, "console.log");
    const consoleFd = fs.openSync(consolePath, "a");
    const script =
      'mountpoint -q "$1/proc" || mount --bind /proc "$1/proc" || exit 97\n' +
      'exec chroot "$1" /usr/bin/python3 -m synapse.app.homeserver --config-path "$2/base.yaml" --config-path "$2/test.yaml"';
    const args = ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", SYNAPSE_ROOT, this.chrootDir];
    const hasSetpriv = fs.existsSync("/usr/bin/setpriv");
    const child = spawn(hasSetpriv ? "setpriv" : "unshare", hasSetpriv ? ["--pdeathsig", "TERM", "--", "unshare", ...args] : args, {
      cwd: this.dataDir,
      detached: true, // own process group
      stdio: ["ignore", consoleFd, consoleFd],
      env: CLEAN_ENV,
    });
    fs.closeSync(consoleFd);
    child.unref();
    this.child = child;
    let exitInfo: string | null = null;
    this.exited = new Promise<void>((resolve) => {
      child.on("exit", (code, signal) => {
        exitInfo = `exit code ${code}, signal ${signal}`;
        live.delete(this);
        resolve();
      });
      child.on("error", (err) => {
        exitInfo = `spawn error: ${err.message}`;
        live.delete(this);
        resolve();
      });
    });
    live.add(this);
    installExitHook();

    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exitInfo) break;
      try {
        const res = await fetch(`${this.url}/_matrix/client/versions`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) {
          await res.arrayBuffer();
          return;
        }
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    const why = exitInfo ? `Synapse exited early (${exitInfo})` : `Synapse did not answer within ${timeoutMs} ms`;
    if (!exitInfo) await this.terminate();
    throw new SynapseStartError(
      `${why} on ${this.url}.\n--- ${this.logPath} (tail) ---\n${tail(this.logPath)}\n--- ${consolePath} (tail) ---\n${tail(consolePath)}`,
      tail(consolePath) + tail(this.logPath),
    );
  }

  /** Last resort at process exit: SIGKILL, then best-effort removal of the data dir. */
  killNow(): void {
    const pid = this.child?.pid;
    if (pid && this.child?.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    try {
      fs.rmSync(this.dataDir, { recursive: true, force: true });
    } catch {
      /* cleanStaleDataDirs() gets it next time */
    }
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, sig);
    } catch {
      /* already gone */
    }
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.signal("SIGTERM");
    this.signal("SIGCONT"); // a paused server would never act on SIGTERM
    const killTimer = setTimeout(() => this.signal("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(killTimer);
  }

  registerUser(localpart: string, password: string, admin = false): Promise<RegisteredUser> {
    return registerViaSharedSecret(this.url, this.sharedSecret, localpart, password, admin);
  }

  pause(): void {
    this.signal("SIGSTOP");
  }

  resume(): void {
    this.signal("SIGCONT");
  }

  async restart(): Promise<void> {
    await this.terminate();
    await this.launch(60_000);
  }

  async stop(opts: { keepData?: boolean } = {}): Promise<void> {
    await this.terminate();
    live.delete(this);
    if (!opts.keepData) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export class SynapseStartError extends Error {
  constructor(
    message: string,
    readonly logs: string,
  ) {
    super(message);
    this.name = "SynapseStartError";
  }
}

/** Start a private Synapse. Needs root. Call stop() when done. */
export async function startSynapse(opts: StartOptions = {}): Promise<SynapseHandle> {
  if (process.getuid?.() !== 0) throw new Error("startSynapse: needs root (chroot, mount namespace)");
  await ensureProvisioned();
  cleanStaleDataDirs();
  const secret = DEFAULT_SHARED_SECRET;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const chrootDir = `/srv/chatrixcd-${port}`;
    const hostDir = path.join(SYNAPSE_ROOT, chrootDir);
    fs.rmSync(hostDir, { recursive: true, force: true });
    fs.mkdirSync(hostDir, { recursive: true });
    fs.writeFileSync(path.join(hostDir, "owner.pid"), String(process.pid));
    writeConfig(hostDir, chrootDir, port, secret, opts.realRateLimits ?? false, opts.extraConfig);
    const handle = new OwnedSynapse(port, hostDir, chrootDir, secret);
    try {
      await handle.launch(opts.startTimeoutMs ?? 60_000);
      return handle;
    } catch (e) {
      const portTaken = e instanceof SynapseStartError && /address already in use/i.test(e.logs);
      await handle.stop({ keepData: !portTaken || opts.port !== undefined || attempt >= 3 });
      if (portTaken && opts.port === undefined && attempt < 3) continue; // lost a race for the port
      throw e;
    }
  }
}

/** Env vars describing `h`, for child processes (see connectToRunning). */
export function synapseEnv(h: SynapseHandle): Record<string, string> {
  return {
    [ENV.STATE]: "1",
    [ENV.URL]: h.url,
    [ENV.PORT]: String(h.port),
    [ENV.SECRET]: h.sharedSecret,
    [ENV.PID]: String(h.pid),
    [ENV.SERVER_NAME]: h.serverName,
    [ENV.LOG]: h.logPath,
    [ENV.DATA_DIR]: h.dataDir,
  };
}

let shared: SynapseHandle | null | undefined;

/**
 * The Synapse started by test/run-tests.ts (shared by all test files), or null.
 * pause()/resume() act on the shared server and thus on every test file running at that moment:
 * fault tests should start their own server with startSynapse(). restart() throws; stop() is a no-op.
 */
export function connectToRunning(): SynapseHandle | null {
  if (shared !== undefined) return shared;
  const env = process.env;
  const url = env[ENV.URL];
  if (env[ENV.STATE] === "skip" || !url || !env[ENV.SECRET]) return (shared = null);
  const pid = Number(env[ENV.PID] ?? -1);
  const signal = (sig: NodeJS.Signals) => {
    if (pid > 0) process.kill(-pid, sig);
  };
  shared = {
    url,
    port: Number(env[ENV.PORT] ?? new URL(url).port),
    serverName: env[ENV.SERVER_NAME] ?? SERVER_NAME,
    pid,
    logPath: env[ENV.LOG] ?? "",
    dataDir: env[ENV.DATA_DIR] ?? "",
    sharedSecret: env[ENV.SECRET]!,
    owned: false,
    registerUser: (localpart, password, admin = false) => registerViaSharedSecret(url, env[ENV.SECRET]!, localpart, password, admin),
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    restart: () => Promise.reject(new Error("restart() on the shared Synapse: start your own with startSynapse()")),
    stop: () => Promise.resolve(),
  };
  return shared;
}

/** Appended to titles of tests skipped for lack of Synapse; run-tests.ts counts these. */
export const SKIP_MARKER = "[needs Synapse]";

/** CI=true (also 1/yes): a missing Synapse is a failure, never a skip. */
export function isCI(): boolean {
  return ["true", "1", "yes"].includes((process.env.CI ?? "").toLowerCase());
}

const runSuffix = randomBytes(3).toString("hex");
let nameCounter = 0;
/**
 * A localpart unique to this process (= this test file under ava) and call:
 * `${prefix}-${random}-${n}`, lowercase, valid as a Matrix localpart.
 */
export function uniqueLocalpart(prefix = "user"): string {
  return `${prefix.toLowerCase().replace(/[^a-z0-9._=/-]/g, "_")}-${runSuffix}-${++nameCounter}`;
}
