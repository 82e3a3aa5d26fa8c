// Issue 12 items 11 and 12 (console history): secrets given as run parameters (`--args` key=value and JSON extra
// vars, secret survey answers) are masked in every rendering (prompt, "Confirmed" edit, cards, approval card, audit
// file, log) while Semaphore receives them; the console's command history keeps no secret, and a masked line
// recalled from it is refused rather than run with the placeholder as the value. Aliases (stored command lines) too.
import test from "ava";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startSemaphoreServer } from "../src/emulator/index.js";
import { startEngine, waitUntil, ADMIN, ALICE, BOB, OPS_ROOM, type Engine } from "./helpers-chat/ops.js";
import { fakeMatrix, type FakeMatrix } from "./helpers-prove/fake-matrix.js";
import { leaks, readText, type Secret } from "./helpers-prove/secrets.js";
import { isSecretKey, maskArgs, maskText, maskCommandLine, MASK } from "../src/core/mask.js";
import { harness, fakeApp, KEY } from "./console-helpers.js";
import { fieldsFor } from "../screens/dialogs/run-wizard.js";
import type { Template } from "../src/semaphore/types.js";

const SECRETS: Secret[] = [
  { name: "--args key=value", value: "hunter2" },
  { name: "--args JSON", value: "k-123" },
  { name: "secret survey answer", value: "sv-secret-42" },
  { name: "nested JSON", value: "cs-777" },
  { name: "multi-pair", value: "bt-888" },
  { name: "--extra-vars=k=v", value: "ev-999" },
];

/** The demo server (fast runs) with a template that takes CLI args and has one secret-typed survey variable. */
async function serverWithSecretTemplate(template: string, surveyVar: string) {
  const server = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 3, seed: "demo", schedules: false });
  const survey = [{ name: surveyVar, title: surveyVar, required: true, type: "secret", description: "", values: null }];
  server.addTemplate(1, { name: template, allowOverrideArgsInTask: true, surveyVars: survey as never, scenario: { lines: ["working", "done"] } });
  return server;
}

/** Every place a run's secrets could leak to: chat (all the bot sent), the audit file, the log. */
function leaksOfRun(m: FakeMatrix, e: Engine, secrets: Secret[]): string[] {
  const log = e.logger.ring
    .toArray()
    .map((x) => x.message)
    .join("\n");
  return [
    ...leaks(JSON.stringify(m.sent), secrets, "chat (prompts, Confirmed edits, cards, replies)"),
    ...leaks(readText(join(e.stateDir, "audit.jsonl")), secrets, "the audit file"),
    ...leaks(log, secrets, "the log"),
  ];
}

test("run parameters: secrets in --args and survey answers are masked in every rendering, and sent to Semaphore", async (t) => {
  t.timeout(60_000);
  const server = await serverWithSecretTemplate("Secret args", "vault_answer");
  server.addTemplate(1, { name: "Approved args", allowOverrideArgsInTask: true, scenario: { lines: ["working", "done"] } });
  const e = await startEngine({
    server,
    token: server.adminToken,
    ini: `
[room "${OPS_ROOM}"]
run = ${ALICE}
approve = ${BOB}
read = *

[template "Infrastructure/Approved args"]
approvals_required = 1
`,
  });
  const m = fakeMatrix(e.ops, e.stateDir);
  try {
    const ask = `!cd run 1 "Secret args" --args "-e db_password=hunter2 -e '{\\"api_key\\":\\"k-123\\"}'" vault_answer=sv-secret-42`;
    const askId = await m.message(OPS_ROOM, ALICE, ask);
    const prompt = m.repliesTo(askId)[0];
    t.regex(prompt?.content.body ?? "", /Run Secret args/, "the prompt");
    t.regex(prompt!.content.body, /db_password=‹masked›/, "the prompt shows which key was given");
    const yes = await m.message(OPS_ROOM, ALICE, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: prompt!.eventId } } });
    t.true(
      m.sent.some((s) => /Confirmed by/.test(s.content["m.new_content"]?.body ?? "")),
      "the prompt was edited to Confirmed",
    );
    const task = await waitUntil(
      () => [...e.store.tasks.values()].find((x) => x.templateName === "Secret args" && x.status === "success"),
      20_000,
      "the task to finish",
    );
    // The request to Semaphore carries the values unmasked.
    const sent = server.getTask(task.taskId)!;
    t.deepEqual(JSON.parse(String(sent.arguments)), ["-e", "db_password=hunter2", "-e", '{"api_key":"k-123"}']);
    t.is(JSON.parse(String(sent.environment)).vault_answer, "sv-secret-42");
    await waitUntil(
      () => m.sent.some((s) => /success/.test(s.content["m.new_content"]?.body ?? "") && /Parameters/.test(s.content["m.new_content"]?.body ?? "")),
      10_000,
      "the final card edit",
    );
    t.truthy(yes);

    // An approval request: the request card renders the run summary; --extra-vars forms and nested JSON.
    const ask2 =
      `!cd run 1 "Approved args" --args ` +
      `"--extra-vars='{\\"nested\\":{\\"client_secret\\":\\"cs-777\\"}}' -e 'a=1 ` +
      `b_token=bt-888' --extra-vars=db_pass=ev-999"`;
    const ask2Id = await m.message(OPS_ROOM, ALICE, ask2);
    const prompt2 = m.repliesTo(ask2Id)[0]!;
    t.regex(prompt2.content.body, /Run Approved args/);
    await m.message(OPS_ROOM, ALICE, "yes", { "m.relates_to": { "m.in_reply_to": { event_id: prompt2.eventId } } });
    const req = await waitUntil(() => e.ops.approvals.pending().find((r) => r.run.template.name === "Approved args"), 5000, "the approval request");
    await m.message(OPS_ROOM, BOB, `!cd approve ${req.id}`);
    const task2 = await waitUntil(
      () => [...e.store.tasks.values()].find((x) => x.templateName === "Approved args" && x.status === "success"),
      20_000,
      "the approved task to finish",
    );
    t.deepEqual(JSON.parse(String(server.getTask(task2.taskId)!.arguments)), [
      '--extra-vars={"nested":{"client_secret":"cs-777"}}',
      "-e",
      "a=1 b_token=bt-888",
      "--extra-vars=db_pass=ev-999",
    ]);
    await new Promise((r) => setTimeout(r, 300)); // the cards' last coalesced edits
    await m.stop();
    await e.ops.audit.recent(1);

    const chat = JSON.stringify(m.sent);
    t.true(chat.includes(MASK), "the masked values are shown as masked");
    t.true(
      m.sent.some((s) => /Run: Approved args .*client_secret/.test(s.content.body ?? s.content["m.new_content"]?.body ?? "")),
      "the approval card was rendered",
    );
    t.true(
      e.logger.ring.toArray().some((x) => /started task \d+: Secret args .*db_password=‹masked›/.test(x.message)),
      "the log line names the run",
    );
    const found = [...leaksOfRun(m, e, SECRETS), ...leaks(JSON.stringify(e.store.pending), SECRETS, "pending confirmations")];
    t.deepEqual(found, []);
    const audit = readFileSync(join(e.stateDir, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { action: string; outcome: string; params?: { args?: string[] } });
    const runs = audit.filter((a) => a.action === "run" && a.outcome === "ok");
    t.is(runs.length, 2, "both runs audited");
    t.deepEqual(runs[0]!.params?.args, ["-e", "db_password=‹masked›", "-e", '{"api_key":"‹masked›"}']);
  } finally {
    await m.stop().catch(() => undefined);
    await e.close();
    await server.stop();
  }
});

// An alias is a stored command line, so a secret given in it must be masked wherever the alias is shown — the add
// reply, `aliases`, `help <alias>`, the audit file and the log — while running the alias still sends the value.
const ALIAS_SECRETS: Secret[] = [
  { name: "--args key=value in an alias", value: "al-hunter2" },
  { name: "secret survey answer in an alias", value: "al-vault-42" },
];

test("aliases: a secret in an alias's command is masked in every rendering, and sent to Semaphore when the alias runs", async (t) => {
  t.timeout(60_000);
  const server = await serverWithSecretTemplate("Alias args", "vault_token");
  const e = await startEngine({ server, token: server.adminToken, ini: `[room "${OPS_ROOM}"]\nrun = ${ALICE}\nread = *\n` });
  try {
    const m = fakeMatrix(e.ops, e.stateDir);
    const say = async (line: string, user = ADMIN, extra = {}) => {
      const id = await m.message(OPS_ROOM, user, line, extra);
      return { id, text: m.repliesTo(id)[0]?.content.body ?? "" };
    };
    const add = await say(`!cd aliases add deploysecret run 1 "Alias args" --args "-e db_password=al-hunter2" vault_token=al-vault-42`);
    t.regex(add.text, /Alias deploysecret/);
    t.true(add.text.includes(`db_password=${MASK}`), add.text);
    t.regex((await say("!cd aliases")).text, /deploysecret/);
    t.regex((await say("!cd help deploysecret")).text, /deploysecret is an alias/);
    t.regex((await say("!cd help")).text, /deploysecret/);

    const prompt = await say("!cd deploysecret", ALICE);
    t.regex(prompt.text, /Run Alias args/);
    await say("yes", ALICE, { "m.relates_to": { "m.in_reply_to": { event_id: m.repliesTo(prompt.id)[0]!.eventId } } });
    const task = await waitUntil(() => [...e.store.tasks.values()].find((x) => x.templateName === "Alias args" && x.status === "success"), 20_000, "the run");
    t.deepEqual(JSON.parse(String(server.getTask(task.taskId)!.arguments)), ["-e", "db_password=al-hunter2"], "Semaphore gets the value");
    t.is(JSON.parse(String(server.getTask(task.taskId)!.environment)).vault_token, "al-vault-42");
    await new Promise((r) => setTimeout(r, 300)); // the card's last coalesced edits
    await m.stop();
    await e.ops.audit.recent(1);
    const found = leaksOfRun(m, e, ALIAS_SECRETS);
    t.deepEqual(found, []);
  } finally {
    await e.close();
    await server.stop();
  }
});

test("isSecretKey: the one rule for names", (t) => {
  for (const n of [
    "password",
    "db_password",
    "DB_PASS",
    "passwd",
    "passphrase",
    "client_secret",
    "token",
    "github_token",
    "credentials",
    "private_key",
    "api_key",
    "apiKey",
    "APIKEY",
    "api-key",
    "key",
    "deploy_key",
    "sshKey",
    "encryption_key",
    "license_key",
    "db_pwd",
    "vault_pw",
    "aws_secret_access_key",
  ]) {
    t.true(isSecretKey(n), n);
  }
  for (const n of [
    "ssh_key_path",
    "key_file",
    "keyPath",
    "key_name",
    "aws_access_key_id",
    "keyboard",
    "monkey",
    "keys",
    "hostname",
    "env",
    "version",
    "turkey_count",
  ]) {
    t.false(isSecretKey(n), n);
  }
});

test("maskArgs: key=value, multi-pair, --extra-vars, JSON (nested, invalid), options named like secrets", (t) => {
  t.deepEqual(maskArgs(["-e", "db_password=hunter2", "-e", "a=1 b_token=x y=2"]), ["-e", `db_password=${MASK}`, "-e", `a=1 b_token=${MASK} y=2`]);
  t.deepEqual(maskArgs(["--extra-vars=db_pass=x env=prod", "-etoken=y", "-e@vars.yml"]), [
    `--extra-vars=db_pass=${MASK} env=prod`,
    `-etoken=${MASK}`,
    "-e@vars.yml",
  ]);
  t.deepEqual(maskArgs(["-e", '{"api_key":"k","env":"prod","nested":{"password":{"a":1},"list":[{"token":"z"}]},"note":"x=1 secret=s"}']), [
    "-e",
    `{"api_key":"${MASK}","env":"prod","nested":{"password":"${MASK}","list":[{"token":"${MASK}"}]},"note":"x=1 secret=${MASK}"}`,
  ]);
  t.deepEqual(maskArgs(['--extra-vars={"token":"x"}']), [`--extra-vars={"token":"${MASK}"}`]);
  // Unquoted JSON inside --args splits into several words: unreadable and naming a secret, masked over all of them.
  t.deepEqual(maskArgs(["--extra-vars", "{token:", "x,", "other:", "y}", "-v"]), ["--extra-vars", MASK, MASK, MASK, MASK, "-v"]);
  t.deepEqual(maskArgs(["-e", "{token: x}"]), ["-e", MASK]);
  t.deepEqual(maskArgs(["-e", "{env: prod}"]), ["-e", "{env: prod}"], "invalid JSON without a secret name is shown");
  t.deepEqual(maskArgs(["--vault-password", "pw1", "--password=pw2", "-v", "--ssh_key_path=/k"]), [
    "--vault-password",
    MASK,
    `--password=${MASK}`,
    "-v",
    "--ssh_key_path=/k",
  ]);
  t.deepEqual(maskArgs(["-e", "ssh_key_path=/home/a/.ssh/id deploy_key=abc"]), ["-e", `ssh_key_path=/home/a/.ssh/id deploy_key=${MASK}`]);
});

test("maskText: quoted values, JSON text and log lines keep their shape", (t) => {
  t.is(maskText(`a=1 password="two words" b=2`), `a=1 password="${MASK}" b=2`);
  t.is(maskText(`{"api_key": "k", "n": 1}`), `{"api_key": "${MASK}", "n": 1}`);
  const audit = JSON.stringify({ params: { args: ["-e", "db_password=hunter2 x=1"], vars: { token: "abc", creds: { api_key: "zz" } } } });
  const masked = maskText(audit, true);
  t.notThrows(() => JSON.parse(masked), "embedded masking keeps JSON valid");
  t.false(/hunter2|abc|zz/.test(masked), masked);
  t.is(maskText(`db_password=${MASK}`), `db_password=${MASK}`, "idempotent");
});

test("a secret value with spaces (quoted when typed, one argument once split) is masked whole, up to the next name=value pair", (t) => {
  const alias = maskCommandLine(`run infra deploy db_pass="correct horse battery"`)!;
  t.false(/correct|horse|battery/.test(alias), alias);
  const args = maskCommandLine(`run 1 2 --args "-e db_pass='a b c' -e env=prod"`)!;
  t.false(/\bb c\b/.test(args), args);
  t.true(args.includes("env=prod"), args);
  t.deepEqual(maskArgs(["-e", "db_pass=a b c"]), ["-e", `db_pass=${MASK}`]);
  t.deepEqual(maskArgs(["-e", "b_token=bt 888 c=2"]), ["-e", `b_token=${MASK} c=2`]);
  t.deepEqual(maskArgs(["--password=x y"]), [`--password=${MASK}`]);
});

test("maskCommandLine: history lines keep no secret and stay readable", (t) => {
  t.is(maskCommandLine("run 1 2 env=prod"), "run 1 2 env=prod");
  t.is(maskCommandLine("run 1 2 db_password=hunter2 env=prod"), `run 1 2 db_password=${MASK} env=prod`);
  const line = maskCommandLine(`run 1 "Deploy web" --args "-e token=t-1 -e '{\\"api_key\\":\\"k-2\\"}'"`)!;
  t.false(/t-1|k-2/.test(line), line);
  t.true(line.includes(MASK));
  t.is(maskCommandLine(`run 1 2 --args "-e password=x`), undefined, "an unreadable line naming a secret is not kept");
});

test.serial("console history: a run line keeps no secret (memory and file); the recalled masked line is refused, not sent", async (t) => {
  const app = fakeApp({ audit: true });
  const tpl = (await app.semaphore.emulator).addTemplate(1, {
    name: "Set DB password",
    app: "ansible",
    allowOverrideArgsInTask: true,
    surveyVars: [{ name: "db_password", title: "DB password", required: true, type: "", description: "", values: [] }],
  });
  const historyFile = join(app.stateDir, "console-history");
  const h = await harness({ app, opts: { historyFile } });
  try {
    await h.keys(":", ...`run 1 ${tpl.id} db_password=hunter2 --args "-e api_key=k-123"`, KEY.enter);
    await h.until(/Run Set DB password/, 10_000);
    await h.keys(KEY.tab, KEY.enter);
    await h.until(() => app.semaphore.callsOf("startTask").length === 1, 10_000);
    const req = app.semaphore.callsOf("startTask")[0]![1] as { environment: Record<string, string>; extraArgs: string[] };
    t.is(req.environment.db_password, "hunter2", "the value typed reaches Semaphore");
    t.deepEqual(req.extraArgs, ["-e", "api_key=k-123"]);
    const secrets: Secret[] = [
      { name: "survey password", value: "hunter2" },
      { name: "--args key", value: "k-123" },
    ];
    t.deepEqual(
      [...leaks(h.con.bar.history.entries.join("\n"), secrets, "history in memory"), ...leaks(readText(historyFile), secrets, "the history file")],
      [],
    );
    t.regex(h.con.bar.history.entries.at(-1)!, /db_password=‹masked›/);
    await h.until(/Started task #\d+: Set DB password/, 10_000); // the console says what it started
    const shown = [
      ...leaks(h.text(), secrets, "the screen (reply title, status line)"),
      ...leaks(
        app.logger.ring
          .toArray()
          .map((x) => x.message)
          .join("\n"),
        secrets,
        "the log",
      ),
    ];
    t.deepEqual(shown, []);
    // Recalled and run again: refused with a clear message; nothing sent.
    await h.keys(KEY.esc, ":", KEY.up);
    t.regex(h.con.bar.editor.value, /‹masked›/);
    await h.keys(KEY.enter);
    await h.until(() => /placeholder/.test(h.con.bar.currentMessage ?? "") || /placeholder/.test(h.text()), 10_000);
    t.regex(`${h.con.bar.currentMessage ?? ""} ${h.text()}`, /db_password holds ‹masked›.*placeholder.*Type the secret value again/s);
    t.is(app.semaphore.callsOf("startTask").length, 1, "the masked line started nothing");
  } finally {
    h.destroy();
  }
});

test.serial("console history: secrets in a history file written by an older version are masked when it is read", async (t) => {
  const app = fakeApp();
  const historyFile = join(app.stateDir, "console-history");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(historyFile, "ping\nrun 1 2 db_password=old-secret-1\n", { mode: 0o600 });
  const h = await harness({ app, opts: { historyFile } });
  try {
    t.deepEqual([...h.con.bar.history.entries], ["ping", `run 1 2 db_password=${MASK}`]);
    t.false(readText(historyFile).includes("old-secret-1"), "the file was rewritten without it");
  } finally {
    h.destroy();
  }
});

test("run wizard: a survey answer named like a secret is typed masked, like a secret-typed one", (t) => {
  const tpl = {
    id: 9,
    project_id: 1,
    name: "x",
    survey_vars: [
      { name: "db_password", title: "", required: true, type: "", description: "", values: null, default_value: null },
      { name: "answer", title: "", required: true, type: "secret", description: "", values: null, default_value: null },
      { name: "env", title: "", required: true, type: "", description: "", values: null, default_value: null },
    ],
  } as unknown as Template;
  t.deepEqual(
    fieldsFor(tpl)
      .filter((f) => f.survey)
      .map((f) => [f.name, !!f.editor?.masked]),
    [
      ["db_password", true],
      ["answer", true],
      ["env", false],
    ],
  );
});
