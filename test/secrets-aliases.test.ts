// An alias is a stored command line, so a secret given in it (a `k=v` answer, `--args` extra vars) must be masked
// wherever the alias is shown — the add reply, `aliases`, `help <alias>`, the audit file and the log — while running
// the alias still sends the value to Semaphore.
import test from "ava";
import { join } from "node:path";
import { startSemaphoreServer } from "../src/emulator/index.js";
import { startEngine, waitUntil, ADMIN, ALICE, OPS_ROOM } from "./helpers-chat/ops.js";
import { leaks, readText, type Secret } from "./helpers-prove/secrets.js";
import { fakeMatrix } from "./helpers-prove/fake-matrix.js";
import { MASK } from "../src/core/mask.js";

const SECRETS: Secret[] = [
  { name: "--args key=value", value: "al-hunter2" },
  { name: "secret survey answer", value: "al-vault-42" },
];

test("aliases: a secret in an alias's command is masked in every rendering, and sent to Semaphore when the alias runs", async (t) => {
  t.timeout(60_000);
  const server = await startSemaphoreServer({ tickMs: 20, lineDelayMs: 3, seed: "demo", schedules: false });
  const survey = [{ name: "vault_token", title: "Vault token", required: true, type: "secret", description: "", values: null }];
  server.addTemplate(1, { name: "Alias args", allowOverrideArgsInTask: true, surveyVars: survey as never, scenario: { lines: ["working", "done"] } });
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
    const found = [
      ...leaks(JSON.stringify(m.sent), SECRETS, "chat (replies, prompt, card)"),
      ...leaks(readText(join(e.stateDir, "audit.jsonl")), SECRETS, "the audit file"),
      ...leaks(
        e.logger.ring
          .toArray()
          .map((x) => x.message)
          .join("\n"),
        SECRETS,
        "the log",
      ),
    ];
    t.deepEqual(found, []);
  } finally {
    await e.close();
    await server.stop();
  }
});
