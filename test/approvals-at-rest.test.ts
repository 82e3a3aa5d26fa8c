// Issue 12 item 12 (approvals half): approvals.json keeps no secret in clear. With [matrix] storage_key the secret
// answers a pending request needs are sealed (AES-256-GCM) and survive a restart; without one they stay in memory
// only, and a request restored without them fails clearly instead of starting with missing values.
import test from "ava";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fakeEngine, type FakeEngine } from "./helpers-chat/fake-engine.js";
import { ALICE, BOB, OPS_ROOM } from "./helpers-chat/ops.js";
import { sealText, openSealed } from "../src/util/seal.js";
import type { SurveyVar, TemplateSpec } from "../src/emulator/index.js";
import type { StartTaskRequest } from "../src/semaphore/client.js";

const SURVEY_SECRET = "S3cret-Survey-Answer";
const ARGS_SECRET = "Hunter2-From-Args";
const INI = `
[room "${OPS_ROOM}"]
run = ${ALICE}
approve = ${BOB}

[template "Infrastructure/Set password"]
approvals_required = 1
approvers = ${BOB}
approval_expiry = 600
`;

// A survey var of type "secret" arrived after v2.10; the emulator keeps survey_vars as a newer server sends them.
const TEMPLATE: TemplateSpec = {
  name: "Set password",
  app: "ansible",
  playbook: "pw.yml",
  allowOverrideArgsInTask: true,
  surveyVars: [
    { name: "admin_pw", title: "Admin password", type: "secret", required: true, description: "", values: [] },
    { name: "env", title: "Environment", type: "", required: true, description: "", values: [] },
  ] as unknown as SurveyVar[],
};

async function engine(matrix?: string, stateDir?: string): Promise<FakeEngine> {
  const e = fakeEngine({ users: [ALICE, BOB], ini: INI, persist: true, matrix, stateDir });
  (await e.semaphore.emulator).addTemplate(1, TEMPLATE);
  return e;
}

async function ask(e: FakeEngine) {
  const run = await e.ops.tasks.resolveRun(e.actor(ALICE), {
    project: "1",
    template: "Set password",
    vars: { admin_pw: SURVEY_SECRET, env: "prod" },
    args: ["-e", `db_password=${ARGS_SECRET}`, "-v"],
  });
  return e.ops.approvals.create(e.actor(ALICE), run);
}

const onDisk = (e: FakeEngine) => readFileSync(join(e.stateDir, "approvals.json"), "utf8");
const startedWith = (e: FakeEngine) => e.semaphore.callsOf("startTask").map((c) => c[1] as StartTaskRequest);

test("without storage_key: no secret on disk; approved in the same run it starts with the secrets; after a restart it fails clearly", async (t) => {
  const e = await engine();
  let again: FakeEngine | undefined;
  try {
    const r1 = await ask(e);
    const r2 = await ask(e);
    const text = onDisk(e);
    t.false(text.includes(SURVEY_SECRET), text);
    t.false(text.includes(ARGS_SECRET), text);
    t.true(text.includes("prod"), "what is not secret is kept");
    const done = await e.ops.approvals.approve(e.actor(BOB), r1);
    t.is(done.req.status, "started");
    t.deepEqual(startedWith(e)[0]!.environment, { admin_pw: SURVEY_SECRET, env: "prod" });
    t.deepEqual(startedWith(e)[0]!.extraArgs, ["-e", `db_password=${ARGS_SECRET}`, "-v"]);
    t.false(onDisk(e).includes(SURVEY_SECRET));

    await e.close();
    again = await engine(undefined, e.stateDir);
    const restored = again.ops.approvals.get(r2.id)!;
    t.is(restored.status, "pending");
    const after = await again.ops.approvals.approve(again.actor(BOB), restored);
    t.is(after.req.status, "failed");
    t.is(after.req.error, `the secret answers of ${r2.id} were not kept across the restart because no storage_key is set; ask again`);
    t.deepEqual(startedWith(again), [], "nothing started with missing values");
    const reply = await again.cmd(`approve ${r2.id}`, BOB);
    t.regex(reply.text, /failed to start \(the secret answers of r2 were not kept/);
  } finally {
    await again?.close();
    await e.close();
  }
});

for (const [kind, key] of [
  ["a 32-byte key", randomBytes(32).toString("base64")],
  ["a passphrase", "correct horse battery staple"],
] as const) {
  test(`with storage_key (${kind}): sealed on disk, and after a restart the approved run starts with the right values`, async (t) => {
    const e = await engine(`storage_key = ${key}`);
    let again: FakeEngine | undefined;
    try {
      const r1 = await ask(e);
      const text = onDisk(e);
      t.false(text.includes(SURVEY_SECRET), text);
      t.false(text.includes(ARGS_SECRET), text);
      t.regex(text, /"aes-256-gcm"/);
      await e.close();
      again = await engine(`storage_key = ${key}`, e.stateDir);
      const done = await again.ops.approvals.approve(again.actor(BOB), again.ops.approvals.get(r1.id)!);
      t.is(done.req.status, "started", done.req.error);
      t.deepEqual(startedWith(again)[0]!.environment, { admin_pw: SURVEY_SECRET, env: "prod" });
      t.deepEqual(startedWith(again)[0]!.extraArgs, ["-e", `db_password=${ARGS_SECRET}`, "-v"]);
      t.false(onDisk(again).includes(SURVEY_SECRET));
      // A different key cannot open them: the request fails clearly instead of starting.
      const r2 = await ask(again);
      await again.close();
      const wrong = await engine(`storage_key = ${randomBytes(32).toString("hex")}`, e.stateDir);
      try {
        const res = await wrong.ops.approvals.approve(wrong.actor(BOB), wrong.ops.approvals.get(r2.id)!);
        t.is(res.req.status, "failed");
        t.regex(res.req.error!, /the secret answers of r2 could not be decrypted with this \[matrix\] storage_key/);
        t.deepEqual(startedWith(wrong), []);
      } finally {
        await wrong.close();
      }
    } finally {
      await again?.close();
      await e.close();
    }
  });
}

test("seal: AES-256-GCM round trip; a wrong key, another context or a changed byte is refused", (t) => {
  for (const key of [randomBytes(32).toString("base64"), randomBytes(32).toString("hex"), "a passphrase"]) {
    const s = sealText(key, "top secret", "ctx");
    t.false(JSON.stringify(s).includes("top secret"));
    t.is(openSealed(key, s, "ctx"), "top secret");
    t.throws(() => openSealed("another key", s, "ctx"));
    t.throws(() => openSealed(key, s, "other ctx"));
    const data = Buffer.from(s.data, "base64");
    data[0] = data[0]! ^ 1;
    t.throws(() => openSealed(key, { ...s, data: data.toString("base64") }, "ctx"));
  }
});
