// Fault-test rig: a private Synapse (started by the test, never the runner's shared one), the Semaphore-compatible
// server with its ground truth (every status it set), the bot (in-process App, or the real CLI as a child process
// that can be SIGKILLed), and two people: alice (gives commands) and bob (the independent observer whose view of the
// room is what the assertions count).
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import * as net from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startSynapse, uniqueLocalpart, type SynapseHandle, type StartOptions } from "../harness/synapse.js";
import { RawClient, isReplyTo, type RawEvent } from "../harness/cs-client.js";
import { startTestBot, writeBotConfig, type TestBot } from "../harness/bot.js";
import { startSemaphoreServer, type SemaphoreServer, type SemaphoreServerOptions } from "../../src/emulator/index.js";
import { stripControl } from "../../src/util/ansi.js";

export const PASSWORD = "correct horse battery staple";
export const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** The server route that starts a task: counted to prove no command was executed twice. */
export const START_ROUTE = "POST /api/project/{project_id}/tasks";

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ""}`);
    await sleep(everyMs);
  }
}

/** Starts a private Synapse for one test and stops it when the test ends. */
export async function ownSynapse(teardown: (fn: () => Promise<void>) => void, opts: StartOptions = {}): Promise<SynapseHandle> {
  const hs = await startSynapse(opts);
  teardown(() => hs.stop());
  return hs;
}

/** The rig's Semaphore server: one delay unit of a scripted scenario, in ms. */
export const LINE_DELAY_MS = 10;
/** A scripted task: `n` lines of Ansible-like output, one every `everyMs`, then (exitCode ≠ 0) a fatal line. */
export function script(name: string, n: number, everyMs: number, exitCode = 0) {
  const lines = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `TASK [${name} step ${i}] ****` : `\x1b[0;32mok: [web${i}]\x1b[0m`));
  if (exitCode) lines.push(`\x1b[0;31mfatal: [db1]: FAILED! => {"msg": "${name} broke"}\x1b[0m`);
  return { lines, delayUnits: everyMs / LINE_DELAY_MS, exitCode };
}

export interface CliBot {
  child: ChildProcess;
  /** Everything the process wrote (stdout and stderr). */
  output(): string;
  kill(sig: NodeJS.Signals): Promise<void>;
}

/** Runs the real program headless (`node dist/screens/main.js --headless --config X`); resolves once it is running. */
export async function startCliBot(configPath: string, logTo: string): Promise<CliBot> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CHATRIXCD_")) env[k] = v;
  const child = spawn(process.execPath, [join(ROOT, "dist/screens/main.js"), "--headless", "--config", configPath], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const file: WriteStream = createWriteStream(logTo, { flags: "a" });
  const take = (d: Buffer) => {
    out += d.toString();
    file.write(d);
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const exited = new Promise<void>((r) =>
    child.once("exit", () => {
      file.end();
      r();
    }),
  );
  const bot: CliBot = {
    child,
    output: () => out,
    async kill(sig) {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      const hard = setTimeout(() => child.kill("SIGKILL"), 20_000); // a shutdown that hangs must not hang the test
      await exited;
      clearTimeout(hard);
    },
  };
  try {
    await waitUntil(
      "the bot to run headless",
      () => {
        if (child.exitCode !== null) throw new Error(`the bot exited with ${child.exitCode}:\n${out.slice(-3000)}`);
        return /running headless/.test(out);
      },
      90_000,
      100,
    );
  } catch (e) {
    await bot.kill("SIGKILL");
    throw e;
  }
  return bot;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

export interface Rig {
  hs: SynapseHandle;
  server: SemaphoreServer;
  /** Ground truth: every status the server set, per task id, consecutive repeats folded. */
  truth: Map<number, string[]>;
  botUserId: string;
  alice: RawClient;
  bob: RawClient;
  room: string;
  configPath: string;
  stateDir: string;
  /** The in-process bot (absent with cli). */
  bot?: TestBot;
  /** Transitions the in-process bot's store saw, per task id. */
  seen: Map<number, string[]>;
  close(): Promise<void>;
}

export interface RigOptions {
  /** Reuse a Synapse (default: start one for this rig). */
  hs?: SynapseHandle;
  realRateLimits?: boolean;
  /** Extra INI text for the bot; `{room}` and `{alice}` are replaced. */
  ini?: string;
  /** Don't start an in-process bot (the test runs the CLI with rig.configPath). */
  cli?: boolean;
  server?: SemaphoreServerOptions;
}

export async function faultRig(teardown: (fn: () => Promise<void>) => void, o: RigOptions = {}): Promise<Rig> {
  const hs = o.hs ?? (await ownSynapse(teardown, { realRateLimits: o.realRateLimits }));
  const botU = await hs.registerUser(uniqueLocalpart("bot"), PASSWORD);
  const a = await hs.registerUser(uniqueLocalpart("alice"), PASSWORD);
  const b = await hs.registerUser(uniqueLocalpart("bob"), PASSWORD);
  const alice = new RawClient(hs.url, a.accessToken, a.userId);
  const bob = new RawClient(hs.url, b.accessToken, b.userId);
  const room = await alice.createRoom({ invite: [botU.userId, bob.userId], name: "faults" });
  await bob.call("POST", `/join/${encodeURIComponent(room)}`, {});
  const truth = new Map<number, string[]>();
  const server = await startSemaphoreServer({
    tickMs: 30,
    lineDelayMs: LINE_DELAY_MS,
    seed: "demo",
    schedules: false,
    onTaskUpdate: (task) => {
      const l = truth.get(task.id) ?? [];
      if (l.at(-1) !== task.status) l.push(task.status);
      truth.set(task.id, l);
    },
    ...o.server,
  });
  const ini =
    `[bot]\ndefault_room_access = read\n[room "${room}"]\nrun = ${alice.userId}\nstop = ${alice.userId}\nread = ` +
    `*\n[semaphore]\npoll_interval = 1\n${(o.ini ?? "").replaceAll("{room}", room).replaceAll("{alice}", alice.userId)}`;
  const cfg = {
    homeserver: hs.url,
    userId: botU.userId,
    password: PASSWORD,
    allowed: [alice.userId, bob.userId],
    semaphore: { url: server.url, token: server.tokens["runner"]! },
    extra: ini,
  };
  const seen = new Map<number, string[]>();
  let bot: TestBot | undefined;
  let configPath: string;
  let stateDir: string;
  if (o.cli) {
    ({ path: configPath, stateDir } = writeBotConfig(cfg));
  } else {
    bot = await startTestBot(cfg);
    configPath = bot.configPath;
    stateDir = bot.stateDir;
    bot.app.store.on("transition", (t) => {
      const l = seen.get(t.taskId) ?? [];
      l.push(String(t.status));
      seen.set(t.taskId, l);
    });
    await alice.waitForMembership(room, botU.userId, "join", 30_000);
  }
  const rig: Rig = {
    hs,
    server,
    truth,
    botUserId: botU.userId,
    alice,
    bob,
    room,
    configPath,
    stateDir,
    bot,
    seen,
    async close() {
      await bot?.stop();
      await server.stop();
    },
  };
  teardown(() => rig.close());
  return rig;
}

// ---- the room as a client sees it --------------------------------------------------------------------------------

/** Every event of the room, oldest first (paginated, so nothing is cut off). */
export async function roomEvents(c: RawClient, roomId: string): Promise<RawEvent[]> {
  const out: RawEvent[] = [];
  let from: string | undefined;
  for (;;) {
    const r = await c.call<{ chunk: RawEvent[]; end?: string }>(
      "GET",
      `/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=500${from ? `&from=${encodeURIComponent(from)}` : ""}`,
    );
    out.push(...r.chunk);
    if (!r.end || r.chunk.length === 0) break;
    from = r.end;
  }
  return out.reverse();
}

const rel = (e: RawEvent) => e.content?.["m.relates_to"] as Record<string, any> | undefined;
export const isEdit = (e: RawEvent) => rel(e)?.rel_type === "m.replace";
export const isThread = (e: RawEvent) => rel(e)?.rel_type === "m.thread";
const CARD_HEAD = /^\S+ (.+) #(\d+): ([a-z ]+)$/;
const TERMINAL = new Set(["success", "error", "stopped", "rejected"]);

export interface CardView {
  card: RawEvent;
  taskId: number;
  edits: RawEvent[];
  thread: RawEvent[];
  mentions: RawEvent[];
  /** Status shown by the newest edit (or the card itself). */
  status: string;
  /** Edits that show a final status. */
  finalEdits: RawEvent[];
}

export interface BotView {
  all: RawEvent[];
  /** The bot's m.room.message events. */
  bot: RawEvent[];
  cards: CardView[];
  /** Bot events whose content is byte-for-byte the same as an earlier one (a duplicated send). */
  duplicates: RawEvent[];
  /** Edits of events that are not cards (prompts confirmed, …), by target. */
  otherEdits: Map<string, RawEvent[]>;
}

export function headOf(body: string | undefined): { name: string; taskId: number; status: string } | undefined {
  const m = CARD_HEAD.exec((body ?? "").split("\n")[0] ?? "");
  return m ? { name: m[1]!, taskId: Number(m[2]), status: m[3]!.replace(/ /g, "_") } : undefined;
}

export function botView(all: RawEvent[], botUserId: string): BotView {
  const bot = all.filter((e) => e.sender === botUserId && e.type === "m.room.message");
  const cards: CardView[] = [];
  for (const e of bot) {
    if (isEdit(e) || isThread(e) || e.content.msgtype !== "m.notice") continue;
    const h = headOf(e.content.body);
    if (!h) continue;
    const edits = bot.filter((x) => isEdit(x) && rel(x)!.event_id === e.event_id);
    const last = edits.at(-1)?.content["m.new_content"]?.body ?? e.content.body;
    cards.push({
      card: e,
      taskId: h.taskId,
      edits,
      thread: bot.filter((x) => isThread(x) && rel(x)!.event_id === e.event_id),
      mentions: bot.filter(
        (x) => !isEdit(x) && !isThread(x) && rel(x)?.["m.in_reply_to"]?.event_id === e.event_id && (x.content["m.mentions"]?.user_ids?.length ?? 0) > 0,
      ),
      status: headOf(last)?.status ?? "?",
      finalEdits: edits.filter((x) => TERMINAL.has(headOf(x.content["m.new_content"]?.body)?.status ?? "")),
    });
  }
  const seen = new Set<string>();
  const duplicates: RawEvent[] = [];
  for (const e of bot) {
    const k = JSON.stringify(e.content);
    if (seen.has(k)) duplicates.push(e);
    seen.add(k);
  }
  const cardIds = new Set(cards.map((c) => c.card.event_id));
  const otherEdits = new Map<string, RawEvent[]>();
  for (const e of bot) if (isEdit(e) && !cardIds.has(rel(e)!.event_id)) otherEdits.set(rel(e)!.event_id, [...(otherEdits.get(rel(e)!.event_id) ?? []), e]);
  return { all, bot, cards, duplicates, otherEdits };
}

/** The task's output as Semaphore has it, control sequences removed: what the thread must hold, line for line. */
export async function semaphoreOutput(server: SemaphoreServer, taskId: number): Promise<string> {
  const r = await fetch(`${server.url}/api/project/1/tasks/${taskId}/output`, { headers: { Authorization: `Bearer ${server.adminToken}` } });
  const lines = (await r.json()) as Array<{ output: string }>;
  return lines.map((l) => stripControl(l.output)).join("\n");
}

export const threadText = (c: CardView) => c.thread.map((e) => e.content.body as string).join("\n");

/** Largest number of edits a card may have over `spanMs` at one per 2 s, plus the final one. */
export const maxEdits = (spanMs: number) => Math.floor(spanMs / 2000) + 1;

/** Smallest gap between consecutive edits of a card (server timestamps), ms; Infinity with fewer than two. */
export function minEditGap(c: CardView): number {
  let min = Infinity;
  for (let i = 1; i < c.edits.length; i++) min = Math.min(min, c.edits[i]!.origin_server_ts - c.edits[i - 1]!.origin_server_ts);
  return min;
}

// ---- chat ------------------------------------------------------------------------------------------------------

export interface ChatRun {
  cmd: string;
  prompt: RawEvent;
  yes: string;
  card: RawEvent;
  taskId: number;
}

/** `!cd run …` from alice, answered `yes`: returns the card the bot posted in reply. */
export async function runFromChat(r: Rig, line: string, timeoutMs = 30_000): Promise<ChatRun> {
  const cmd = await r.alice.send(r.room, line);
  const prompt = await r.bob.waitFor(r.room, (e) => e.sender === r.botUserId && isReplyTo(cmd)(e), timeoutMs, `the prompt for ${line}`);
  const yes = await r.alice.send(r.room, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: prompt.event_id } } });
  const card = await r.bob.waitFor(r.room, (e) => e.sender === r.botUserId && isReplyTo(yes)(e), timeoutMs, `the card for ${line}`);
  const head = headOf(card.content.body);
  if (!head) throw new Error(`not a card: ${card.content.body}`);
  return { cmd, prompt, yes, card, taskId: head.taskId };
}

export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
