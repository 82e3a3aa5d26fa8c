// The permission matrix: users × rooms × actions, through the real chat intake (MatrixBot over a fake client:
// allowed-room and allowed-user gates, confirmations answered "yes"), against our Semaphore-compatible server. What
// executed is read from the ground truth (Semaphore's tasks and their status, the approval request, the alias file,
// the room settings), never from the reply text, and compared with an oracle written from the documented rules
// (README "Permissions", [room] and [template] keys), independently of src/core/permissions.ts.
import test from "ava";
import { startSemaphoreServer } from "../src/emulator/index.js";
import { startEngine, ADMIN, ALICE, BOB, CAROL, MALLORY, OPS_ROOM, OTHER_ROOM } from "./helpers-chat/ops.js";
import { fakeMatrix } from "./helpers-prove/fake-matrix.js";
import { taskKey } from "../src/core/store.js";

const DAVE = "@dave:test";
const DEV_ROOM = "!dev:test";
const STRAY_ROOM = "!stray:test";
const USERS = [ADMIN, ALICE, BOB, CAROL, DAVE, MALLORY] as const;
const ROOMS = [OPS_ROOM, DEV_ROOM, OTHER_ROOM, STRAY_ROOM] as const;
type Perm = "read" | "run" | "stop" | "approve" | "admin";

// ---- the policy, once as INI and once as the oracle's data ----
const POLICY = {
  admins: [ADMIN],
  allowed: [ALICE, BOB, CAROL, DAVE],
  allowedRooms: [OPS_ROOM, DEV_ROOM, OTHER_ROOM, "#ops:test"],
  rooms: {
    [OPS_ROOM]: { run: [ALICE, BOB], stop: [ALICE], approve: [BOB, CAROL], read: ["*"], projects: ["*"] },
    [DEV_ROOM]: { run: ["*"], stop: [CAROL], approve: [DAVE], read: [ALICE, CAROL, DAVE], projects: ["Internal tools"] },
  } as Record<string, { run: string[]; stop: string[]; approve: string[]; read: string[]; projects: string[] }>,
  defaultRoomAccess: "read" as const,
};
const INI = `
[bot]
allowed_users = ${POLICY.allowed.join(", ")}
allowed_rooms = "${POLICY.allowedRooms.join(", ")}"

[room "${OPS_ROOM}"]
run = ${POLICY.rooms[OPS_ROOM]!.run.join(", ")}
stop = ${POLICY.rooms[OPS_ROOM]!.stop.join(", ")}
approve = ${POLICY.rooms[OPS_ROOM]!.approve.join(", ")}
read = *

[room "${DEV_ROOM}"]
run = *
stop = ${CAROL}
approve = ${DAVE}
read = ${ALICE}, ${CAROL}, ${DAVE}
projects = Internal tools

[template "Infrastructure/Rotate certificates"]
approvals_required = 1
`;

const listed = (l: string[], u: string) => l.includes("*") || l.includes(u);
/** Is the user answered at all in this room (allowed room and user)? */
const heard = (u: string, r: string) => POLICY.allowedRooms.includes(r) && (POLICY.admins.includes(u) || POLICY.allowed.includes(u));
/** In a room with a policy, every command also needs read there (a user who may run but not read is refused). */
function may(u: string, r: string, p: Perm): boolean {
  if (!heard(u, r)) return false;
  if (POLICY.admins.includes(u)) return true;
  if (p === "admin") return false;
  const pol = POLICY.rooms[r];
  if (!pol) return p === "read" && POLICY.defaultRoomAccess === "read";
  return listed(pol.read, u) && listed(pol[p], u);
}
/** A room without a section sees no project ([bot] default_room_projects is empty here); admins see all. */
const sees = (u: string, r: string, project: string) => POLICY.admins.includes(u) || (!!POLICY.rooms[r] && listed(POLICY.rooms[r]!.projects, project));

interface Action {
  name: string;
  /** Expected: does it execute? */
  oracle(u: string, r: string): boolean;
  /** Set up what the action needs; returns the command line and a probe of the ground truth. */
  prepare(u: string, r: string, n: number): Promise<{ line: string; executed(): Promise<boolean> }>;
}

test("users × rooms × actions: exactly the permitted ones execute", async (t) => {
  t.timeout(240_000);
  const server = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 5, seed: "demo", schedules: false, maxParallelTasks: 0 });
  const e = await startEngine({ ini: INI, server, token: server.adminToken });
  const m = fakeMatrix(e.ops, e.stateDir);
  const long1 = server.addTemplate(1, { name: "Long one", scenario: { lines: Array.from({ length: 400 }, (_, i) => `one ${i}`), delayUnits: 20 } });
  const long2 = server.addTemplate(2, { name: "Long two", scenario: { lines: Array.from({ length: 400 }, (_, i) => `two ${i}`), delayUnits: 20 } });
  const started = async (u: string, r: string, projectId: number) =>
    (await e.ops.semaphore!.lastTasks(projectId, 500)).filter((x) => (x.message ?? "").startsWith(`Started by ${u} in ${r} `)).length;
  const waitStatus = async (id: number, ok: (s: string) => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (ok(String(server.getTask(id)?.status))) return true;
      await new Promise((res) => setTimeout(res, 20));
    }
    return false;
  };
  const running = async (projectId: number, templateId: number) => {
    const task = server.startTaskAs(projectId, templateId, { userId: 1 });
    await waitStatus(task.id, (s) => s === "running");
    const end = Date.now() + 5000;
    while (!e.store.tasks.get(taskKey(projectId, task.id)) && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
    return task.id;
  };
  const alice = { kind: "chat" as const, userId: ALICE, roomId: OPS_ROOM };

  const actions: Action[] = [
    {
      name: "read: projects",
      oracle: (u, r) => may(u, r, "read") && (sees(u, r, "Infrastructure") || sees(u, r, "Internal tools")),
      // Only what was sent for this command counts: a stranger refused earlier now gets silence, not a new reply.
      async prepare() {
        const before = m.sent.length;
        return {
          line: "projects",
          executed: async () =>
            /Infrastructure|Internal tools/.test(
              m.sent
                .slice(before)
                .map((s) => s.content.body ?? "")
                .join("\n"),
            ),
        };
      },
    },
    ...[
      [1, "Infrastructure", "1 1"],
      [2, "Internal tools", "2 6"],
    ].map(([pid, pname, args]) => ({
      name: `run in ${pname}`,
      oracle: (u: string, r: string) => may(u, r, "run") && sees(u, r, pname as string),
      async prepare(u: string, r: string) {
        const before = await started(u, r, pid as number);
        return { line: `run ${args}`, executed: async () => (await started(u, r, pid as number)) > before };
      },
    })),
    ...[
      [1, "Infrastructure", long1.id],
      [2, "Internal tools", long2.id],
    ].map(([pid, pname, tpl]) => ({
      name: `stop in ${pname}`,
      oracle: (u: string, r: string) => may(u, r, "stop") && sees(u, r, pname as string),
      async prepare() {
        const id = await running(pid as number, tpl as number);
        return {
          line: `stop ${id}`,
          async executed() {
            // the long task cannot end by itself meanwhile
            const did = await waitStatus(id, (s) => s !== "running" && s !== "waiting" && s !== "starting", 300);
            if (!did) await e.ops.semaphore!.stopTask(pid as number, id, true); // keep the pool free for the next case
            return did;
          },
        };
      },
    })),
    {
      name: "confirm a Terraform plan",
      oracle: (u, r) => may(u, r, "approve") && sees(u, r, "Infrastructure"),
      async prepare() {
        const task = server.startTaskAs(1, 4, { userId: 1 });
        await waitStatus(task.id, (s) => s === "waiting_confirmation");
        const end = Date.now() + 5000;
        while (e.store.tasks.get(taskKey(1, task.id))?.status !== "waiting_confirmation" && Date.now() < end) await new Promise((res) => setTimeout(res, 20));
        return {
          line: `confirm ${task.id}`,
          async executed() {
            const did = await waitStatus(task.id, (s) => s !== "waiting_confirmation", 300);
            if (!did) await e.ops.semaphore!.rejectTask(1, task.id).catch(() => e.ops.semaphore!.stopTask(1, task.id, true));
            return did;
          },
        };
      },
    },
    // Rotate certificates needs one approval; alice asked for it in the ops room. The approver needs approve
    // permission in the room where the run was asked for and may not be the requester; only admins see (and may
    // answer) a request from another room: to anyone else there it does not exist (issue 12 item 5).
    {
      name: "approve alice's request from the ops room",
      oracle: (u, r) => may(u, r, "read") && u !== ALICE && may(u, OPS_ROOM, "approve") && (r === OPS_ROOM || POLICY.admins.includes(u)),
      async prepare() {
        const run = await e.ops.tasks.resolveRun(alice, { project: "1", template: "Rotate", vars: { cert_domain: "x.example", ca: "internal" } });
        const req = await e.ops.approvals.create(alice, run);
        return { line: `approve ${req.id}`, executed: async () => e.ops.approvals.get(req.id)!.approvals.length > 0 };
      },
    },
    {
      name: "admin: aliases add",
      oracle: (u, r) => may(u, r, "admin"),
      async prepare(_u, _r, n) {
        const name = `al${n}`;
        return { line: `aliases add ${name} ping`, executed: async () => e.ops.aliases.get(name) !== undefined };
      },
    },
    {
      name: "log on (run permission)",
      oracle: (u, r) => may(u, r, "run"),
      async prepare(_u, r) {
        await e.ops.roomSettings.setLog(r, false);
        return { line: "log on", executed: async () => e.ops.roomSettings.logSetting(r) === true };
      },
    },
  ];

  const wrong: string[] = [];
  const table: string[] = [];
  let n = 0,
    allowed = 0;
  try {
    for (const a of actions) {
      for (const r of ROOMS) {
        const row: string[] = [];
        for (const u of USERS) {
          const { line, executed } = await a.prepare(u, r, ++n);
          const cmd = await m.message(r, u, `!cd ${line}`);
          const prompt = m.repliesTo(cmd).find((s) => /Reply yes or no/.test(s.content.body ?? ""));
          if (prompt) await m.message(r, u, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: prompt.eventId } } });
          const did = await executed();
          const want = a.oracle(u, r);
          if (want) allowed++;
          row.push(did ? "✔" : "·");
          if (did !== want) {
            const said = m.sent
              .filter((s) => s.content["m.relates_to"]?.["m.in_reply_to"]?.event_id === cmd)
              .map((s) => s.content.body)
              .join(" / ");
            wrong.push(
              `${a.name} by ${u} in ${r}: ${did ? "EXECUTED" : "did not execute"}, expected ` +
                `${want ? "execution" : "refusal"} (bot said: ${said.slice(0, 200) || "nothing"})`,
            );
          }
        }
        table.push(`${a.name.padEnd(42)} ${r.padEnd(13)} ${row.join(" ")}`);
      }
    }
  } finally {
    await m.stop();
    await e.close();
    await server.stop();
  }
  t.log(`${n} cases (${allowed} permitted), users ${USERS.map((u) => u.slice(1, u.indexOf(":"))).join(" ")}:\n${table.join("\n")}`);
  t.deepEqual(wrong, []);
});
