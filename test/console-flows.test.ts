// The console's flows (tasks, approvals, the run wizard, the command runner, config reload), each through the
// keys a user types, over the real operations and a fake Semaphore.
import test from "ava";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { harness, fakeApp, addTask, KEY } from "./console-helpers.js";
import { FIRST_NEW_TASK_ID } from "./helpers-semaphore.js";
import { runCommandLine } from "../src/commands/dispatch.js";
import { CONSOLE_ACTOR } from "../screens/context.js";
import { findCommand } from "../src/commands/registry.js";

const screen = (h: { rows(): string[] }) =>
  h
    .rows()
    .map((r) => r.replace(/\x03/g, ""))
    .join("\n");

test.serial("stop says how the task will end: a running task ends as failed (signal: killed), a force-stop as stopped", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 42);
    await h.until(/#42/);
    await h.keys("s");
    await h.until(/Stop task #42/);
    t.regex(screen(h), /the task ends as failed \("signal:/); // wrapped: "killed"), not as stopped." follows
    t.notRegex(screen(h), /the task ends as stopped/);
    await h.keys(KEY.esc);
    await h.keys("S");
    await h.until(/Force-stop task #42/);
    t.regex(screen(h), /it ends as stopped/);
    await h.keys(KEY.esc);
  } finally {
    h.destroy();
  }
});

test.serial(":stop shows the structured prompt: the question and what will happen, without chat instructions", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 42);
    await h.until(/#42/);
    await h.keys(":", ..."stop 42".split(""), KEY.enter);
    await h.until(/Stop Deploy web #42 \(running, Infrastructure\)\?/);
    const text = screen(h);
    t.regex(text, /ends as failed \("signal:/);
    t.notRegex(text, /Reply yes or no|react/);
    await h.keys(KEY.esc);
    await h.until(/Cancelled; nothing was done/);
    t.is(h.app.semaphore.callsOf("stopTask").length, 0);
  } finally {
    h.destroy();
  }
});

test.serial('wizard: extra arguments are split like chat splits them: -e "x=1 2" is two words', async (t) => {
  const h = await harness();
  try {
    await h.keys("r");
    await h.until(/Run: choose a project/);
    await h.keys(KEY.enter);
    await h.until(/choose a template in Infrastructure/);
    await h.keys(KEY.enter); // Deploy web: allows extra arguments
    await h.until(/Extra arguments/);
    await h.keys(KEY.down, KEY.down, KEY.down); // limit, tags, skip tags → extra arguments
    for (const c of '-e "x=1 2"') await h.keys(c);
    await h.keys(KEY.enter);
    await h.until(/Run task \(3\/3\)/);
    await h.keys("y");
    await h.until(() => h.app.semaphore.callsOf("startTask").length === 1);
    const req = h.app.semaphore.callsOf("startTask")[0]![1] as { extraArgs?: string[] };
    t.deepEqual(req.extraArgs, ["-e", "x=1 2"]);
  } finally {
    h.destroy();
  }
});

test.serial("wizard: an unbalanced quote in extra arguments is shown in the form and nothing starts", async (t) => {
  const h = await harness();
  try {
    await h.keys("r");
    await h.until(/Run: choose a project/);
    await h.keys(KEY.enter);
    await h.until(/choose a template in Infrastructure/);
    await h.keys(KEY.enter); // Deploy web: allows extra arguments
    await h.until(/Extra arguments/);
    await h.keys(KEY.down, KEY.down, KEY.down);
    for (const c of '-e "x=1') await h.keys(c);
    await h.keys(KEY.enter);
    await h.until(/Extra arguments: unbalanced double quote/);
    t.is(h.app.semaphore.callsOf("startTask").length, 0);
  } finally {
    h.destroy();
  }
});

test.serial("wizard: the status line does not keep saying Loading projects… once the list shows", async (t) => {
  const h = await harness();
  try {
    await h.keys("r");
    await h.until(/Run: choose a project/);
    t.notRegex(screen(h), /Loading projects/);
  } finally {
    h.destroy();
  }
});

test.serial("wizard: a survey problem names the field by its label, not the variable", async (t) => {
  const h = await harness();
  try {
    (await h.app.semaphore.emulator).addTemplate(1, {
      name: "Issue certificate",
      app: "ansible",
      surveyVars: [{ name: "validity_days", title: "Validity in days", type: "int", required: true, description: "", values: [] }],
    });
    await h.keys("r");
    await h.until(/Run: choose a project/);
    await h.keys(KEY.enter);
    await h.until(/choose a template in Infrastructure/);
    await h.keys("G", KEY.enter);
    await h.until(/Validity in days/);
    for (const c of "ten") await h.keys(c);
    await h.keys(KEY.enter);
    await h.until(/must be a whole number/);
    t.regex(screen(h), /Validity in days must be a whole number/);
    t.notRegex(screen(h), /validity_days must/);
  } finally {
    h.destroy();
  }
});

test.serial(":run says once what it started, and selects it", async (t) => {
  const h = await harness();
  try {
    await h.keys(":", ..."run 1 3".split(""), KEY.enter);
    await h.until(/Run Full backup/);
    await h.keys("y");
    await h.until(() => h.app.semaphore.callsOf("startTask").length === 1);
    await h.until(() => new RegExp(`#${FIRST_NEW_TASK_ID}`).test(h.con.bar.currentMessage ?? ""));
    const msg = h.con.bar.currentMessage ?? "";
    t.is(msg.match(/Full backup/g)?.length, 1, msg);
    t.is(msg.match(new RegExp(String(FIRST_NEW_TASK_ID), "g"))?.length, 1, msg);
  } finally {
    h.destroy();
  }
});

test.serial("R asks before reloading the configuration; Cancel keeps the running one untouched", async (t) => {
  const h = await harness();
  try {
    let reloads = 0;
    const orig = h.app.ops.reloadConfig.bind(h.app.ops);
    h.app.ops.reloadConfig = (a) => {
      reloads++;
      return orig(a);
    };
    await h.keys("R");
    await h.until(/Reload the configuration/);
    t.is(reloads, 0);
    await h.keys(KEY.enter); // Cancel is the default
    t.is(reloads, 0);
    await h.keys("R");
    await h.until(/Reload the configuration/);
    await h.keys("y");
    await h.until(() => reloads === 1);
    t.is(reloads, 1);
  } finally {
    h.destroy();
  }
});

test.serial("at 80x24 the hint bar keeps the most important keys: r run, q quit, ? help", async (t) => {
  const h = await harness({ cols: 80, rows: 24 });
  try {
    const last = h.rows()[23]!;
    t.regex(last, /r run/);
    t.regex(last, /q quit/);
    t.regex(last, /\? help/);
  } finally {
    h.destroy();
  }
});

test.serial("? help shows every command's usage whole, wrapped rather than cut", async (t) => {
  const h = await harness({ cols: 160, rows: 200 });
  try {
    await h.keys("?");
    await h.until(/Commands \(type :/);
    const text = screen(h);
    const usage = `:run ${findCommand("run")!.usage}`;
    t.true(usage.length > 110, "long enough to need wrapping in the 110-column help");
    for (const word of usage.split(" ")) t.true(text.includes(word), `${word} is shown`);
  } finally {
    h.destroy();
  }
});

test.serial("the chat stop prompt says how the task will end too", async (t) => {
  const app = fakeApp();
  try {
    addTask(app, 42);
    addTask(app, 43, { status: "waiting", start: undefined });
    const stop = async (line: string) => (await runCommandLine({ actor: CONSOLE_ACTOR, ops: app.ops, prefix: "!cd" }, line)).text;
    t.regex(
      await stop("stop 42"),
      /Stop Deploy web #42 .*\? Semaphore kills the running playbook: the task ends as failed \("signal: killed"\), not as stopped\. Reply yes or no/,
    );
    t.regex(await stop("stop 43"), /takes it off the queue and it ends as stopped/);
    t.regex(await stop("stop 42 --force"), /Force-stop kills it at once.*it ends as stopped/);
  } finally {
    rmSync(app.stateDir, { recursive: true, force: true });
  }
});

test.serial("p pauses live updates: new tasks and log lines wait, PAUSED shows; p again catches up", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 1);
    await h.until(/#1 /);
    await h.until(/updated just now/);
    await h.keys("p");
    await h.until(/PAUSED/);
    addTask(h.app, 2);
    h.app.logger.log("info", "test", "a line while paused");
    await h.settle(50);
    t.notRegex(screen(h), /#2 /);
    t.notRegex(screen(h), /a line while paused/);
    await h.keys("p");
    await h.until(/#2 /);
    await h.until(/a line while paused/);
    t.notRegex(h.rows()[0]!, /PAUSED/);
  } finally {
    h.destroy();
  }
});

test.serial("[console] environment = production: the header names it and turns red", async (t) => {
  const app = fakeApp({ env: { CHATRIXCD_CONSOLE_ENVIRONMENT: "production" } });
  const h = await harness({ app });
  try {
    t.regex(h.rows()[0]!, /PRODUCTION/);
    t.is(h.con.header.box.style.bg, h.con.ctx.theme().productionBg);
    t.not(h.con.ctx.theme().productionBg, h.con.ctx.theme().barBg);
  } finally {
    h.destroy();
  }
  const plain = await harness();
  try {
    t.is(plain.con.header.box.style.bg, plain.con.ctx.theme().barBg);
  } finally {
    plain.destroy();
  }
});

const osc52Payloads = (written: string) => [...written.matchAll(/\x1b\]52;c;([A-Za-z0-9+/=]*)\x07/g)].map((m) => Buffer.from(m[1]!, "base64").toString("utf8"));

test.serial("copy with OSC 52: the task's URL, the output lines matching the search, the last log lines", async (t) => {
  const app = fakeApp({ env: { CHATRIXCD_SEMAPHORE_WEB_URL: "https://semaphore.example.org/" } });
  const h = await harness({ app });
  try {
    addTask(h.app, 42);
    await h.until(/#42/);
    await h.keys("c");
    t.deepEqual(osc52Payloads(h.io.written()), ["https://semaphore.example.org/project/1/history?t=42"]);
    t.regex(h.con.bar.currentMessage ?? "", /Copied the URL of task #42/);
    h.app.store.appendOutput(
      1,
      42,
      ["ok: [web1]", "fatal: [web2] FAILED", "ok: [web3]", "fatal: [db1] FAILED"].map((text) => ({ time: new Date().toISOString(), text })),
    );
    await h.keys(KEY.enter);
    await h.until(/fatal: \[db1\]/);
    await h.keys("/", ..."fatal", KEY.enter);
    await h.keys("C");
    t.is(osc52Payloads(h.io.written()).at(-1), "fatal: [web2] FAILED\nfatal: [db1] FAILED");
    await h.keys(KEY.esc, KEY.esc, "3");
    h.app.logger.log("warn", "test", "the line to copy");
    await h.until(/the line to copy/);
    await h.keys("c");
    t.regex(osc52Payloads(h.io.written()).at(-1)!, /WARN\s+\[?test\]? .*the line to copy$/);
  } finally {
    h.destroy();
  }
});

test.serial(":info at the console adds the config, log and state paths", async (t) => {
  const h = await harness();
  try {
    await h.keys(":", ..."info", KEY.enter);
    await h.until(/State dir:/);
    const text = screen(h);
    t.regex(text, /Config file:\s+none \(defaults and environment variables\)/);
    t.regex(text, /Log file:\s+none/);
    t.true(text.includes(h.app.stateDir), "the state dir is named");
  } finally {
    h.destroy();
  }
});

test.serial("task views show breadcrumbs, and [ / ] go back and forward through the views opened", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 1, { templateName: "Deploy web" });
    addTask(h.app, 2, { templateName: "Full backup" });
    await h.until(/#2 /);
    await h.keys("g", KEY.enter); // the first row: #2 (newest first)
    await h.until(/Tasks › #2 Full backup › Task output/);
    await h.keys("/", ..."fail", KEY.enter);
    await h.until(/Tasks › #2 Full backup › Task output › search "fail"/);
    await h.keys(KEY.esc, KEY.esc, "j", KEY.enter);
    await h.until(/Tasks › #1 Deploy web › Task output/);
    await h.keys("[");
    await h.until(/Tasks › #2 Full backup › Task output/);
    await h.keys("]");
    await h.until(/Tasks › #1 Deploy web › Task output/);
    await h.keys("]");
    t.regex(h.con.bar.currentMessage ?? "", /No later view/);
    await h.keys(KEY.esc, "[");
    await h.until(/Tasks › #1 Deploy web › Task output/);
    t.true(h.con.taskView.isOpen);
  } finally {
    h.destroy();
  }
});

test.serial("pinned templates come first in the wizard and in :run completion, and stay pinned after a restart", async (t) => {
  const app = fakeApp();
  const h = await harness({ app });
  try {
    await h.keys("r");
    await h.until(/Run: choose a project/);
    await h.keys(KEY.enter);
    await h.until(/choose a template in Infrastructure/);
    await h.keys("j", "j", "j", "j", "p"); // Rotate certificates (the emulator's 5th template)
    await h.until(/★ Rotate certificates/);
    await h.keys(KEY.esc, KEY.esc);
    t.deepEqual(JSON.parse(readFileSync(join(app.stateDir, "console-pins.json"), "utf8")), ["1/5"]);
  } finally {
    h.con.restore();
  }
  // A new console on the same state: the pin is still there, first in the list.
  const again = await harness({ app });
  try {
    await again.keys("r");
    await again.until(/Run: choose a project/);
    await again.keys(KEY.enter);
    await again.until(/choose a template in Infrastructure/);
    const rows = again.rows().filter((r) => /\(template \d\)/.test(r));
    t.regex(rows[0]!, /★ Rotate certificates/);
    await again.keys(KEY.esc, KEY.esc);
    t.deepEqual(await again.con.bar.candidatesFor("run 1 "), {
      word: "",
      list: ["Rotate certificates", "Deploy web", "Full backup", "Run migrations", "Terraform apply"],
    });
  } finally {
    again.destroy();
  }
});

test.serial("a stop or run the operator says no to at the console is audited as cancelled, as a chat prompt answered no", async (t) => {
  const app = fakeApp({ audit: true });
  const h = await harness({ app });
  try {
    addTask(app, 42, { status: "running" });
    await h.until(/#42/);
    await h.keys("2", "s");
    await h.until(/Stop task #42/);
    await h.keys(KEY.enter); // Cancel is the default button
    await h.until(/left running/);
    await h.keys("r");
    await h.until(/Run: choose a project/);
    await h.keys(KEY.enter);
    await h.until(/choose a template in Infrastructure/);
    await h.keys(KEY.enter); // Deploy web: no survey
    await h.until(/survey and parameters/);
    await h.keys(KEY.enter);
    await h.until(/Run task \(3\/3\)/);
    await h.keys(KEY.enter); // Cancel
    await h.until(/nothing was started/);
    const audit = () =>
      readFileSync(join(app.stateDir, "audit.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { action: string; outcome: string; taskId?: number; actor?: string });
    await h.until(() => audit().filter((e) => e.outcome === "cancelled").length >= 2);
    const cancelled = audit().filter((e) => e.outcome === "cancelled");
    t.deepEqual(cancelled.map((e) => e.action).sort(), ["run", "stop"]);
    t.is(cancelled.find((e) => e.action === "stop")?.taskId, 42);
    t.is(app.semaphore.callsOf("stopTask").length + app.semaphore.callsOf("startTask").length, 0, "nothing was sent");
  } finally {
    h.destroy();
  }
});
