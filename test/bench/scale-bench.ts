// F9 scale: our headless bot (encryption on) and the bare js-sdk bot (bare-bot.ts) side by side on one real Synapse,
// both joined to the same rooms; our Semaphore-compatible server with 500 tasks followed over the websocket (running
// tasks printing a line every ~3 s, queued ones, finished ones); 50 rooms subscribed; 20 users sending 10 commands/s
// in total (ping, status, tasks, logs, run + yes). Both bots run with soak-probe.js preloaded, which reports the
// event-loop delay, CPU and memory of each interval on SIGUSR2. Then the cost growth: CPU % and RSS with 1, 50, 500
// and 2,000 followed tasks. Prints figures; asserts nothing.
//   node dist/test/bench/scale-bench.js [--quick]
import "../../src/polyfill.js";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startSynapse, uniqueLocalpart, type SynapseHandle, type RegisteredUser } from "../harness/synapse.js";
import { startSemaphoreServer, type SemaphoreServer } from "../../src/emulator/index.js";
import { mulberry32 } from "../../src/util/random.js";
import { emit, ms, sleep, type Figure } from "./figures.js";
import { ReplyLedger, summarizeProbe, p50p95, slope, type ProbeSummary, type ReplySummary } from "./stats.js";
import { takeSamples, PROBE_URL, type Probed } from "./probe-client.js";
import { SyncUser } from "./sync-client.js";

const quick = process.argv.includes("--quick");
const ROOMS = quick ? 30 : 200;
const SUBSCRIBED_ROOMS = quick ? 8 : 50;
const USERS = 20;
const RATE = 10; // commands per second, all users together
const LOAD_S = quick ? 10 : 60;
const STEP_S = quick ? 4 : 15;
const IDLE_COMMANDS = quick ? 12 : 32;
const SCALE_STEPS = [1, 50, 500, 2000];
const F9_TASKS = 500;
const PASSWORD = "bench password 1234";
const entry = fileURLToPath(new URL("../../screens/main.js", import.meta.url));
const bareEntry = fileURLToPath(new URL("./bare-bot.js", import.meta.url));

// ---- Semaphore: the followed tasks ------------------------------------------------------------------------------

interface Population {
  running: number[];
  all: number;
  add(n: number): void;
}

/** Tasks in three projects: 40 % running (a line every ~3 s), 20 % queued behind one task, 40 % finished at once. */
function population(sem: SemaphoreServer): Population {
  const running = sem.createProject("Running");
  const queued = sem.createProject("Queued", { maxParallelTasks: 1 });
  const finished = sem.createProject("Finished");
  const blocker = sem.addTemplate(queued.id, {
    name: "Queue head",
    scenario: { lines: Array.from({ length: 5000 }, (_, k) => `TASK [wait ${k}]`), delayUnits: 30 },
  });
  const queuedTpl = sem.addTemplate(queued.id, { name: "Queued job", scenario: { lines: ["never runs here"], delayUnits: 1 } });
  sem.startTaskAs(queued.id, blocker.id);
  const pop: Population = {
    running: [],
    all: 0,
    add(n) {
      for (let k = 0; k < n; k++, pop.all++) {
        const slot = pop.all % 10;
        if (slot < 4 || pop.all === 0) {
          // Each its own template (tasks of one template run one at a time); 25–35 units of 100 ms apart, so they drift.
          const tpl = sem.addTemplate(running.id, {
            name: `Service ${pop.all}`,
            scenario: {
              lines: Array.from({ length: 3000 }, (_, i) => `TASK [service ${pop.all} step ${i}] ok: [host-${i % 7}]`),
              delayUnits: 25 + (pop.all % 11),
            },
          });
          pop.running.push(sem.startTaskAs(running.id, tpl.id).id);
        } else if (slot < 6) {
          sem.startTaskAs(queued.id, queuedTpl.id);
        } else {
          const tpl = sem.addTemplate(finished.id, { name: `Check ${pop.all}`, scenario: { lines: ["ok"], delayUnits: 0 } });
          sem.startTaskAs(finished.id, tpl.id);
        }
      }
    },
  };
  return pop;
}

// ---- Matrix: load users, each with its own /sync loop --------------------------------------------------------------

/** A load user: its own /sync loop (as each person's client has) and the rooms it created. */
class LoadUser extends SyncUser {
  readonly rooms: string[] = [];
  constructor(
    url: string,
    readonly user: RegisteredUser,
  ) {
    super(url, user.accessToken);
  }
}

// ---- processes and their probes ------------------------------------------------------------------------------------

function spawnProbed(args: string[], marker: RegExp, file: string): Promise<Probed> {
  const proc = spawn(process.execPath, ["--import", PROBE_URL, ...args], { env: { ...process.env, SOAK_PROBE_FILE: file }, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`F9: ${args[0]} not ready in 90 s: ${out.slice(-2000)}`)), 90_000);
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      if (marker.test(out)) {
        clearTimeout(timer);
        proc.stdout!.off("data", onData);
        proc.stdout!.resume();
        resolve({ proc, file, samples: 0 });
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`F9: ${args[0]} exited ${code}: ${out.slice(-2000)}`));
    });
  });
}

const sample = async (ps: Probed[]): Promise<ProbeSummary[]> => (await takeSamples(ps)).map(summarizeProbe);

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const done = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await Promise.race([done, sleep(10_000)]);
  if (p.exitCode === null) p.kill("SIGKILL");
}

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

const requestsPerMin = (sem: SemaphoreServer, sinceMs: number): number => {
  const s = sem.stats();
  const n = Object.entries(s.requestsByRoute)
    .filter(([k]) => k !== "GET /api/ws")
    .reduce((a, [, v]) => a + v, 0);
  return n / ((performance.now() - sinceMs) / 60_000);
};

// ---- the run -------------------------------------------------------------------------------------------------------

export async function scaleBench(): Promise<Figure[]> {
  let hs: SynapseHandle | undefined;
  const sem = await startSemaphoreServer({ seed: "empty", schedules: false, tickMs: 200, lineDelayMs: 100, maxParallelTasks: 0 });
  const state = mkdtempSync(join(tmpdir(), "chatrixcd-scale-"));
  const procs: ChildProcess[] = [];
  const users: LoadUser[] = [];
  try {
    const pop = population(sem);
    pop.add(1);
    const deploy = sem.createProject("Deploy");
    for (let i = 0; i < 4; i++)
      sem.addTemplate(deploy.id, { name: `Quick ${i}`, scenario: { lines: ["TASK [deploy]", "ok: [web]", "PLAY RECAP"], delayUnits: 2 } });

    hs = await startSynapse();
    const reg = async (p: string) => hs!.registerUser(uniqueLocalpart(p), PASSWORD);
    const [oursU, bareU] = [await reg("ours"), await reg("bare")];
    for (let i = 0; i < USERS; i++) users.push(new LoadUser(hs.url, await reg(`load${i}`)));
    const ini = join(state, "chatrixcd.ini");
    writeFileSync(
      ini,
      `[matrix]\nhomeserver = ${hs.url}\nuser_id = ${oursU.userId}\npassword = ` +
        `${PASSWORD}\n\n[semaphore]\nurl = ${sem.url}\napi_token = ${sem.adminToken}\n\n` +
        `[bot]\nstate_dir = ${state}\nadmin_users = ${users.map((u) => u.user.userId).join(", ")}\nlog_level = info\n`,
      { mode: 0o600 },
    );

    const ours = await spawnProbed([entry, "--headless", "--config", ini], /sync ready/, join(state, "probe-ours.jsonl"));
    procs.push(ours.proc);
    const bare = await spawnProbed([bareEntry, hs.url, bareU.userId, PASSWORD], /READY/, join(state, "probe-bare.jsonl"));
    procs.push(bare.proc);
    const bots = [ours, bare];

    // Rooms: user i creates every USERS-th room and invites both bots.
    for (const u of users) await u.start();
    const t0Rooms = performance.now();
    await pool(
      Array.from({ length: ROOMS }, (_, i) => i),
      6,
      async (i) => {
        const u = users[i % USERS]!;
        const roomId = (await u.call("POST", "/createRoom", { preset: "private_chat", invite: [oursU.userId, bareU.userId], name: `scale ${i}` }))
          .room_id as string;
        u.rooms.push(roomId);
        await u.waitJoin(roomId, [oursU.userId, bareU.userId]);
      },
    );
    process.stderr.write(`F9: ${ROOMS} rooms created and joined by both bots in ${((performance.now() - t0Rooms) / 1000).toFixed(0)} s\n`);

    const ledger = new ReplyLedger();
    let phase = "setup";
    /** Each user's open `run` (one at a time, as a person would): its event and room, until the `yes` is sent. */
    const pendingRun = new Map<LoadUser, { id: string; roomId: string }>();
    let sending = 0; // commands on their way to Synapse, not yet in the ledger
    const sendCommand = async (u: LoadUser, roomId: string, kind: string, body: string, inReplyTo?: string): Promise<string> => {
      const t0 = performance.now();
      sending++;
      const id = await u.send(roomId, body, inReplyTo).finally(() => sending--);
      ledger.send({ eventId: id, kind, roomId, sentAt: t0, expectFrom: kind === "ping" ? [oursU.userId, bareU.userId] : [oursU.userId], phase });
      return id;
    };
    for (const u of users) {
      u.onReply = (sender, to, at, body) => {
        ledger.reply(sender, to, at);
        // Our prompt for a `run`: answer yes in reply to it.
        const run = pendingRun.get(u);
        if (sender === oursU.userId && run && to === run.id && body.startsWith("⚠️ Run ")) {
          pendingRun.delete(u);
          void sendCommand(u, run.roomId, "yes", "yes").catch((e) => process.stderr.write(`F9: sending yes failed: ${e}\n`));
        }
      };
    }
    const waitReplies = async (limitMs: number) => {
      const end = performance.now() + limitMs;
      while ((sending > 0 || ledger.outstanding() > 0) && performance.now() < end) await sleep(100);
    };

    // Subscriptions in the first rooms (cards for failures of the running project: the matching is the cost).
    for (let i = 0; i < SUBSCRIBED_ROOMS; i++) {
      const u = users[i % USERS]!;
      await sendCommand(u, u.rooms[Math.floor(i / USERS)]!, "subscribe", "!cd subscribe Running failures");
    }
    await waitReplies(30_000);

    // Cost growth: 1, 50, 500 followed tasks (2,000 after the load).
    const growth: Array<{ tasks: number; ours: ProbeSummary; bare: ProbeSummary }> = [];
    const step = async (n: number) => {
      pop.add(n - pop.all);
      await sleep(3000); // the tracker takes in the new tasks
      await sample(bots);
      await sleep(STEP_S * 1000);
      const [o, b] = await sample(bots);
      growth.push({ tasks: n, ours: o!, bare: b! });
      process.stderr.write(`F9 growth: ${n} tasks: ours CPU ${o!.cpuPercent.toFixed(1)} %, RSS ${o!.rssMiB.toFixed(0)} MiB\n`);
    };
    for (const n of SCALE_STEPS.filter((n) => n <= F9_TASKS)) await step(n);

    // Quiet window at 500 tasks: what tracking alone asks of Semaphore.
    sem.resetStats();
    const quietStart = performance.now();
    await sleep(STEP_S * 1000);
    const quietRpm = requestsPerMin(sem, quietStart);

    // Idle reply latency, same run: one command at a time.
    const rng = mulberry32(0xf9);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const commandFor = (kind: string): string => {
      if (kind === "status") return `!cd status ${pick(pop.running)}`;
      if (kind === "logs") return `!cd logs ${pick(pop.running)}`;
      if (kind === "run") return `!cd run Deploy "Quick ${Math.floor(rng() * 4)}"`;
      return `!cd ${kind}`;
    };
    phase = "idle";
    const idleKinds = ["ping", "status", "tasks", "logs"];
    for (let i = 0; i < IDLE_COMMANDS; i++) {
      const u = users[i % USERS]!;
      const kind = idleKinds[i % idleKinds.length]!;
      const id = await sendCommand(u, u.rooms[0]!, kind, commandFor(kind));
      const end = performance.now() + 20_000;
      while ((ledger.count(id, oursU.userId) === 0 || (kind === "ping" && ledger.count(id, bareU.userId) === 0)) && performance.now() < end) await sleep(20);
    }

    // The load: RATE commands/s for LOAD_S seconds, round-robin over users, random rooms and kinds (seeded).
    phase = "load";
    const mix = ["ping", "ping", "ping", "status", "status", "tasks", "logs", "logs", "run", "run"];
    await sample(bots);
    sem.resetStats();
    const loadStart = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let k = 0; k < RATE * LOAD_S; k++) {
      const due = loadStart + (k * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const u = users[k % USERS]!;
      let kind = pick(mix);
      if (kind === "run" && pendingRun.has(u)) kind = "ping";
      const room = pick(u.rooms);
      sends.push(
        sendCommand(u, room, kind, commandFor(kind))
          .then((id) => {
            if (kind === "run") pendingRun.set(u, { id, roomId: room });
          })
          .catch((e) => process.stderr.write(`F9: sending failed: ${e}\n`)),
      );
    }
    const [loadOurs, loadBare] = await sample(bots);
    const loadRpm = requestsPerMin(sem, loadStart);
    await Promise.all(sends);
    await waitReplies(quick ? 15_000 : 30_000);
    phase = "after";

    // The 2,000-task step after the load.
    for (const n of SCALE_STEPS.filter((n) => n > F9_TASKS)) await step(n);

    const oursId = oursU.userId,
      bareId = bareU.userId;
    return report({
      idle: ledger.summary(oursId, { phase: "idle" }),
      idleBare: ledger.summary(bareId, { phase: "idle", kinds: ["ping"] }),
      load: ledger.summary(oursId, { phase: "load" }),
      loadPing: ledger.summary(oursId, { phase: "load", kinds: ["ping"] }),
      loadBare: ledger.summary(bareId, { phase: "load", kinds: ["ping"] }),
      setup: ledger.summary(oursId, { phase: "setup" }),
      probeOurs: loadOurs!,
      probeBare: loadBare!,
      loadRpm,
      quietRpm,
      growth,
    });
  } finally {
    for (const u of users) u.stop();
    for (const p of procs) await stopProc(p);
    await sem.stop();
    await hs?.stop();
    rmSync(state, { recursive: true, force: true });
  }
}

interface Results {
  idle: ReplySummary;
  idleBare: ReplySummary;
  load: ReplySummary;
  loadPing: ReplySummary;
  loadBare: ReplySummary;
  setup: ReplySummary;
  probeOurs: ProbeSummary;
  probeBare: ProbeSummary;
  loadRpm: number;
  quietRpm: number;
  growth: Array<{ tasks: number; ours: ProbeSummary; bare: ProbeSummary }>;
}

function report(r: Results): Figure[] {
  const lat = (s: ReplySummary) => {
    const { p50, p95 } = p50p95(s.latencies);
    return `p50 ${ms(p50)}, p95 ${ms(p95)}`;
  };
  const lag = (p: ProbeSummary) => `p50 ${ms(p.lag.p50)}, p99 ${ms(p.lag.p99)}, max ${ms(p.lag.max)}`;
  const cost = (p: ProbeSummary) => `CPU ${p.cpuPercent.toFixed(1)} % of a core, RSS ${p.rssMiB.toFixed(0)} MiB`;
  const scale = `${F9_TASKS} tasks, ${ROOMS} rooms (${SUBSCRIBED_ROOMS} subscribed), ${USERS} users × ${RATE} commands/s for ${LOAD_S} s`;
  const idleP95 = p50p95(r.idle.latencies).p95,
    loadP95 = p50p95(r.load.latencies).p95;
  const lostOrDoubled = r.load.lost + r.load.doubled + r.setup.lost + r.setup.doubled + r.idle.lost + r.idle.doubled;
  const g = r.growth;
  const perTask = (f: (p: ProbeSummary) => number) => slope(g.map((x) => [x.tasks, f(x.ours)]));
  return [
    {
      id: "F9",
      name: `event-loop delay under load (${scale})`,
      ours: lag(r.probeOurs),
      baseline: `bare js-sdk bot, same rooms and load: ${lag(r.probeBare)}`,
      goal: "p99 ≤ 50 ms",
      met: r.probeOurs.lag.p99 <= 50,
      note: "perf_hooks.monitorEventLoopDelay at 10 ms resolution (an idle loop reads ≈ 10 ms)",
    },
    {
      id: "F9",
      name: `command reply latency under load (${r.load.sent} commands: ping, status, tasks, logs, run + yes)`,
      ours: `${lat(r.load)}; pings alone ${lat(r.loadPing)}; idle (same run, one at a time, n=${r.idle.sent}) ${lat(r.idle)}`,
      baseline: `bare bot pings: under load ${lat(r.loadBare)}, idle ${lat(r.idleBare)}`,
      goal: "p95 ≤ 2× idle p95",
      met: loadP95 <= 2 * idleP95,
      raw: { load: r.load.latencies, idle: r.idle.latencies },
    },
    {
      id: "F9",
      name: "replies lost / doubled",
      ours:
        `lost ${r.load.lost}, doubled ${r.load.doubled} of ${r.load.sent} under load (setup ${r.setup.lost}/${r.setup.doubled} of ${r.setup.sent}, idle ` +
        `${r.idle.lost}/${r.idle.doubled} of ${r.idle.sent})`,
      baseline: `bare bot: lost ${r.loadBare.lost}, doubled ${r.loadBare.doubled} of ${r.loadBare.sent} pings`,
      goal: "0 lost, 0 doubled",
      met: lostOrDoubled === 0,
    },
    {
      id: "F9",
      name: "Semaphore requests/min and cost under load",
      ours: `${r.quietRpm.toFixed(1)}/min tracking ${F9_TASKS} tasks without commands; ${r.loadRpm.toFixed(0)}/min with the commands; ${cost(r.probeOurs)}`,
      baseline: `bare bot (no Semaphore): ${cost(r.probeBare)}`,
      goal: "tracking ≤ 2/min",
      met: r.quietRpm <= 2,
    },
    {
      id: "F9",
      name: `cost growth by followed tasks (${g.map((x) => x.tasks).join(", ")}; ${STEP_S} s each, no commands)`,
      ours:
        g.map((x) => `${x.tasks}: ${x.ours.cpuPercent.toFixed(1)} %, ${x.ours.rssMiB.toFixed(0)} MiB`).join("; ") +
        `; slope ${(1000 * perTask((p) => p.cpuPercent)).toFixed(2)} % CPU and ${(1000 * perTask((p) => p.rssMiB)).toFixed(1)} MiB per 1,000 tasks`,
      baseline: `bare bot in the same steps: ${g.map((x) => `${x.bare.cpuPercent.toFixed(1)} %, ${x.bare.rssMiB.toFixed(0)} MiB`).join("; ")}`,
      note: "40 % of the tasks are running and print a line every ~3 s, 20 % queued, 40 % finished",
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await scaleBench()) emit(f);
  process.exit(0);
}
