// Issue 12 item 5 (approvals half): a chat actor sees only the approval requests made in their room. Another
// room's request is answered as if it did not exist: no template, requester or approver named. Admins and the
// console see all.
import test from "ava";
import { fakeEngine } from "./helpers-chat/fake-engine.js";
import { ADMIN, ALICE, BOB, CAROL, OPS_ROOM, OTHER_ROOM } from "./helpers-chat/ops.js";
import { CONSOLE_ACTOR } from "../screens/context.js";

const DAVE = "@dave:test";
const INI = `
[room "${OPS_ROOM}"]
run = ${ALICE}
approve = ${BOB}, ${CAROL}

[room "${OTHER_ROOM}"]
run = ${DAVE}
approve = ${BOB}, ${CAROL}

[template "Infrastructure/Deploy web"]
approvals_required = 1
approvers = ${BOB}, ${CAROL}
approval_expiry = 600
`;

/** Names that belong to the ops room's request and must not reach the other room. */
const OPS_SECRETS = [/Deploy web/, new RegExp(ALICE), /r1\b/, new RegExp(CAROL)];

test("approve/deny of another room's request: answered as unknown, nothing of it named; that room's own list only", async (t) => {
  const e = fakeEngine({ users: [ALICE, BOB, CAROL, DAVE], ini: INI });
  try {
    const ask = async (who: string, room: string) => {
      const run = await e.ops.tasks.resolveRun(e.actor(who, room), { project: "1", template: "Deploy web" });
      return e.ops.approvals.create(e.actor(who, room), run);
    };
    const inOps = await ask(ALICE, OPS_ROOM);
    const inOther = await ask(DAVE, OTHER_ROOM);
    t.deepEqual([inOps.id, inOther.id], ["r1", "r2"]);

    for (const line of ["approve r1", "deny r1", "deny r1 no reason", "approve r9", "deny r9"]) {
      const text = (await e.cmd(line, BOB, OTHER_ROOM)).text;
      const ref = line.split(" ")[1];
      t.regex(text, new RegExp(`There is no approval request "${ref}" in this room\\. Pending here: r2\\.`), line);
      for (const re of OPS_SECRETS.slice(0, 2)) t.notRegex(text.replace(/There is no approval request "r1"/, ""), re, `${line}: ${text}`);
    }
    t.is(e.ops.approvals.get("r1")!.status, "pending", "the ops room's request was not touched from the other room");
    t.deepEqual(e.ops.approvals.get("r1")!.approvals, []);
    const tasks = (await e.cmd("tasks", DAVE, OTHER_ROOM)).text;
    t.notRegex(tasks, /r1 |@alice:test/, tasks);
    t.regex(tasks, /r2 Deploy web/);
    // The room's own request and the ops room's view are unchanged.
    t.regex((await e.cmd("approve r9", BOB)).text, /There is no approval request "r9" in this room\. Pending here: r1\./);
    t.regex((await e.cmd("approve r1", BOB)).text, /Approved r1 \(1\/1\); Deploy web started as task \d+/);
    // Direct calls (cards, other front ends) hold the same line.
    const r2 = e.ops.approvals.get("r2")!;
    await t.throwsAsync(() => e.ops.approvals.deny(e.actor(CAROL, OPS_ROOM), r2), { message: /There is no approval request "r2" in this room/ });
    // Admins and the console see every room's requests.
    t.regex((await e.cmd("approve r9", ADMIN, OTHER_ROOM)).text, /There is no approval request "r9"\. Pending ones: r2\./);
    t.regex((await e.cmd("approve r9", ADMIN, "!elsewhere:test")).text, /Pending ones: r2\./);
    t.is(e.ops.approvals.find(CONSOLE_ACTOR, "r2").id, "r2");
    t.regex((await e.cmd("deny r2 not now", CAROL, OTHER_ROOM)).text, /Denied r2 \(Deploy web\); it will not run/);
  } finally {
    await e.close();
  }
});
