// Issue 12 item 1: every state machine that gates an action is single-flight. Many actors run against the real
// operations over a fake Semaphore; a seeded scheduler (no sleeps) decides when each actor starts and when each
// parked await (audit write, Semaphore reply, chat send) resumes. Each seed is one interleaving.
import test from "ava";
import { fakeEngine, type FakeEngine } from "./helpers-chat/fake-engine.js";
import { FIRST_NEW_TASK_ID, emulatorTaskIn } from "./helpers-semaphore.js";
import { Scheduler } from "./helpers-chat/scheduler.js";
import { ALICE, BOB, CAROL, OPS_ROOM } from "./helpers-chat/ops.js";
import { Confirmations } from "../src/matrix/confirmations.js";
import type { Reply } from "../src/commands/types.js";
import type { Actor } from "../src/core/operations.js";
import { mulberry32 } from "../src/util/random.js";

const SEEDS = Array.from({ length: 50 }, (_, i) => i + 1);
const APPROVERS = Array.from({ length: 10 }, (_, i) => `@approver${i}:test`);

/** Audit writes park in the scheduler; their records are kept for the checks. */
function parkAudit(e: FakeEngine, s: Scheduler): Array<{ who: string; action: string; outcome: string }> {
  const records: Array<{ who: string; action: string; outcome: string }> = [];
  e.ops.audit.record = async (actor: Actor, action: string, outcome: string) => {
    records.push({ who: actor.kind === "chat" ? actor.userId : "console", action, outcome });
    await s.park(`audit ${action} ${outcome}`);
  };
  return records;
}

function approvalEngine(needed: number): FakeEngine {
  return fakeEngine({
    users: [ALICE, ...APPROVERS],
    ini:
      `[room "${OPS_ROOM}"]\nrun = ${ALICE}\n\n[template "Infrastructure/Deploy web"]\napprovals_required = ${needed}\n` +
      `approvers = ${APPROVERS.join(", ")}\napproval_expiry = 600\n`,
  });
}

test("approval quorum under 10 concurrent approvers and deniers (50 seeded interleavings): one start or none, every actor told the truth", async (t) => {
  const seen = new Set<string>();
  for (const seed of SEEDS) {
    const rnd = mulberry32(seed * 7919);
    const needed = 1 + Math.floor(rnd() * 3);
    const e = approvalEngine(needed);
    try {
      const run = await e.ops.tasks.resolveRun(e.actor(ALICE), { project: "1", template: "Deploy web" });
      const req = await e.ops.approvals.create(e.actor(ALICE), run);
      const s = new Scheduler(seed);
      parkAudit(e, s);
      e.semaphore.startTask = s.delayed("startTask reply", e.semaphore.startTask.bind(e.semaphore));
      const replies: Array<{ who: string; line: string; text: string }> = [];
      const actors = APPROVERS.map((who) => ({ who, line: rnd() < 0.75 ? `approve ${req.id}` : `deny ${req.id}` }));
      if (rnd() < 0.3) actors.push({ who: ALICE, line: `deny ${req.id}` }); // the requester withdraws
      await s.run(
        actors.map((a) => ({
          name: `${a.who} ${a.line}`,
          act: async () => {
            replies.push({ ...a, text: (await e.cmd(a.line, a.who)).text });
          },
        })),
      );

      const why = `seed ${seed}, ${needed} needed\n${replies.map((r) => `${r.who} ${r.line} → ${r.text}`).join("\n")}\ntrace: ${s.trace.join(" | ")}`;
      const starts = e.semaphore.callsOf("startTask").length;
      t.true(starts <= 1, `at most one start; ${why}`);
      const startedAs = replies.flatMap((r) => [...r.text.matchAll(/started as task #?(\d+)/g)].map((m) => Number(m[1])));
      const saysStarting = replies.filter((r) => /starting|started as task/.test(r.text));
      const saysWillNotRun = replies.filter((r) => /will not run/.test(r.text));
      const after = e.ops.approvals.get(req.id)!;
      if (starts === 1) {
        t.is(after.status, "started", why);
        t.true(after.approvals.length >= needed, why);
        t.true(startedAs.length >= 1, `the approver who completed the quorum is told it started; ${why}`);
        t.true(
          startedAs.every((id) => id === after.taskId),
          why,
        );
        t.deepEqual(saysWillNotRun, [], `nobody is told "it will not run" about a run that started; ${why}`);
      } else {
        t.not(after.status, "started", why);
        t.deepEqual(saysStarting, [], `nobody is told it started or is starting when no start was sent; ${why}`);
        if (after.status === "denied") t.true(saysWillNotRun.length >= 1, why);
      }
      t.is(replies.length, actors.length, why);
      seen.add(starts ? "started" : after.status);
      for (const r of replies) {
        if (/was recorded, but it was denied/.test(r.text)) seen.add("approval overtaken by a deny");
        if (/already approved and starting/.test(r.text)) seen.add("refused while starting");
        if (/has all its approvals and starts unless denied first/.test(r.text)) seen.add("refused while approved");
      }
    } finally {
      await e.close();
    }
  }
  // The seeds must reach the interesting interleavings, or the test proves little.
  t.deepEqual([...seen].sort(), ["approval overtaken by a deny", "denied", "refused while approved", "refused while starting", "started"]);
});

test("a deny while the quorum approval is still being written down wins: no start, the approver is told", async (t) => {
  const e = approvalEngine(1);
  try {
    const run = await e.ops.tasks.resolveRun(e.actor(ALICE), { project: "1", template: "Deploy web" });
    const req = await e.ops.approvals.create(e.actor(ALICE), run);
    const s = new Scheduler(0);
    parkAudit(e, s);
    const tick = () => new Promise((r) => setImmediate(r));
    const approving = e.cmd(`approve ${req.id}`, APPROVERS[0]!);
    await tick(); // the approval completes the quorum and waits for its audit write
    const denying = e.cmd(`deny ${req.id}`, APPROVERS[1]!);
    await tick();
    let answered = false;
    void Promise.all([approving, denying]).then(() => {
      answered = true;
    });
    while (!answered) {
      s.releaseAll();
      await tick();
    }
    const [a, d] = await Promise.all([approving, denying]);
    t.regex(d.text, /Denied r1 \(Deploy web\); it will not run/);
    t.regex(a.text, /approval of r1 was recorded, but it was denied by @approver1:test meanwhile; it will not run/);
    t.is(e.semaphore.callsOf("startTask").length, 0);
    t.is(e.ops.approvals.get(req.id)!.status, "denied");
  } finally {
    await e.close();
  }
});

test("an approval or a deny after the start was sent is refused: already starting", async (t) => {
  const e = approvalEngine(1);
  try {
    const run = await e.ops.tasks.resolveRun(e.actor(ALICE), { project: "1", template: "Deploy web" });
    const req = await e.ops.approvals.create(e.actor(ALICE), run);
    let answer!: () => void;
    const gate = new Promise<void>((r) => {
      answer = r;
    });
    const start = e.semaphore.startTask.bind(e.semaphore);
    e.semaphore.startTask = async (p, r) => {
      const task = await start(p, r);
      await gate;
      return task;
    };
    const approving = e.cmd(`approve ${req.id}`, APPROVERS[0]!);
    while (e.semaphore.callsOf("startTask").length === 0) await new Promise((r) => setImmediate(r));
    t.regex((await e.cmd(`approve ${req.id}`, APPROVERS[1]!)).text, /Request r1 is already approved and starting; nothing to do/);
    t.regex((await e.cmd(`deny ${req.id}`, APPROVERS[2]!)).text, /Request r1 is already approved and starting; it can no longer be denied/);
    answer();
    t.regex((await approving).text, new RegExp(`Approved r1 \\(1/1\\); Deploy web started as task ${FIRST_NEW_TASK_ID}`));
    t.is(e.semaphore.callsOf("startTask").length, 1);
  } finally {
    await e.close();
  }
});

// ---- Semaphore confirm/reject and stop ----

const TASK_INI = `[room "${OPS_ROOM}"]\nstop = *\napprove = *\n`;
const ACTORS = [ALICE, BOB, CAROL, ...APPROVERS.slice(0, 5)];
/** A task of the emulator in `status`, put into the bot's store as the tracker would. */
async function trackedTask(e: FakeEngine, status: "running" | "waiting_confirmation") {
  const task = await emulatorTaskIn(await e.semaphore.emulator, 1, status);
  const t = { projectId: 1, taskId: task.id, templateId: task.template_id, templateName: "Deploy web", projectName: "Infrastructure", status };
  return e.ops.store.upsertTask(t);
}

test("confirm and reject racing on one task waiting for confirmation (50 seeds): one request to Semaphore, the others told who won", async (t) => {
  for (const seed of SEEDS) {
    const e = fakeEngine({ users: ACTORS, ini: TASK_INI, semaphore: { apiFlavor: "modern" } }); // v2.10 can't reject
    try {
      const { taskId } = await trackedTask(e, "waiting_confirmation");
      const s = new Scheduler(seed);
      parkAudit(e, s);
      e.semaphore.confirmTask = s.delayed("confirmTask reply", e.semaphore.confirmTask.bind(e.semaphore));
      e.semaphore.rejectTask = s.delayed("rejectTask reply", e.semaphore.rejectTask.bind(e.semaphore));
      const rnd = mulberry32(seed);
      const replies: string[] = [];
      await s.run(
        ACTORS.map((who) => {
          const line = rnd() < 0.5 ? `confirm ${taskId}` : `reject ${taskId}`;
          return {
            name: `${who} ${line}`,
            act: async () => {
              replies.push(`${who} ${line} → ${(await e.cmd(line, who)).text}`);
            },
          };
        }),
      );
      const why = `seed ${seed}\n${replies.join("\n")}`;
      const sent = [...e.semaphore.callsOf("confirmTask").map(() => "confirm"), ...e.semaphore.callsOf("rejectTask").map(() => "reject")];
      t.is(sent.length, 1, `exactly one request to Semaphore; ${why}`);
      const won = replies.filter((r) => /→ (👍 Confirmed|🚫 Rejected) /.test(r));
      t.is(won.length, 1, `exactly one actor told it worked; ${why}`);
      t.true(won[0]!.includes(sent[0] === "confirm" ? "👍 Confirmed" : "🚫 Rejected"), why);
      const rest = replies.filter((r) => !won.includes(r));
      t.true(
        rest.every((r) => new RegExp(`Task ${taskId} (is already being|was already) (confirmed|rejected) by @`).test(r)),
        why,
      );
    } finally {
      await e.close();
    }
  }
});

test("two stops at once send one stop request; the second is told it is already being stopped; --force still escalates", async (t) => {
  for (const seed of SEEDS.slice(0, 20)) {
    const e = fakeEngine({ users: ACTORS, ini: TASK_INI });
    try {
      const task = await trackedTask(e, "running");
      const s = new Scheduler(seed);
      parkAudit(e, s);
      e.semaphore.stopTask = s.delayed("stopTask reply", e.semaphore.stopTask.bind(e.semaphore));
      const told: string[] = [];
      await s.run(
        ACTORS.slice(0, 4).map((who) => ({
          name: who,
          act: async () => {
            try {
              await e.ops.tasks.stop(e.actor(who), task);
              told.push("stopped");
            } catch (err) {
              told.push((err as Error).message);
            }
          },
        })),
      );
      t.is(e.semaphore.callsOf("stopTask").length, 1, `seed ${seed}: ${told.join(" | ")}`);
      t.is(told.filter((x) => x === "stopped").length, 1, `seed ${seed}: ${told.join(" | ")}`);
      t.true(
        told.filter((x) => x !== "stopped").every((x) => new RegExp(`Task ${task.taskId} is already being stopped \\(asked by @[^)]+\\)`).test(x)),
        told.join(" | "),
      );
      s.stopParking();
      await e.ops.tasks.stop(e.actor(BOB), task, true);
      t.deepEqual(
        e.semaphore.callsOf("stopTask").map((c) => c[2]),
        [false, true],
        "a force-stop after a plain stop is sent",
      );
    } finally {
      await e.close();
    }
  }
});

// ---- chat confirmations ----

function confirmRig(seed: number) {
  const e = fakeEngine({ users: [ALICE], ini: `[room "${OPS_ROOM}"]\nrun = ${ALICE}\n` });
  const s = new Scheduler(seed);
  let n = 0;
  const replies: Array<{ replyTo?: string; text: string }> = [];
  const edits: Array<{ id: string; text: string }> = [];
  const conf = new Confirmations(
    e.ops,
    {
      reply: async (_room, replyTo, r) => {
        const id = `$p${++n}`;
        replies.push({ replyTo, text: r.text });
        await s.park(`send ${id}`);
        return id;
      },
      edit: async (_room, id, text) => {
        edits.push({ id, text });
        await s.park(`edit ${id}`);
      },
    },
    e.ops.logger.child("confirm"),
  );
  let confirmed = 0;
  const prompt = (what: string): Reply => ({
    text: `Run ${what}? Reply yes or no.`,
    confirm: {
      kind: "run",
      summary: what,
      onConfirm: async () => {
        confirmed++;
        await s.park(`run ${what}`);
        return { text: `started ${what}` };
      },
    },
  });
  return { e, s, conf, replies, edits, prompt, confirmed: () => confirmed };
}

test('"yes" and 👍 at once on one prompt (50 seeds): exactly one run', async (t) => {
  for (const seed of SEEDS) {
    const { e, s, conf, replies, prompt, confirmed } = confirmRig(seed);
    try {
      const offered = conf.offer(OPS_ROOM, ALICE, "$cmd", prompt("A"));
      await s.run([{ name: "offer", act: () => offered }]);
      const promptId = "$p1";
      await s.run([
        {
          name: "yes",
          act: async () => {
            await conf.onMessage(OPS_ROOM, ALICE, "$yes", "yes", undefined);
          },
        },
        {
          name: "yes in reply",
          act: async () => {
            await conf.onMessage(OPS_ROOM, ALICE, "$yes2", "yes", promptId);
          },
        },
        {
          name: "👍",
          act: async () => {
            await conf.onReaction(OPS_ROOM, ALICE, promptId, "👍");
          },
        },
      ]);
      t.is(confirmed(), 1, `seed ${seed}: ${replies.map((r) => r.text).join(" | ")}`);
      t.is(replies.filter((r) => r.text === "started A").length, 1);
    } finally {
      await conf.cancelAll();
      await e.close();
    }
  }
});

test("two prompts offered at once to one requester: the older is replaced, exactly one stays open", async (t) => {
  for (const seed of SEEDS.slice(0, 20)) {
    const { e, s, conf, replies, edits, prompt, confirmed } = confirmRig(seed);
    try {
      await s.run([{ name: "first", act: () => conf.offer(OPS_ROOM, ALICE, "$c0", prompt("Z")) }]);
      await s.run([
        { name: "B", act: () => conf.offer(OPS_ROOM, ALICE, "$c1", prompt("B")) },
        { name: "C", act: () => conf.offer(OPS_ROOM, ALICE, "$c2", prompt("C")) },
      ]);
      const why = `seed ${seed}: edits ${edits.map((x) => `${x.id} ${x.text}`).join(" | ")}; pending ${e.ops.store.pending.map((p) => p.summary).join(", ")}`;
      t.is(e.ops.store.pending.length, 1, `one open prompt; ${why}`);
      const open = conf.pendingFor(OPS_ROOM, ALICE)!;
      t.is(open.summary, e.ops.store.pending[0]!.summary, why);
      const other = open.summary === "B" ? "C" : "B";
      const posted = replies.some((r) => r.text === `Run ${other}? Reply yes or no.`);
      const marked = edits.some((x) => x.text.includes(`Replaced by a newer request from ${ALICE}: ${other}`));
      t.is(marked, posted, `the other prompt, if it was posted, is marked replaced; ${why}`);
      s.stopParking();
      t.true(await conf.onMessage(OPS_ROOM, ALICE, "$yes", "yes", undefined));
      t.is(confirmed(), 1);
    } finally {
      await conf.cancelAll();
      await e.close();
    }
  }
});
