// Soak: the real bot (the headless program, App inside, as in matrix-bench) against a real Synapse and our
// Semaphore-compatible server for a long time, with a bare matrix-js-sdk bot (bare-bot.ts) on the same Synapse as the
// baseline in the same run. A benchmark, not a test: it prints what it saw and asserts nothing.
//   npm run bench -- --soak [--minutes 30] [--interval S] [--tasks N] [--messages N] [--drain 120] [--json]
// Defaults: 30 minutes, a row every 60 s, 50 tasks and 1,000 messages. Shorter runs keep those rates (at least 6 tasks
// and 100 messages) and take a row every 10 s, so `--soak --minutes 2` is a quick check of the same load.
//
// Load, spread evenly over the run (the client does not wait for one reply before sending the next):
// - `--messages` chat commands (ping, status, tasks, logs, info, projects) from a matrix-js-sdk client with Rust
//   crypto (test/helpers-e2ee/js-peer.ts), alternating between an encrypted and an unencrypted room; the bare bot
//   gets the same number of `!cd ping` in its own (unencrypted) room at the same moments.
// - `--tasks` runs started from chat (`!cd run`, then `yes` in reply to the prompt) over the first 85 % of the run,
//   cycling through three templates: an Ansible deploy that succeeds, an Ansible migration that fails, and a
//   long-output job (4,000 lines in about a minute). Cards, edits and output threads go to the rooms as usual.
// Sampling: both bots run with test/bench/soak-probe.js preloaded (`node --import`); every interval this process
// sends SIGUSR2 to both at the same moment and each appends RSS, heap, CPU, event-loop utilisation and the
// event-loop delay histogram of the interval. One row before the load (idle), one per interval, one after the drain.
import "../../src/polyfill.js";
import { spawn, execSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { RoomEvent, MatrixEventEvent, type MatrixEvent } from "matrix-js-sdk";
import { startSynapse, uniqueLocalpart, type SynapseHandle } from "../harness/synapse.js";
import { startSemaphoreServer, type SemaphoreServer } from "../../src/emulator/index.js";
import { isTerminalStatus } from "../../src/semaphore/types.js";
import { routeSdkLogging } from "../../src/log/sdk.js";
import { Logger } from "../../src/log/logger.js";
import { JsPeer } from "../helpers-e2ee/js-peer.js";
import { deployedNodeOptions, median, pct, sleep } from "./figures.js";
import type { ProbeSample } from "./soak-probe.js";

// ---- options ----------------------------------------------------------------------------------------------------

const argv = process.argv.slice(2);
function opt(name: string, dflt: number): number {
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  const i = argv.indexOf(`--${name}`);
  const raw = eq ? eq.slice(name.length + 3) : i >= 0 ? argv[i + 1] : undefined;
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`soak: --${name} needs a positive number, not ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}
const MINUTES = opt("minutes", 30);
const INTERVAL_S = opt("interval", Math.min(60, Math.max(10, MINUTES * 2))); // 30 min → 60 s rows; 2 min → 10 s rows
// 50 tasks and 1,000 messages in the 30-minute soak; shorter runs keep the same rates (with at least two runs of
// each template and 100 messages), so `--minutes 2` is the same load, only shorter.
const TASKS = Math.round(opt("tasks", Math.max(6, Math.round((50 * MINUTES) / 30))));
const MESSAGES = Math.round(opt("messages", Math.max(100, Math.round((1000 * MINUTES) / 30))));
const DRAIN_S = opt("drain", 120);
const JSON_OUT = argv.includes("--json");
const PASSWORD = "bench password 1234";
const PREFIX = "!cd";

const entry = fileURLToPath(new URL("../../screens/main.js", import.meta.url));
const bareEntry = fileURLToPath(new URL("./bare-bot.js", import.meta.url));
const probeUrl = pathToFileURL(fileURLToPath(new URL("./soak-probe.js", import.meta.url))).href;
const say = (s: string) => process.stderr.write(`soak: ${s}\n`);
const MiB = (b: number) => b / 1048576;
const HZ = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;
/** user + system CPU ms of a process (Synapse, which has no probe), NaN when gone. */
function procCpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / HZ;
  } catch {
    return NaN;
  }
}

// ---- processes ---------------------------------------------------------------------------------------------------

interface Probed {
  name: string;
  proc: ChildProcess;
  probeFile: string;
  read: number;
  tail: string;
  warn: number;
  error: number;
  stopping?: boolean;
}

function spawnProbed(name: string, args: string[], marker: RegExp, probeFile: string, env: NodeJS.ProcessEnv = {}): Promise<Probed> {
  const proc = spawn(process.execPath, ["--import", probeUrl, ...args], {
    env: { ...process.env, ...env, SOAK_PROBE_FILE: probeFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const p: Probed = { name, proc, probeFile, read: 0, tail: "", warn: 0, error: 0 };
  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => reject(new Error(`${name} not ready in 90 s: ${p.tail}`)), 90_000);
    // Always drained (a full pipe would stall the bot); only a tail is kept, plus counts of WARN/ERROR log lines.
    const onData = (d: Buffer) => {
      const s = d.toString();
      p.tail = (p.tail + s).slice(-8000);
      p.warn += s.match(/^\S+ WARN +\[/gm)?.length ?? 0;
      p.error += s.match(/^\S+ ERROR +\[/gm)?.length ?? 0;
      if (!ready && marker.test(p.tail)) {
        ready = true;
        clearTimeout(timer);
        resolve(p);
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code, sig) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${name} exited ${code ?? sig}: ${p.tail}`));
      else if (!p.stopping) say(`${name} exited (${code ?? sig}) during the run: ${p.tail.slice(-1500)}`);
    });
  });
}

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await Promise.race([done, sleep(10_000)]);
  if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
}

/** SIGUSR2 to every probed process at the same moment; resolves with each one's new sample (undefined if none came). */
async function sampleAll(ps: Probed[]): Promise<Array<ProbeSample | undefined>> {
  for (const p of ps) if (p.proc.exitCode === null) p.proc.kill("SIGUSR2");
  return Promise.all(
    ps.map(async (p) => {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const text = existsSync(p.probeFile) ? readFileSync(p.probeFile, "utf8") : "";
        const nl = text.indexOf("\n", p.read);
        if (nl >= 0) {
          const line = text.slice(p.read, nl);
          p.read = nl + 1;
          return JSON.parse(line) as ProbeSample;
        }
        await sleep(20);
      }
      say(`${p.name} gave no sample within 15 s`);
      return undefined;
    }),
  );
}

// ---- the client's view -------------------------------------------------------------------------------------------

type Kind = "cmd" | "run" | "yes" | "bare";
interface Sent {
  kind: Kind;
  roomId: string;
  sentAt: number;
  eventId?: string;
  answeredAt?: number;
  body: string;
  reply?: { id: string; body: string };
}

class Traffic {
  /** Every message the client sent (or is sending), by event id once the server gave one. */
  readonly all: Sent[] = [];
  readonly sent = new Map<string, Sent>();
  private early = new Map<string, { at: number; id: string; body: string }>();
  /** card event id → task id and whether an edit (or the card itself) showed a final state. */
  readonly cards = new Map<string, { taskId: number; roomId: string; final: boolean }>();
  readonly lastTask = new Map<string, number>();
  botEvents = 0;
  undecryptable = 0;
  errors: string[] = [];
  constructor(
    private readonly peer: JsPeer,
    private readonly ours: string,
    private readonly bare: string,
  ) {
    peer.client.on(RoomEvent.Timeline, (ev: MatrixEvent, room, toStart) => {
      if (toStart || !room) return;
      const sender = ev.getSender();
      if (sender !== ours && sender !== bare) return;
      void this.onBotEvent(ev);
    });
  }

  private async onBotEvent(ev: MatrixEvent): Promise<void> {
    await this.peer.client.decryptEventIfNeeded(ev);
    if (ev.isDecryptionFailure()) {
      // Keys can arrive after the event; count it only if it never decrypts.
      const ok = await new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), 30_000);
        ev.once(MatrixEventEvent.Decrypted, () => {
          clearTimeout(t);
          r(!ev.isDecryptionFailure());
        });
      });
      if (!ok) {
        this.undecryptable++;
        return;
      }
    }
    const at = performance.now();
    if (ev.getSender() === this.ours) this.botEvents++;
    const content = ev.getContent();
    const rel = (ev.getWireContent()["m.relates_to"] ?? content["m.relates_to"]) as Record<string, any> | undefined;
    if (rel?.rel_type === "m.replace") {
      const card = this.cards.get(String(rel.event_id));
      if (card && isFinalCard(content["m.new_content"]?.body)) card.final = true;
      return;
    }
    if (rel?.rel_type === "m.thread") return; // task output in a card's thread
    const to: string | undefined = rel?.["m.in_reply_to"]?.event_id;
    if (!to) return;
    const s = this.sent.get(to);
    if (!s) {
      this.early.set(to, { at, id: ev.getId()!, body: String(content.body ?? "") });
      return;
    }
    this.answer(to, s, at, ev.getId()!, String(content.body ?? ""));
  }

  private answer(id: string, s: Sent, at: number, replyId: string, body: string): void {
    if (s.answeredAt !== undefined) return;
    s.answeredAt = at;
    s.reply = { id: replyId, body };
    if (s.kind === "run") {
      // The confirmation prompt: answer yes to it.
      void this.send("yes", s.roomId, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: replyId } } });
    } else if (s.kind === "yes") {
      const m = /#(\d+): /.exec(body.split("\n")[0] ?? "");
      if (m) {
        this.cards.set(replyId, { taskId: Number(m[1]), roomId: s.roomId, final: isFinalCard(body) });
        this.lastTask.set(s.roomId, Number(m[1]));
      } else this.errors.push(`reply to yes is not a card: ${body.slice(0, 200)}`);
    }
    void id;
  }

  async send(kind: Kind, roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<void> {
    const s: Sent = { kind, roomId, sentAt: performance.now(), body };
    this.all.push(s);
    let id: string;
    try {
      id = await this.peer.send(roomId, body, extra);
    } catch (e) {
      this.errors.push(`send ${body}: ${(e as Error).message}`);
      return;
    }
    s.eventId = id;
    this.sent.set(id, s);
    const e = this.early.get(id);
    if (e) {
      this.early.delete(id);
      this.answer(id, s, e.at, e.id, e.body);
    }
  }

  count(kind: Kind, from = 0, to = Infinity): { sent: number; answered: number; latencies: number[] } {
    let sent = 0,
      answered = 0;
    const latencies: number[] = [];
    for (const s of this.all) {
      if (s.kind !== kind || s.sentAt < from || s.sentAt >= to) continue;
      sent++;
      if (s.answeredAt !== undefined) {
        answered++;
        latencies.push(s.answeredAt - s.sentAt);
      }
    }
    return { sent, answered, latencies };
  }
}

const isFinalCard = (body: unknown): boolean => typeof body === "string" && /#\d+: (success|error|stopped|rejected)\b/.test(body.split("\n")[0] ?? "");

// ---- the run -----------------------------------------------------------------------------------------------------

const MIX = [
  "ping",
  "status",
  "tasks",
  "ping",
  "logs",
  "ping",
  "tasks",
  "status",
  "ping",
  "logs",
  "info",
  "ping",
  "tasks",
  "status",
  "logs",
  "ping",
  "projects",
  "status",
  "tasks",
  "logs",
];

interface Row {
  label: string;
  /** Minutes since the load started, at the end of the row's interval. */
  tMin: number;
  ours?: ProbeSample;
  bare?: ProbeSample;
  client: { lagP99: number; lagMax: number };
  /** Synapse's CPU over the interval, % of one core (context: is the homeserver the bottleneck?). */
  synapseCpuPct: number;
  cmds: { sent: number; answered: number; p50: number; p95: number };
  barePings: { sent: number; answered: number; p50: number; p95: number };
  tasks: { started: number; finished: number };
  botEvents: number;
  logs: { warn: number; error: number };
}

async function soak(): Promise<void> {
  routeSdkLogging(new Logger({ level: "error" }));
  const durMs = MINUTES * 60_000;
  say(`${MINUTES} min of load, rows every ${INTERVAL_S} s, ${TASKS} tasks, ${MESSAGES} messages, then up to ${DRAIN_S} s to drain`);
  let hs: SynapseHandle | undefined;
  const started = new Set<number>();
  const finished = new Set<number>();
  const sem: SemaphoreServer = await startSemaphoreServer({
    seed: "empty",
    schedules: false,
    maxParallelTasks: 0,
    tickMs: 1000,
    lineDelayMs: 300,
    onTaskUpdate: (t) => {
      started.add(t.id);
      if (isTerminalStatus(t.status as never)) finished.add(t.id);
    },
  });
  const procs: Probed[] = [];
  let peer: JsPeer | undefined;
  const state = mkdtempSync(join(tmpdir(), "chatrixcd-soak-"));
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await peer?.stop().catch(() => undefined);
      for (const p of procs) {
        p.stopping = true;
        await stopProc(p.proc);
      }
      await sem.stop();
      await hs?.stop();
      rmSync(state, { recursive: true, force: true });
    })());
  // Ctrl-C during a 30-minute run: stop the bots, Synapse and the server this run started, then leave.
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      say(`${sig}: stopping`);
      for (const p of procs) p.stopping = true; // Ctrl-C reaches the bots too
      // Tearing the Rust-crypto client down mid-sync can throw from inside the SDK; nothing is left to protect.
      process.on("uncaughtException", (e) => say(`while stopping: ${(e as Error).message}`));
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    const project = sem.createProject("Soak");
    const ok = sem.addTemplate(project.id, { name: "Deploy web", app: "ansible", scenario: "deploy-web" });
    const fail = sem.addTemplate(project.id, { name: "Run migrations", app: "ansible", scenario: "run-migrations" });
    const longLines: string[] = [];
    for (let k = 0; k < 4000; k++) {
      if (k % 10 === 0) longLines.push(`TASK [sync shard ${k / 10}] ${"*".repeat(60)}`);
      else
        longLines.push(
          `\x1b[0;${k % 7 ? 32 : 33}m${k % 7 ? "ok" : "changed"}: [db${k % 5}] => (item=/var/lib/data/shard-${k}/segment-${(k * 7919) % 10007}.bin)\x1b[0m`,
        );
    }
    longLines.push(
      "",
      "PLAY RECAP *********************************************************************",
      ...[0, 1, 2, 3, 4].map(
        (h) => `db${h}                        : ok=${720 + h}   changed=${114 + h}   unreachable=0    failed=0    skipped=0    rescued=0    ignored=0`,
      ),
    );
    const long = sem.addTemplate(project.id, { name: "Reindex all shards", app: "ansible", scenario: { lines: longLines, delayUnits: 0.05, exitCode: 0 } });
    const templates = [ok.id, fail.id, long.id];

    hs = await startSynapse();
    say(`Synapse on ${hs.url}, pid ${hs.pid} (${readFileSync(`/proc/${hs.pid}/comm`, "utf8").trim()})`);
    const [oursU, bareU, alice] = [
      await hs.registerUser(uniqueLocalpart("ours"), PASSWORD),
      await hs.registerUser(uniqueLocalpart("bare"), PASSWORD),
      await hs.registerUser(uniqueLocalpart("alice"), PASSWORD),
    ];
    const ini = join(state, "chatrixcd.ini");
    // As in matrix-bench: [matrix] encryption is on by default.
    writeFileSync(
      ini,
      `[matrix]\nhomeserver = ${hs.url}\nuser_id = ${oursU.userId}\npassword = ${PASSWORD}\n\n[semaphore]\nurl = ${sem.url}\napi_token = ` +
        `${sem.adminToken}\n\n[bot]\nstate_dir = ${state}\nadmin_users = ${alice.userId}\nlog_level = info\n`,
      { mode: 0o600 },
    );
    // As deployed: the systemd unit's NODE_OPTIONS (the bare bot runs on Node's defaults).
    const ours = await spawnProbed("ours", [entry, "--headless", "--config", ini], /sync ready/, join(state, "probe-ours.jsonl"), {
      NODE_OPTIONS: deployedNodeOptions(),
    });
    procs.push(ours);
    const bare = await spawnProbed("bare", [bareEntry, hs.url, bareU.userId, PASSWORD], /READY/, join(state, "probe-bare.jsonl"), { NODE_OPTIONS: "" });
    procs.push(bare);

    peer = await JsPeer.login(hs.url, alice.userId, PASSWORD, { deviceName: "soak client" });
    // matrix-js-sdk's default scheduler sends one m.room.message at a time across all rooms, so the client, not the
    // bots, would set the pace. A busy ops room has several people typing at once: this client sends concurrently.
    (peer.client as unknown as { scheduler?: unknown }).scheduler = undefined;
    const roomEnc = await peer.createRoom({ invite: [oursU.userId], encrypted: true, name: "soak encrypted" });
    const roomPlain = await peer.createRoom({ invite: [oursU.userId], name: "soak plain" });
    const roomBare = await peer.createRoom({ invite: [bareU.userId], name: "soak bare" });
    await peer.waitForJoin(roomEnc, oursU.userId, 30_000);
    await peer.waitForJoin(roomPlain, oursU.userId, 30_000);
    await peer.waitForJoin(roomBare, bareU.userId, 30_000);
    const traffic = new Traffic(peer, oursU.userId, bareU.userId);
    const rooms = [roomEnc, roomPlain];
    // Warm-up outside the figures (key sharing in the encrypted room), then an idle interval.
    for (const r of rooms) {
      const id = await peer.send(r, `${PREFIX} ping`);
      await peer.waitFor((e) => e.relation?.["m.in_reply_to"]?.event_id === id, 30_000, "warm-up pong");
    }
    {
      const id = await peer.send(roomBare, `${PREFIX} ping`);
      await peer.waitFor((e) => e.relation?.["m.in_reply_to"]?.event_id === id, 30_000, "warm-up pong (bare)");
    }
    peer.events.length = 0;

    const clientLag = monitorEventLoopDelay({ resolution: 10 });
    clientLag.enable();
    const rows: Row[] = [];
    const windows: Array<[number, number]> = []; // each row's [from, to) in performance.now() time
    let t0 = performance.now();
    let prevT = t0;
    const warnBase = { warn: ours.warn, error: ours.error };
    let botEventsBase = 0;
    const lagOf = () => {
      const r = { lagP99: clientLag.percentile(99) / 1e6 - 10, lagMax: clientLag.max / 1e6 - 10 };
      clientLag.reset();
      return r;
    };
    let synCpu = procCpuMs(hs.pid);
    const addRow = async (label: string, tMin: number): Promise<void> => {
      const [o, b] = await sampleAll([ours, bare]);
      const now = performance.now();
      const cpuNow = procCpuMs(hs!.pid);
      const synapseCpuPct = (100 * (cpuNow - synCpu)) / (now - prevT);
      synCpu = cpuNow;
      const c = traffic.count("cmd", prevT, now);
      const bb = traffic.count("bare", prevT, now);
      rows.push({
        label,
        tMin,
        ours: o,
        bare: b,
        client: lagOf(),
        synapseCpuPct,
        cmds: { sent: c.sent, answered: c.answered, p50: median(c.latencies), p95: pct(c.latencies, 95) },
        barePings: { sent: bb.sent, answered: bb.answered, p50: median(bb.latencies), p95: pct(bb.latencies, 95) },
        tasks: { started: started.size, finished: finished.size },
        botEvents: traffic.botEvents - botEventsBase,
        logs: { warn: ours.warn - warnBase.warn, error: ours.error - warnBase.error },
      });
      windows.push([prevT, now]);
      botEventsBase = traffic.botEvents;
      warnBase.warn = ours.warn;
      warnBase.error = ours.error;
      prevT = now;
      peer!.events.length = 0; // JsPeer keeps every event; we track our own
      const r = rows.at(-1)!;
      say(
        `${label.padEnd(6)} ours RSS ${r.ours ? MiB(r.ours.rss).toFixed(0) : "?"} MiB heap ${r.ours ? MiB(r.ours.heapUsed).toFixed(0) : "?"} MiB · bare ` +
          `RSS ${r.bare ? MiB(r.bare.rss).toFixed(0) : "?"} MiB · cmds ${r.cmds.answered}/${r.cmds.sent} · tasks ${r.tasks.finished}/${r.tasks.started}`,
      );
    };

    await sampleAll([ours, bare]); // discard start-up and setup
    clientLag.reset();
    synCpu = procCpuMs(hs.pid);
    prevT = performance.now();
    await sleep(INTERVAL_S * 1000);
    await addRow("idle", 0);

    // Load.
    t0 = performance.now();
    prevT = t0;
    const end = t0 + durMs;
    const events: Array<{ at: number; fire: () => void }> = [];
    for (let k = 0; k < MESSAGES; k++) {
      const at = t0 + ((k + 0.5) * durMs) / MESSAGES;
      events.push({
        at,
        fire: () => {
          const room = rooms[k % 2]!;
          const cmd = MIX[k % MIX.length]!;
          const last = traffic.lastTask.get(room);
          const body = (cmd === "status" || cmd === "logs") && last !== undefined ? `${PREFIX} ${cmd} ${last}` : `${PREFIX} ${cmd}`;
          void traffic.send("cmd", room, body);
          void traffic.send("bare", roomBare, `${PREFIX} ping`);
        },
      });
    }
    for (let j = 0; j < TASKS; j++) {
      const at = t0 + ((j + 0.5) * 0.85 * durMs) / TASKS;
      events.push({ at, fire: () => void traffic.send("run", rooms[j % 2]!, `${PREFIX} run ${project.id} ${templates[j % templates.length]}`) });
    }
    events.sort((a, b) => a.at - b.at);
    let next = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      while (next < events.length && events[next]!.at <= now) events[next++]!.fire();
    }, 20);
    const nRows = Math.ceil(durMs / (INTERVAL_S * 1000) - 1e-9);
    for (let i = 1; i <= nRows; i++) {
      const at = Math.min(end, t0 + i * INTERVAL_S * 1000);
      await sleep(Math.max(0, at - performance.now()));
      await addRow(clock(at - t0), (at - t0) / 60_000);
    }
    while (next < events.length) await sleep(50);
    clearInterval(ticker);

    // Drain: wait for the last replies, cards and tasks.
    const drainStart = performance.now();
    const settled = () => {
      const c = traffic.count("cmd"),
        r = traffic.count("run"),
        y = traffic.count("yes"),
        b = traffic.count("bare");
      return (
        c.answered === c.sent &&
        r.answered === r.sent &&
        y.sent === r.sent &&
        y.answered === y.sent &&
        b.answered === b.sent &&
        [...traffic.cards.values()].every((x) => x.final) &&
        finished.size === started.size
      );
    };
    while (!settled() && performance.now() - drainStart < DRAIN_S * 1000) await sleep(250);
    const drainS = (performance.now() - drainStart) / 1000;
    await addRow(`+drain`, (performance.now() - t0) / 60_000);
    clientLag.disable();

    // ---- report ----
    // Each row's commands again, now that the late replies are in: answered means answered by the end of the drain.
    rows.forEach((r, i) => {
      const [from, to] = windows[i]!;
      const c = traffic.count("cmd", from, to),
        b = traffic.count("bare", from, to);
      r.cmds = { sent: c.sent, answered: c.answered, p50: median(c.latencies), p95: pct(c.latencies, 95) };
      r.barePings = { sent: b.sent, answered: b.answered, p50: median(b.latencies), p95: pct(b.latencies, 95) };
    });
    const all = { cmd: traffic.count("cmd"), run: traffic.count("run"), yes: traffic.count("yes"), bare: traffic.count("bare") };
    const cardsFinal = [...traffic.cards.values()].filter((c) => c.final).length;
    const load = rows.filter((r) => r.label !== "idle" && r.label !== "+drain");
    const idle = rows[0]!,
      first = load[0]!,
      last = load.at(-1)!,
      after = rows.at(-1)!;
    const grow = (a?: ProbeSample, b?: ProbeSample, k: "rss" | "heapUsed" = "rss") =>
      a && b ? { from: MiB(a[k]), to: MiB(b[k]), delta: MiB(b[k] - a[k]), pct: (100 * (b[k] - a[k])) / a[k] } : undefined;
    const lagBeyond = (v: number, s?: ProbeSample) => (s ? Math.max(0, v - s.lag.resolutionMs) : NaN);
    const worst = (who: "ours" | "bare", k: "p99" | "max") => Math.max(...load.map((r) => lagBeyond(r[who]?.lag[k] ?? NaN, r[who])).filter(Number.isFinite));
    const cpuPct = (s?: ProbeSample) => (s ? (100 * s.cpuMs) / s.intervalMs : NaN);
    const meanCpu = (who: "ours" | "bare") => {
      const xs = load.map((r) => r[who]).filter((s): s is ProbeSample => !!s);
      return (100 * xs.reduce((a, s) => a + s.cpuMs, 0)) / xs.reduce((a, s) => a + s.intervalMs, 0);
    };
    const summary = {
      messages: {
        answered: all.cmd.answered,
        sent: all.cmd.sent,
        medianMs: median(all.cmd.latencies),
        p95Ms: pct(all.cmd.latencies, 95),
        maxMs: Math.max(...all.cmd.latencies),
      },
      runs: { prompts: all.run.answered, runs: all.run.sent, cards: all.yes.answered, confirmations: all.yes.sent, cardsFinal, cardsSeen: traffic.cards.size },
      bare: {
        answered: all.bare.answered,
        sent: all.bare.sent,
        medianMs: median(all.bare.latencies),
        p95Ms: pct(all.bare.latencies, 95),
        maxMs: Math.max(...all.bare.latencies),
      },
      tasks: { finished: finished.size, started: started.size, requested: TASKS },
      rssFirstToLast: { ours: grow(first.ours, last.ours), bare: grow(first.bare, last.bare) },
      heapFirstToLast: { ours: grow(first.ours, last.ours, "heapUsed"), bare: grow(first.bare, last.bare, "heapUsed") },
      rssIdleToAfterDrain: { ours: grow(idle.ours, after.ours), bare: grow(idle.bare, after.bare) },
      lagWorstIntervalMs: { ours: { p99: worst("ours", "p99"), max: worst("ours", "max") }, bare: { p99: worst("bare", "p99"), max: worst("bare", "max") } },
      cpuMeanPct: { ours: meanCpu("ours"), bare: meanCpu("bare") },
      drainSeconds: drainS,
      undecryptable: traffic.undecryptable,
      botLogLines: rows.reduce((a, r) => ({ warn: a.warn + r.logs.warn, error: a.error + r.logs.error }), { warn: 0, error: 0 }),
      clientErrors: traffic.errors.slice(0, 20),
    };
    const config = {
      minutes: MINUTES,
      intervalSeconds: INTERVAL_S,
      tasks: TASKS,
      messages: MESSAGES,
      drainLimitSeconds: DRAIN_S,
      node: process.version,
      cores: cpus().length,
      date: new Date().toISOString(),
      templates: ["Deploy web (Ansible, succeeds)", "Run migrations (Ansible, fails)", "Reindex all shards (4,000 lines, ~1 min)"],
      lineDelayMs: 300,
      lagNote: "event-loop delay beyond the probe's 10 ms timer (monitorEventLoopDelay reads ≈ 10 ms when idle)",
    };

    if (JSON_OUT) {
      process.stdout.write(JSON.stringify({ config, summary, rows }, null, 2) + "\n");
    } else {
      const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "n/a");
      const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
      const lagText = (s?: ProbeSample) => (s ? `${f1(lagBeyond(s.lag.p50, s))} / ${f1(lagBeyond(s.lag.p99, s))} / ${f0(lagBeyond(s.lag.max, s))}` : "n/a");
      const mem = (s?: ProbeSample) => (s ? `${f0(MiB(s.rss))} / ${f0(MiB(s.heapUsed))}` : "n/a");
      const lines = [
        "",
        `Soak (${MINUTES} min of load + ${drainS.toFixed(0)} s drain, a row every ${INTERVAL_S} s; ${TASKS} tasks, ${MESSAGES} messages; ${config.date}, ` +
          `node ${process.version}, ${config.cores} cores)`,
        "",
        "RSS / heap used in MiB; event-loop delay p50 / p99 / max in ms beyond the probe's 10 ms timer; CPU in % of one core; commands sent in the " +
          "interval, how many were answered (by the end of the drain) and their reply latency; tasks cumulative (Semaphore's count); bot events = " +
          "everything the bot sent that the client saw (replies, cards, edits, output threads); the client's loop delay and Synapse's CPU are context " +
          "(they share the machine's cores with the bots).",
        "",
        "| t | ours RSS / heap | ours loop delay p50/p99/max | ours CPU | bare bot RSS / heap | bare loop delay p50/p99/max | bare CPU | commands " +
          "answered/sent | reply p50 / p95 | bare pings answered/sent, p50 | tasks finished/started | bot events | bot WARN/ERROR lines | client loop p99 " +
          "| Synapse CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ...rows.map(
          (r) =>
            `| ${r.label} | ${mem(r.ours)} | ${lagText(r.ours)} | ${f1(cpuPct(r.ours))} | ${mem(r.bare)} | ${lagText(r.bare)} | ${f1(cpuPct(r.bare))} | ` +
            `${r.cmds.answered}/${r.cmds.sent} | ${r.cmds.sent ? `${f0(r.cmds.p50)} / ${f0(r.cmds.p95)} ms` : "-"} | ` +
            `${r.barePings.answered}/${r.barePings.sent}${r.barePings.sent ? `, ${f0(r.barePings.p50)} ms` : ""} | ` +
            `${r.tasks.finished}/${r.tasks.started} | ${r.botEvents} | ${r.logs.warn}/${r.logs.error} | ${f0(Math.max(0, r.client.lagP99))} ms | ` +
            `${f0(r.synapseCpuPct)} % |`,
        ),
        "",
        "| figure | ours | baseline (same run) |",
        "|---|---|---|",
        `| messages answered / sent | ${summary.messages.answered} / ${summary.messages.sent}; reply median ${f0(summary.messages.medianMs)} ms, p95 ` +
          `${f0(summary.messages.p95Ms)} ms, max ${f0(summary.messages.maxMs)} ms | bare js-sdk bot (no crypto, unencrypted room), the same number of ` +
          `pings at the same moments: ${summary.bare.answered} / ${summary.bare.sent}; median ${f0(summary.bare.medianMs)} ms, p95 ` +
          `${f0(summary.bare.p95Ms)} ms, max ${f0(summary.bare.maxMs)} ms |`,
        `| runs from chat | ${summary.runs.prompts}/${summary.runs.runs} prompts, ${summary.runs.cards}/${summary.runs.confirmations} cards after yes, ` +
          `${summary.runs.cardsFinal}/${summary.runs.cardsSeen} cards edited to a final state | - |`,
        `| tasks finished / started | ${summary.tasks.finished} / ${summary.tasks.started} (of ${TASKS} requested) | - |`,
        `| RSS first → last load interval | ${growText(summary.rssFirstToLast.ours)} | bare bot ${growText(summary.rssFirstToLast.bare)} |`,
        `| heap used first → last load interval | ${growText(summary.heapFirstToLast.ours)} | bare bot ${growText(summary.heapFirstToLast.bare)} |`,
        `| RSS idle before the load → after the drain | ${growText(summary.rssIdleToAfterDrain.ours)} | bare bot ` +
          `${growText(summary.rssIdleToAfterDrain.bare)} |`,
        `| event-loop delay, worst load interval | p99 ${f1(summary.lagWorstIntervalMs.ours.p99)} ms, max ${f0(summary.lagWorstIntervalMs.ours.max)} ms ` +
          `| bare bot p99 ${f1(summary.lagWorstIntervalMs.bare.p99)} ms, max ${f0(summary.lagWorstIntervalMs.bare.max)} ms |`,
        `| CPU over the load | ${f1(summary.cpuMeanPct.ours)} % of a core | bare bot ${f1(summary.cpuMeanPct.bare)} % |`,
        `| undecryptable bot events at the client; bot WARN/ERROR log lines | ${summary.undecryptable}; ` +
          `${summary.botLogLines.warn}/${summary.botLogLines.error} | - |`,
        ...(traffic.errors.length ? ["", `Client errors (${traffic.errors.length}): ${traffic.errors.slice(0, 5).join(" · ")}`] : []),
        "",
      ];
      process.stdout.write(lines.join("\n"));
    }
  } finally {
    await cleanup();
  }
}

/** m:ss since the load started. */
function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function growText(g?: { from: number; to: number; delta: number; pct: number }): string {
  if (!g) return "n/a";
  return `${g.from.toFixed(0)} → ${g.to.toFixed(0)} MiB (${g.delta >= 0 ? "+" : ""}${g.delta.toFixed(1)} MiB, ${g.pct >= 0 ? "+" : ""}${g.pct.toFixed(1)} %)`;
}

await soak();
process.exit(0);
