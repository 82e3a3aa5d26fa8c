// NioPeer: an independent Matrix client (matrix-nio, Debian's python3-matrix-nio) for tests,
// driven over JSON lines by test/peers/nio_peer.py. Runs with Debian's /usr/bin/python3.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { fileURLToPath } from "node:url";

export const NIO_PYTHON = process.env.CHATRIXCD_NIO_PYTHON ?? "/usr/bin/python3";

function peerScript(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = path.join(dir, "test/peers/nio_peer.py");
    if (fs.existsSync(p)) return p;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("NioPeer: cannot find test/peers/nio_peer.py");
    dir = up;
  }
}

export interface NioPeerOptions {
  /** Homeserver base URL, e.g. handle.url */
  homeserver: string;
  /** Full user ID, e.g. @alice-ab12cd-1:localhost */
  userId: string;
  /** Log in with a password (new device)... */
  password?: string;
  /** ...or reuse an existing session (e.g. from registerUser). */
  accessToken?: string;
  deviceId?: string;
  deviceName?: string;
  /** Olm/Megolm via libolm; needs a store dir (a temp dir is made and removed if not given). */
  encryption?: boolean;
  storeDir?: string;
  /** Copy the peer's stderr to ours as it comes (default: env CHATRIXCD_TEST_DEBUG set). */
  debug?: boolean;
}

export interface NioEvent {
  room: string;
  event_id: string;
  sender: string;
  type: string;
  origin_server_ts: number | null;
  content: Record<string, unknown>;
  body: string | null;
  msgtype: string | null;
  formatted_body: string | null;
  relates_to: Record<string, unknown> | null;
  decrypted: boolean;
  undecryptable: boolean;
}

export interface WaitForOptions {
  sender?: string;
  /** Substring of body. */
  contains?: string;
  /** Event type; default m.room.message, "*" for any. */
  type?: string;
  msgtype?: string;
  /** Milliseconds (default 30 000). */
  timeoutMs?: number;
}

export interface SendOptions {
  msgtype?: string;
  formattedBody?: string;
  relatesTo?: Record<string, unknown>;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  op: string;
}

export class NioPeer {
  readonly userId: string;
  deviceId: string | undefined;
  private proc: ChildProcessWithoutNullStreams | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private stderrBuf: string[] = [];
  private exitError: Error | null = null;
  private ownStoreDir: string | null = null;
  private ready: Promise<void> | null = null;

  constructor(private readonly opts: NioPeerOptions) {
    this.userId = opts.userId;
  }

  /** Spawn the peer and log in. */
  static async login(opts: NioPeerOptions): Promise<NioPeer> {
    const peer = new NioPeer(opts);
    try {
      await peer.login();
    } catch (e) {
      await peer.quit().catch(() => undefined);
      throw e;
    }
    return peer;
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const env = { ...process.env };
    delete env.PYTHONPATH;
    delete env.PYTHONHOME;
    const proc = spawn(NIO_PYTHON, ["-u", peerScript()], { stdio: ["pipe", "pipe", "pipe"], env });
    this.proc = proc;
    const debug = this.opts.debug ?? !!process.env.CHATRIXCD_TEST_DEBUG;
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (d: string) => {
      this.stderrBuf.push(d);
      if (this.stderrBuf.length > 200) this.stderrBuf.splice(0, 100);
      if (debug) process.stderr.write(`[nio ${this.userId}] ${d}`);
    });
    this.ready = new Promise<void>((resolveReady, rejectReady) => {
      const rl = readline.createInterface({ input: proc.stdout });
      rl.on("line", (line) => {
        let msg: { id: number | null; ok: boolean; result?: unknown; error?: string };
        try {
          msg = JSON.parse(line);
        } catch {
          this.stderrBuf.push(`(stdout) ${line}\n`);
          return;
        }
        if (msg.id === null) {
          if (msg.ok) resolveReady();
          return;
        }
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(`nio peer ${this.userId} ${p.op}: ${msg.error}`));
      });
      proc.on("error", (err) => {
        this.exitError = new Error(`nio peer: cannot run ${NIO_PYTHON}: ${err.message}`);
        rejectReady(this.exitError);
        this.failAll(this.exitError);
      });
      proc.on("exit", (code, signal) => {
        this.exitError = new Error(`nio peer ${this.userId} exited (code ${code}, signal ${signal}); stderr tail:\n${this.stderrTail()}`);
        rejectReady(this.exitError);
        this.failAll(this.exitError);
      });
    });
    return this.ready;
  }

  private failAll(err: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  /** Last lines the python side wrote to stderr (tracebacks, sync errors). */
  stderrTail(lines = 30): string {
    return this.stderrBuf.join("").split("\n").slice(-lines).join("\n");
  }

  /** Send one raw command; resolves with its result. */
  async request<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    await this.start();
    if (this.exitError) throw this.exitError;
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`nio peer ${this.userId} ${op}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, op });
      this.proc!.stdin.write(JSON.stringify({ ...args, id, op }) + "\n");
    });
  }

  async login(): Promise<{ userId: string; deviceId: string }> {
    const o = this.opts;
    let storePath = o.storeDir;
    if (o.encryption && !storePath) {
      this.ownStoreDir = fs.mkdtempSync(path.join(os.tmpdir(), "chatrixcd-nio-"));
      storePath = this.ownStoreDir;
    }
    const r = await this.request<{ user_id: string; device_id: string }>("login", {
      homeserver: o.homeserver,
      user: o.userId,
      password: o.password,
      access_token: o.accessToken,
      device_id: o.deviceId,
      device_name: o.deviceName ?? "nio-peer",
      encrypted: !!o.encryption,
      store_path: storePath,
    });
    this.deviceId = r.device_id;
    return { userId: r.user_id, deviceId: r.device_id };
  }

  /** Create a room (waits until the peer's sync has it). */
  async createRoom(opts: { invite?: string[]; encrypted?: boolean; name?: string; isDirect?: boolean } = {}): Promise<string> {
    const r = await this.request<{ room_id: string }>("create_room", {
      invite: opts.invite ?? [],
      encrypted: !!opts.encrypted,
      name: opts.name,
      is_direct: !!opts.isDirect,
    });
    return r.room_id;
  }

  async join(roomId: string): Promise<string> {
    return (await this.request<{ room_id: string }>("join", { room: roomId })).room_id;
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.request("invite", { room: roomId, user: userId });
  }

  async leave(roomId: string): Promise<void> {
    await this.request("leave", { room: roomId });
  }

  /** Send an m.room.message (m.text by default); returns the event ID. */
  async send(roomId: string, body: string, opts: SendOptions = {}): Promise<string> {
    const r = await this.request<{ event_id: string }>("send", {
      room: roomId,
      body,
      msgtype: opts.msgtype ?? "m.text",
      formatted_body: opts.formattedBody,
      relates_to: opts.relatesTo,
    });
    return r.event_id;
  }

  /** Send any room event with raw content (e.g. m.reaction). */
  async sendEvent(roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    return (await this.request<{ event_id: string }>("send", { room: roomId, type, content })).event_id;
  }

  /**
   * The first timeline event in the room matching the filters that no earlier waitFor returned,
   * including events that arrived before this call.
   */
  async waitFor(roomId: string, opts: WaitForOptions = {}): Promise<NioEvent> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return this.request<NioEvent>(
      "wait_for",
      {
        room: roomId,
        sender: opts.sender,
        contains: opts.contains,
        type: opts.type ?? "m.room.message",
        msgtype: opts.msgtype,
        timeout: timeoutMs / 1000,
      },
      timeoutMs + 10_000,
    );
  }

  /** Wait until the peer's sync shows `userId` with this membership (join by default). */
  async waitForMember(roomId: string, userId: string, membership: "join" | "invite" | "leave" = "join", timeoutMs = 30_000): Promise<void> {
    await this.request("wait_member", { room: roomId, user: userId, membership, timeout: timeoutMs / 1000 }, timeoutMs + 10_000);
  }

  /** All timeline events the peer has seen in the room. */
  async events(roomId: string): Promise<NioEvent[]> {
    return (await this.request<{ events: NioEvent[] }>("events", { room: roomId })).events;
  }

  async stats(): Promise<{ undecryptable: number; sync_errors: number; rooms: string[] }> {
    return this.request("stats");
  }

  /** Log nothing out (the device stays); stop the process; remove a temp store dir. */
  async quit(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null && !this.exitError) {
      const exited = new Promise<void>((r) => proc.once("exit", () => r()));
      this.request("quit", {}, 5_000).catch(() => undefined);
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (this.ownStoreDir) {
      fs.rmSync(this.ownStoreDir, { recursive: true, force: true });
      this.ownStoreDir = null;
    }
  }
}
