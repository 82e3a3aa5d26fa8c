// Command set against the in-process Semaphore-compatible server (no Matrix): every command's happy path and its
// error paths, confirmations, approvals, permissions, audit, aliases.
import test from "ava";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startEngine, waitUntil, ADMIN, ALICE, BOB, CAROL, MALLORY, OPS_ROOM, OTHER_ROOM, type Engine } from "./helpers-chat/ops.js";
import { parseRunArgs } from "../src/commands/run-options.js";
import { validateSurvey } from "../src/core/task-ops.js";
import type { Reply } from "../src/commands/types.js";
import type { AuditRecord } from "../src/core/audit.js";

/** Every audit record so far, oldest first (waits for pending writes). */
const audit = async (e: Engine): Promise<AuditRecord[]> => (await e.ops.audit.recent(100_000)).reverse();

async function confirmYes(r: Reply): Promise<Reply> {
  if (!r.confirm) throw new Error(`expected a confirmation prompt, got: ${r.text}`);
  return r.confirm.onConfirm();
}

// ---- parsing ----

test("run options: positionals, lists, flags, = forms, --args quoting, survey vars", (t) => {
  const r = parseRunArgs([
    "Infra",
    "Deploy web",
    "--tags",
    "web,db",
    "--skip-tags=slow",
    "--limit",
    "web1",
    "--args",
    '-e "x=1 2" --check',
    "--branch=main",
    "--dry-run",
    "--diff",
    "--debug",
    "env=prod",
    "n=3",
  ]);
  t.true(r.ok);
  if (!r.ok) return;
  t.deepEqual(r.request, {
    project: "Infra",
    template: "Deploy web",
    tags: ["web", "db"],
    skipTags: ["slow"],
    limit: ["web1"],
    args: ["-e", "x=1 2", "--check"],
    branch: "main",
    dryRun: true,
    diff: true,
    debug: true,
    vars: { env: "prod", n: "3" },
  });
  t.deepEqual(parseRunArgs([]), { ok: true, request: {} });
});

test("run options: every bad input says what is wrong", (t) => {
  const err = (args: string[]) => {
    const r = parseRunArgs(args);
    return r.ok ? "" : r.error;
  };
  t.regex(err(["1", "2", "--tags"]), /--tags needs a value, e.g. --tags web,db/);
  t.regex(err(["--tgas", "x"]), /unknown option "--tgas"; did you mean --tags\?/);
  t.regex(err(["--dry-run=yes"]), /is a switch and takes no value/);
  t.regex(err(["1", "2", "3"]), /unexpected "3": run takes at most a project and a template/);
  t.regex(err(["a=1", "a=2"]), /a is given twice/);
  t.regex(err(["a=1", "proj"]), /comes after key=value/);
  t.regex(err(["--args", '"unterminated']), /--args cannot be read: unbalanced double quote/);
  t.regex(err(["--branch", "a b"]), /one branch name/);
  t.regex(err(["--tags", ","]), /needs at least one name/);
});

test("survey validation: required, int, enum, unknown names", (t) => {
  const survey = [
    { name: "domain", title: "Domain", required: true, type: "", description: "", values: [], default_value: null },
    { name: "days", title: "Days", required: false, type: "int", description: "", values: [], default_value: null },
    {
      name: "ca",
      title: "CA",
      required: true,
      type: "enum",
      description: "",
      values: [
        { name: "LE", value: "letsencrypt" },
        { name: "Int", value: "internal" },
      ],
      default_value: null,
    },
  ];
  t.deepEqual(validateSurvey({ domain: "a.example", days: "30", ca: "internal" }, survey), {
    env: { domain: "a.example", days: 30, ca: "internal" },
    problems: [],
  });
  const bad = validateSurvey({ days: "thirty", ca: "verisign", colour: "red" }, survey).problems.join("; ");
  t.regex(bad, /colour is not a survey variable of this template \(known: domain, days, ca\)/);
  t.regex(bad, /domain is required/);
  t.regex(bad, /days must be a whole number, not "thirty"/);
  t.regex(bad, /ca must be one of letsencrypt, internal, not "verisign"/);
});

// ---- basics ----

test("parser: case-insensitive names, unknown command hint, unbalanced quotes, empty line is help", async (t) => {
  const e = await startEngine({ tracker: false });
  try {
    t.regex((await e.cmd("PING")).text, /Pong/);
    t.regex((await e.cmd("Help")).text, /Commands:/);
    t.regex((await e.cmd("")).text, /Commands:/);
    const unk = await e.cmd("projetcs");
    t.regex(unk.text, /Unknown command "projetcs". Did you mean !cd projects\?/);
    const q = await e.cmd('run "Infrastructure');
    t.regex(q.text, /Could not read the command: unbalanced double quote at character 5/);
    t.regex((await e.cmd("help run")).text, /!cd run \[project \[template\]\].*\n.*survey variables.*\nNeeds: run/s);
    t.regex((await e.cmd("help nosuch")).text, /No command named "nosuch"/);
    t.false((await e.cmd("help")).text.includes("pet"), "hidden commands are not listed");
    t.regex((await e.cmd("help pet")).text, /Be nice to the bot/);
  } finally {
    await e.close();
  }
});

test("projects and templates: by id or unique prefix; ambiguous, unknown and extra args explained", async (t) => {
  const e = await startEngine({ tracker: false });
  try {
    const p = await e.cmd("projects");
    t.regex(p.text, /1\s+Infrastructure/);
    t.false(p.text.includes("Internal tools"), "the runner token does not see project 2");
    t.regex((await e.cmd("templates")).text, /Templates of Infrastructure \(1\)/, "the only project is picked");
    t.regex((await e.cmd("templates infra")).text, /Deploy web[\s\S]*Rotate certificates.*vars: cert_domain\*, validity_days, ca\*/);
    t.regex((await e.cmd("templates 1")).text, /Terraform apply \[terraform\]/);
    t.regex((await e.cmd("templates 99")).text, /No project matches "99". List them with: projects/);
    t.regex((await e.cmd("templates a b")).text, /takes one project/);
    t.regex((await e.cmd("projects x")).text, /projects takes no arguments/);
    const ambiguous = await e.cmd("run 1 R");
    t.regex(ambiguous.text, /"R" matches 2 templates: .*\. Use the id or a longer name\./);
    t.regex(ambiguous.text, /Run migrations \(\d+\)/);
    t.regex(ambiguous.text, /Rotate certificates \(\d+\)/);
    t.regex((await e.cmd("run 1")).text, /Which template\? Deploy web/);
    t.regex((await e.cmd("run 1 nosuch")).text, /No template matches "nosuch"/);
  } finally {
    await e.close();
  }
});

test("run: confirmation prompt names the exact target; confirm starts the task and returns its card; survey vars validated", async (t) => {
  const e = await startEngine();
  try {
    t.regex(
      (await e.cmd('run Infra "Deploy web" app_version=9.9')).text,
      /Cannot run Deploy web: app_version is not a survey variable of this template \(it has none\)/,
    );
    const prompt = await e.cmd('run Infra "Deploy web" --tags web --limit web1');
    t.regex(prompt.text, /Run Deploy web \(template \d+\) in Infrastructure \(project 1\) with tags web, limit web1\?/);
    t.is(prompt.confirm?.kind, "run");
    const started = await confirmYes(prompt);
    t.truthy(started.card && "taskKey" in started.card);
    const key = (started.card as { taskKey: string }).taskKey;
    const task = e.store.tasks.get(key)!;
    t.is(task.templateName, "Deploy web");
    t.deepEqual(task.origin, { via: "chat", user: ALICE, roomId: OPS_ROOM });
    await waitUntil(() => e.store.tasks.get(key)?.status === "success", 20_000, "deploy to succeed");
    const sent = e.server.getTask(task.taskId)!;
    t.regex(String(sent.message), new RegExp(`Started by ${ALICE} in ${OPS_ROOM.replace("!", "\\!")}`));
    // per-room last task: status with no id in this room finds it; another room has none
    t.regex((await e.cmd("status")).text, new RegExp(`Deploy web #${task.taskId}: success`));
    t.regex((await e.cmd("status", { room: OTHER_ROOM })).text, /none was started from here yet/);
    const rotate = await e.cmd("run 1 Rotate cert_domain=www.example.org ca=internal validity_days=30");
    t.regex(rotate.text, /with cert_domain=www.example.org, ca=internal, validity_days=30\?|with .*cert_domain=www.example.org/);
    const rot = await confirmYes(rotate);
    const rotTask = e.store.tasks.get((rot.card as { taskKey: string }).taskKey)!;
    t.deepEqual(JSON.parse(String(e.server.getTask(rotTask.taskId)!.environment)), { cert_domain: "www.example.org", ca: "internal", validity_days: 30 });
    t.regex(
      (await e.cmd("run 1 Rotate --tags web cert_domain=a.example ca=internal")).text,
      /Cannot run Rotate certificates with --tags\/--skip-tags .*: the template does not allow CLI arguments in a task, so Semaphore would silently ignore/,
    );
    const survey = await e.cmd("run 1 Rotate validity_days=ten");
    t.regex(survey.text, /Cannot run Rotate certificates: .*cert_domain is required.*validity_days must be a whole number, not "ten".*ca is required/);
    const rec = (await audit(e)).find((r) => r.action === "run" && r.outcome === "ok")!;
    t.is(rec.who, ALICE);
    t.is(rec.where, OPS_ROOM);
    t.is(rec.taskId, task.taskId);
    t.deepEqual((rec.params as any).tags, ["web"]);
  } finally {
    await e.close();
  }
});

test("secret survey answers are masked in the prompt and the audit log", async (t) => {
  const e = await startEngine({ tracker: false });
  try {
    e.server.addTemplate(1, {
      name: "Vault rotate",
      surveyVars: [{ name: "vault_password", title: "pw", required: true, type: "", description: "", values: null }],
      scenario: { lines: ["ok"] },
    });
    const prompt = await e.cmd("run 1 Vault vault_password=hunter2hunter2");
    t.false(prompt.text.includes("hunter2hunter2"));
    t.regex(prompt.text, /vault_password=‹masked›/);
    await confirmYes(prompt);
    const lines = readFileSync(join(e.stateDir, "audit.jsonl"), "utf8");
    t.false(lines.includes("hunter2hunter2"));
    t.true(
      e.server
        .getTask([...e.store.tasks.values()][0]!.taskId)!
        .environment!.toString()
        .includes("hunter2hunter2"),
      "Semaphore still gets the real value",
    );
  } finally {
    await e.close();
  }
});

test("permissions: unconfigured rooms are read-only, refusals say why and are audited, admins everywhere", async (t) => {
  const e = await startEngine({ tracker: false });
  try {
    const r1 = await e.cmd("run 1 Deploy", { room: OTHER_ROOM });
    t.regex(r1.text, /🚫 Not allowed to use run: this room has no \[room "!other:test"\] section, so only read-only commands are allowed here/);
    // A room without a section sees no project unless [bot] default_room_projects grants some (issue 12 item 3).
    const unconfigured = (await e.cmd("projects", { room: OTHER_ROOM })).text;
    t.notRegex(unconfigured, /Infrastructure/);
    t.regex(unconfigured, /default_room_projects/);
    t.regex((await e.cmd("ping", { room: OTHER_ROOM })).text, /Pong/i, "read-only commands still work there");
    const r2 = await e.cmd("run 1 Deploy", { user: CAROL });
    t.regex(r2.text, /@carol:test is not in run for this room/);
    t.regex((await e.cmd("rooms join #x:test")).text, /only admin_users may do this/);
    t.regex((await e.cmd("aliases add d run 1 Deploy")).text, /Not allowed to add aliases: only admin_users/);
    t.truthy((await e.cmd("run 1 Deploy", { user: ADMIN, room: OTHER_ROOM })).confirm, "admins may run anywhere");
    const refused = (await audit(e)).filter((r) => r.outcome === "refused");
    t.true(refused.some((r) => r.who === ALICE && r.where === OTHER_ROOM && r.action === "run" && /no \[room/.test(r.detail!)));
    t.true(refused.some((r) => r.who === CAROL && r.action === "run"));
    t.true(refused.some((r) => r.action === "add aliases"));
  } finally {
    await e.close();
  }
});

test("room policy limits projects and templates", async (t) => {
  const e = await startEngine({ tracker: false, ini: `[room "${OPS_ROOM}"]\nrun = *\nprojects = Infrastructure\ntemplates = Deploy web\n` });
  try {
    t.regex((await e.cmd("templates 1")).text, /Deploy web/);
    t.false((await e.cmd("templates 1")).text.includes("Full backup"));
    t.regex((await e.cmd("run 1 Full")).text, /No template matches "Full"/);
  } finally {
    await e.close();
  }
});

test("stop: asks first, refuses finished tasks, --force, unknown ids and bad options", async (t) => {
  const e = await startEngine();
  try {
    const started = await confirmYes(await e.cmd("run 1 Full"));
    const key = (started.card as { taskKey: string }).taskKey;
    const id = e.store.tasks.get(key)!.taskId;
    await waitUntil(() => e.store.tasks.get(key)?.status === "running", 10_000, "backup to run");
    t.regex((await e.cmd("stop --bogus")).text, /stop takes only --force/);
    t.regex((await e.cmd("stop 1 2")).text, /one task id/);
    t.regex((await e.cmd("stop 424242")).text, /Task 424242 was not found in any project visible here/);
    t.regex((await e.cmd("stop abc")).text, /"abc" is not a task id/);
    t.regex((await e.cmd("stop", { user: BOB })).text, /not in stop for this room/);
    const prompt = await e.cmd("stop --force");
    t.regex(prompt.text, new RegExp(`Force-stop Full backup #${id} \\(running, Infrastructure\\)\\?`));
    await prompt.confirm!.onCancel!();
    t.is(e.store.tasks.get(key)!.status, "running", "cancel does nothing");
    t.regex((await confirmYes(await e.cmd(`stop ${id} --force`))).text, /Force-stopping Full backup/);
    await waitUntil(() => e.store.tasks.get(key)?.status === "stopped", 10_000, "stopped");
    t.regex((await e.cmd(`stop ${id}`)).text, /already finished \(stopped\); nothing to stop/);
    t.true((await audit(e)).some((r) => r.action === "stop --force" && r.outcome === "ok" && r.taskId === id));
    t.true((await audit(e)).some((r) => r.action === "stop --force" && r.outcome === "cancelled"));
  } finally {
    await e.close();
  }
});

test("logs, tasks, history, status of a failed task", async (t) => {
  const e = await startEngine();
  try {
    t.regex((await e.cmd("tasks")).text, /No active tasks/);
    const started = await confirmYes(await e.cmd("run 1 Run"));
    const key = (started.card as { taskKey: string }).taskKey;
    await waitUntil(() => e.store.tasks.get(key)?.status === "running", 10_000, "running");
    t.regex((await e.cmd("tasks")).text, /Active tasks:\n.*Run migrations #\d+ · running · Infrastructure/);
    await waitUntil(() => e.store.tasks.get(key)?.status === "error", 20_000, "migration to fail");
    const st = await e.cmd("status");
    t.regex(st.text, /❌ Run migrations #\d+: error/);
    t.regex(st.text, /Recap: ok \d+ · changed \d+ · unreachable 0 · failed 1/);
    t.regex(st.html!, /href="http:\/\/127\.0\.0\.1:\d+\/project\/1\/history\?t=\d+"/);
    const logs = await e.cmd("logs");
    t.regex(logs.text, /Output of Run migrations #\d+ \(error\)/);
    t.regex(logs.text, /Specified key was too long/);
    t.regex(logs.html!, /<pre><code>[\s\S]*data-mx-color="#cc0000"/);
    t.notRegex(logs.text, /\x1b\[/);
    t.regex((await e.cmd("logs 1 2")).text, /logs takes one task id/);
    const h = await e.cmd("history");
    t.regex(h.text, /Recent runs:\n/);
    t.regex(h.text, new RegExp(`❌ #${e.store.tasks.get(key)!.taskId} Run migrations · error .* · ${ALICE.replace(/[.]/g, "\\.")}`));
    const mine = await e.cmd(`history --user ${ALICE}`);
    t.true(
      mine.text
        .split("\n")
        .slice(1)
        .every((l) => l.includes(ALICE)),
    );
    t.regex((await e.cmd("history Deploy")).text, /Deploy web/);
    t.regex((await e.cmd("history --user alice")).text, /--user needs a full Matrix ID/);
    t.regex((await e.cmd(`history --user ${BOB}`)).text, /No runs started by @bob:test found/);
  } finally {
    await e.close();
  }
});

test("Semaphore errors become clear replies (HTML 502 from a proxy, slow server, unreachable)", async (t) => {
  const e = await startEngine({ tracker: false });
  try {
    e.server.faults.setHtml502(true);
    const r = await e.cmd("projects");
    t.regex(r.text, /⚠️ projects failed: .*502/);
    t.notRegex(r.text, /<html>/);
    e.server.faults.setHtml502(false);
    await e.server.outage();
    const down = await e.cmd("templates 1");
    t.regex(down.text, /⚠️ templates failed: .*(reach|connect|refused)/i);
    const ping = await e.cmd("ping");
    t.regex(ping.text, /Semaphore is not reachable/);
    await e.server.restart();
    t.regex((await e.cmd("projects")).text, /Infrastructure/);
  } finally {
    await e.close();
  }
});

test("Terraform-style confirmation: confirm/reject/approve <task> act on tasks Semaphore holds", async (t) => {
  const e = await startEngine({ ini: `[room "${OPS_ROOM}"]\nrun = ${ALICE}\napprove = ${BOB}\n` });
  try {
    const started = await confirmYes(await e.cmd("run 1 Terraform"));
    const key = (started.card as { taskKey: string }).taskKey;
    const id = e.store.tasks.get(key)!.taskId;
    await waitUntil(() => e.store.tasks.get(key)?.status === "waiting_confirmation", 20_000, "waiting_confirmation");
    t.regex((await e.cmd(`confirm ${id}`)).text, /not in approve for this room/);
    t.regex((await e.cmd("confirm 1 2", { user: BOB })).text, /takes one task or request id/);
    t.regex((await e.cmd("approve", { user: BOB })).text, new RegExp(`Confirmed Terraform apply #${id}`));
    await waitUntil(() => e.store.tasks.get(key)?.status === "success", 20_000, "apply to finish");
    t.regex((await e.cmd(`confirm ${id}`, { user: BOB })).text, /is success, not waiting for confirmation/);
    t.true((await audit(e)).some((r) => r.action === "confirm" && r.who === BOB && r.taskId === id && r.outcome === "ok"));
  } finally {
    await e.close();
  }
});

// ---- approvals ----

const APPROVAL_INI = `
[room "${OPS_ROOM}"]
run = ${ALICE}, ${BOB}
approve = ${BOB}, ${CAROL}

[template "Infrastructure/Deploy web"]
approvals_required = 2
approvers = ${ALICE}, ${BOB}, ${CAROL}
approval_expiry = 60
`;

test("approval quorum: the run starts only after 2 distinct approvers; self-approval and repeats refused", async (t) => {
  const e = await startEngine({ ini: APPROVAL_INI });
  try {
    const prompt = await e.cmd("run 1 Deploy");
    t.regex(prompt.text, /needs 2 approvals from @alice:test, @bob:test and @carol:test before it starts/);
    const asked = await confirmYes(prompt);
    t.deepEqual(asked.card, { requestId: "r1" });
    t.deepEqual(asked.mentions, [BOB, CAROL]);
    t.is(e.store.tasks.size > 0 ? [...e.store.tasks.values()].filter((x) => x.origin?.via === "chat").length : 0, 0, "nothing started yet");
    t.regex((await e.cmd("approve r1")).text, /Not allowed to approve r1: @alice:test asked for this run, and nobody may approve their own run/);
    t.regex((await e.cmd("approve r1", { user: MALLORY, room: OPS_ROOM })).text, /not on|not in|allowed_users/);
    t.regex((await e.cmd("approve r1", { user: BOB })).text, /Approved r1: 1\/2, waiting on @carol:test/);
    t.regex((await e.cmd("approve r1", { user: BOB })).text, /You already approved r1/);
    t.regex((await e.cmd("tasks")).text, /r1 Deploy web · 1\/2 · asked by @alice:test/);
    const done = await e.cmd("approve", { user: CAROL });
    t.regex(done.text, /Approved r1 \(2\/2\); Deploy web started as task \d+/);
    const req = e.ops.approvals.get("r1")!;
    t.is(req.status, "started");
    t.truthy(e.store.tasks.get(`1:${req.taskId}`));
    t.regex((await e.cmd("approve r1", { user: CAROL })).text, /already approved and started/);
    const run = (await audit(e)).find((r) => r.action === "run" && r.outcome === "ok")!;
    t.deepEqual(run.approvals, [BOB, CAROL]);
    t.is(run.who, ALICE, "the run is attributed to the requester");
    t.true((await audit(e)).some((r) => r.action === "approve" && r.outcome === "refused" && r.who === ALICE));
  } finally {
    await e.close();
  }
});

test("approval: deny, withdraw, expiry, unknown request, not an approver", async (t) => {
  const e = await startEngine({
    ini: APPROVAL_INI.replace("approval_expiry = 60", 'approval_expiry = 60\n\n[template "1/Full backup"]\napprovals_required = 1'),
  });
  try {
    await confirmYes(await e.cmd("run 1 Deploy"));
    t.regex((await e.cmd("deny r1 not today", { user: BOB })).text, /Denied r1 \(Deploy web\); it will not run/);
    t.is(e.ops.approvals.get("r1")!.reason, "not today");
    t.regex((await e.cmd("approve r1", { user: CAROL })).text, /denied by @bob:test/);
    await confirmYes(await e.cmd("run 1 Deploy"));
    t.regex((await e.cmd("deny r2")).text, /Withdrawn: r2/);
    t.regex((await e.cmd("approve r9", { user: BOB })).text, /There is no approval request "r9"/);
    // the backup policy has no approver list: room approve permission decides
    await confirmYes(await e.cmd("run 1 Full", { user: BOB }));
    t.regex((await e.cmd("approve r3", { user: ALICE })).text, /@alice:test is not in approve for this room/);
    const r3 = e.ops.approvals.get("r3")!;
    r3.expiresAt = Date.now() - 1;
    t.regex((await e.cmd("approve r3", { user: CAROL })).text, /Request r3 is expired/);
    t.true((await audit(e)).some((r) => r.action === "run requested" && r.outcome === "cancelled" && /expired/.test(r.detail ?? "")));
  } finally {
    await e.close();
  }
});

test("approval requests survive a restart of the engine", async (t) => {
  const e = await startEngine({ ini: APPROVAL_INI, tracker: false });
  await confirmYes(await e.cmd("run 1 Deploy"));
  await e.cmd("approve r1", { user: BOB });
  await new Promise((r) => setTimeout(r, 100));
  const { Operations } = await import("../src/core/operations.js");
  const again = new Operations({ store: e.store, logger: e.logger, config: e.ops.config, auditFile: join(e.stateDir, "audit.jsonl"), stateDir: e.stateDir });
  again.semaphore = e.ops.semaphore;
  again.startServices();
  try {
    const r = again.approvals.get("r1")!;
    t.is(r.status, "pending");
    t.deepEqual(
      r.approvals.map((a) => a.user),
      [BOB],
    );
    const done = await again.approvals.approve({ kind: "chat", userId: CAROL, roomId: OPS_ROOM }, r);
    t.is(done.req.status, "started");
  } finally {
    await again.stopServices();
    await e.close();
  }
});

test("template policy sections are validated", async (t) => {
  const { loadConfig } = await import("../src/config/load.js");
  const dir = (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "chatrixcd-pol-"));
  const f = join(dir, "c.ini");
  writeFileSync(
    f,
    `[semaphore]\nurl = http://x\napi_token = abcdefgh\n[template "nodash"]\n[template "P/T"]\napprovals_required = 3\napprovers = @a:x, bob\napprovalz ` +
      `= 1\n[template "P/U"]\napprovals_required = 2\napprovers = @a:x\n`,
  );
  const cfg = loadConfig(f, { env: {} });
  const msgs = cfg.issues.map((i) => i.message).join("\n");
  t.regex(msgs, /expected \[template "<project>\/<template>"\]/);
  t.regex(msgs, /"bob" is not a full Matrix ID/);
  t.regex(msgs, /unknown key in a template section; did you mean approvers\?/);
  t.regex(msgs, /2 approvals are required but only 1 approver is listed/);
  t.false(cfg.ok);
});

// ---- aliases ----

test("aliases: add, use with extra args, list, remove; reserved names and bad targets refused; audited", async (t) => {
  const e = await startEngine({ tracker: false });
  try {
    const add = await e.cmd('aliases add deploy run Infrastructure "Deploy web" --tags web', { user: ADMIN });
    t.regex(add.text, /Alias deploy → !cd run Infrastructure "Deploy web" --tags web/);
    const used = await e.cmd("DEPLOY --limit web1");
    t.regex(used.text, /Run Deploy web .* with tags web, limit web1\?/);
    t.regex((await e.cmd("aliases")).text, /deploy → run Infrastructure "Deploy web" --tags web/);
    t.regex((await e.cmd("aliases add status ping", { user: ADMIN })).text, /status is a command name, and command names are reserved/);
    t.regex((await e.cmd("aliases add HELP ping", { user: ADMIN })).text, /reserved/);
    t.regex((await e.cmd("aliases add x deploy", { user: ADMIN })).text, /must start with a command name/);
    t.regex((await e.cmd('aliases add "bad name" ping', { user: ADMIN })).text, /an alias name is 1–32 letters/);
    t.regex((await e.cmd('aliases add p "ping"', { user: ADMIN })).text, /Alias p → !cd ping/);
    t.regex((await e.cmd('aliases add q "!cd run 1 2"', { user: ADMIN })).text, /Alias q → !cd run 1 2/, "a leading prefix is dropped");
    t.regex((await e.cmd("help deploy")).text, /deploy is an alias for: !cd run Infrastructure/);
    t.regex((await e.cmd("aliases remove nosuch", { user: ADMIN })).text, /There is no alias "nosuch"/);
    t.regex((await e.cmd("aliases remove deploy", { user: ADMIN })).text, /Alias deploy removed/);
    t.regex((await e.cmd("deploy")).text, /Unknown command "deploy"/);
    t.regex((await e.cmd("aliases frob", { user: ADMIN })).text, /Unknown aliases action "frob"/);
    const file = JSON.parse(readFileSync(join(e.stateDir, "aliases.json"), "utf8"));
    t.deepEqual(Object.keys(file).sort(), ["p", "q"]);
    t.true((await audit(e)).some((r) => r.action === "aliases add" && r.who === ADMIN));
  } finally {
    await e.close();
  }
});

test("aliases file is hot reloaded; a broken file keeps the old aliases and says why", async (t) => {
  const e = await startEngine({ tracker: false });
  try {
    const file = join(e.stateDir, "aliases.json");
    writeFileSync(file, JSON.stringify({ hello: "ping", info: "ping", bad: "nosuch" }));
    await waitUntil(() => e.ops.aliases.get("hello"), 5000, "alias reload");
    t.regex((await e.cmd("hello")).text, /Pong/);
    t.is(e.ops.aliases.get("info"), undefined, "reserved names in the file are skipped");
    t.regex(e.ops.aliases.problems.join("\n"), /"info" skipped: info is a command name/);
    t.regex(e.ops.aliases.problems.join("\n"), /"bad" skipped: the command must start with a command name/);
    writeFileSync(file, "{ not json");
    await waitUntil(() => e.ops.aliases.problems.some((p) => /not valid JSON/.test(p)), 5000, "problem noticed");
    t.is(e.ops.aliases.get("hello"), "ping");
    t.regex((await e.cmd("aliases")).text, /Problems in .*not valid JSON/);
  } finally {
    await e.close();
  }
});

test("messages file: pet and scold use it, hot reloaded; bad categories reported", async (t) => {
  const dir = (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "chatrixcd-msg-"));
  const file = join(dir, "messages.json");
  writeFileSync(file, JSON.stringify({ pet: ["purr {name}"] }));
  const e = await startEngine({ tracker: false, ini: `messages_file = ${file}\n${'[room "!ops:test"]\nrun = *\n'}` });
  try {
    t.is((await e.cmd("pet")).text, `purr ${ALICE}`);
    t.regex((await e.cmd("scold")).text, /./);
    writeFileSync(file, JSON.stringify({ pet: ["meow"], nonsense: ["x"] }));
    await waitUntil(async () => (await e.cmd("pet")).text === "meow", 5000, "messages reload");
    t.regex(e.ops.messages.problems.join(), /unknown category "nonsense"/);
  } finally {
    await e.close();
  }
});

// ---- rooms, info, admins, log, subscribe ----

test("admins, info (no host info unless configured), rooms usage errors, exit is confirmed and admin-only", async (t) => {
  const e = await startEngine({ tracker: false });
  try {
    t.regex((await e.cmd("admins")).text, /@admin:test/);
    const info = await e.cmd("info");
    t.regex(info.text, /Version: ChatrixCD \d/);
    t.regex(info.text, /Semaphore · Reachable: yes/);
    t.regex(info.text, /Counters · Commands: \d+ handled/);
    t.notRegex(info.text, /Host ·/);
    t.regex((await e.cmd("rooms")).text, /not in any room/);
    t.regex((await e.cmd("rooms join", { user: ADMIN })).text, /Usage: !cd rooms join/);
    t.regex((await e.cmd("rooms frob", { user: ADMIN })).text, /Unknown rooms action "frob"/);
    t.regex((await e.cmd("rooms join nothing", { user: ADMIN })).text, /Matrix is not configured|not a room ID/);
    t.regex((await e.cmd("exit")).text, /only admin_users/);
    let shutdown = "";
    (e.ops as any).deps.requestShutdown = (why: string) => {
      shutdown = why;
    };
    const prompt = await e.cmd("exit", { user: ADMIN });
    t.is(prompt.confirm?.kind, "exit");
    t.is(shutdown, "");
    await confirmYes(prompt);
    await waitUntil(() => shutdown, 2000, "shutdown");
    t.is(shutdown, "exit command");
  } finally {
    await e.close();
  }
});

test("info shows host names only when show_host_info is on", async (t) => {
  const e = await startEngine({ tracker: false, ini: `show_host_info = true\n` });
  try {
    t.regex((await e.cmd("info")).text, /Host · Name: \S+/);
  } finally {
    await e.close();
  }
});

test("log on/off and subscribe/unsubscribe are per room and persisted", async (t) => {
  const e = await startEngine({ tracker: false });
  try {
    t.regex((await e.cmd("log on", { user: BOB })).text, /now goes into each status card's thread/);
    t.regex((await e.cmd("log off", { user: CAROL })).text, /not in run for this room/);
    t.is(e.ops.roomSettings.logSetting(OPS_ROOM), true);
    t.regex((await e.cmd("log on off")).text, /Usage: !cd log on\|off/);
    t.regex((await e.cmd("subscribe")).text, /no subscriptions/);
    t.regex((await e.cmd("subscribe Infra failures")).text, /cards for failed runs only of Infrastructure/);
    t.regex((await e.cmd('subscribe 1 "Full backup" finished')).text, /every run when it finishes of Infrastructure \/ Full backup/);
    t.regex((await e.cmd("subscribe 1 nosuch")).text, /No template matches "nosuch"/);
    t.regex((await e.cmd("subscribe 99")).text, /No project matches "99"/);
    t.regex((await e.cmd("subscribe")).text, /Infrastructure \(1\): failed runs only\n.*Full backup: every run when it finishes/);
    t.regex((await e.cmd("subscribe 1", { room: OTHER_ROOM })).text, /Not allowed to use subscribe/);
    t.regex((await e.cmd("unsubscribe")).text, /Usage: !cd unsubscribe/);
    t.regex((await e.cmd("unsubscribe Zzz")).text, /no subscription to a project matching "Zzz"/);
    t.regex((await e.cmd("unsubscribe Infra Full")).text, /Unsubscribed from Infrastructure \/ Full backup/);
    const saved = JSON.parse(readFileSync(join(e.stateDir, "rooms.json"), "utf8"));
    t.is(saved.rooms[OPS_ROOM].log, true);
    t.is(saved.rooms[OPS_ROOM].subscriptions.length, 1);
  } finally {
    await e.close();
  }
});

test("injection: template names, args and aliases are escaped in every formatted body", async (t) => {
  const e = await startEngine({ tracker: false, ini: `[room "${OPS_ROOM}"]\nrun = *\n` });
  try {
    const evil = `<img src=x onerror=alert(1)> **bold** [x](javascript:alert(1))`;
    e.server.addTemplate(1, { name: evil, description: "<script>alert(2)</script>", allowOverrideArgsInTask: true, scenario: { lines: ["<b>out</b>"] } });
    const list = await e.cmd("templates 1");
    t.false(list.html!.includes("<img"), list.html);
    t.false(list.html!.includes("<script>"));
    t.true(list.html!.includes("&lt;img src=x onerror=alert(1)&gt;"));
    const prompt = await e.cmd(`run 1 "<img" --args "<b>x</b>" --tags "<i>t</i>"`);
    t.truthy(prompt.confirm, prompt.text);
    t.false(prompt.html!.includes("<img"));
    t.false(prompt.html!.includes("<b>x</b>"));
    t.false(prompt.html!.includes("<i>t</i>"));
    await e.cmd('aliases add evil "run 1 <img"', { user: ADMIN });
    const al = await e.cmd("aliases");
    t.false(al.html!.includes("<img"));
    const unknown = await e.cmd("<script>alert(1)</script>");
    t.false(unknown.html!.includes("<script>"));
    const help = await e.cmd("help <b>");
    t.false(help.html!.includes("<b>&"));
    t.notRegex(help.html!, /<b>(?!Commands|Needs)/);
  } finally {
    await e.close();
  }
});
