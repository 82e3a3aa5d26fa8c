// Issue 14's checklist (items 3–10) on the real program: `chatrixcd --demo` in a pseudo-terminal, as a user runs it
// (no state dir chosen, so the demo picks its own). Two starts in one directory: the first walks pause, copy, :info,
// reload, pins, breadcrumbs and stop, and quits with a task running; the second (80x24, production) must show none of the first's
// tasks, the red header and the most important hints. The in-process tests (console-flows.test.ts) cover the details.
import test from "ava";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bgOf, ESC, exitedWithin, runFullBackup, start, type Session } from "./helpers-pty.js";

/** Where both starts run, as two `npm start` in one checkout. */
const cwd = mkdtempSync(join(tmpdir(), "chatrixcd-pty-checklist-"));
test.after.always(() => rmSync(cwd, { recursive: true, force: true }));

/** The Tasks table's rows (id and status) the first start showed before it ran anything. */
let firstRows: string[] | undefined;
const NEWEST_SEEDED = /#2147483640 /; // the seeded tasks' ids count down from 2147483646, as on a live Semaphore
const taskRows = (s: Session) => [...s.text().matchAll(/#(\d+) .*?([✔✖■●◑] [a-z]+)/g)].map(([, id, status]) => `#${id} ${status}`);
const osc52 = (raw: string) => [...raw.matchAll(/\x1b\]52;c;([A-Za-z0-9+/=]*)\x07/g)].map((m) => Buffer.from(m[1]!, "base64").toString("utf8"));
// xterm-256color palette entries of the dark theme: barBg #1c1c1c is 234, productionBg #870000 is 88 (a dark red).
const BAR_BG = 234;
const PRODUCTION_BG = 88;

/** Esc back from the wizard's template list to its project list, Esc again closes it. */
async function closeWizard(s: Session): Promise<void> {
  s.send(ESC);
  await s.until(() => !/choose a template/.test(s.text()) && /Run: choose a project/.test(s.text()));
  s.send(ESC);
  await s.until(() => !/Run: choose a project/.test(s.text()));
}

test.serial("first start: pause, copy URL (OSC 52), :info paths, R asks, pins, breadcrumbs with [ ], stop wording, clean exit", async (t) => {
  const s = start(120, 36, ["--demo"], undefined, { cwd, stateDir: false });
  try {
    await s.until(NEWEST_SEEDED);
    await s.until(/\? help/); // the hint bar is the frame's last row: a frame read half-written lacks it
    firstRows = taskRows(s);
    t.is(firstRows.length, 7, s.text());
    t.deepEqual(bgOf(s, "ChatrixCD"), { palette: true, color: BAR_BG }, "no environment: the header keeps the bar colour");

    // Item 8: the age of Semaphore's data; p holds updates (PAUSED), p again lets them through.
    await s.until(() => /updated (just now|\d+[smhd] ago)/.test(s.row(0)));
    s.send("p");
    await s.until(() => /PAUSED/.test(s.row(0)));
    s.send("p");
    await s.until(() => !/PAUSED/.test(s.row(0)));

    // Item 7: c copies the selected task's URL in Semaphore (the embedded one here) through OSC 52.
    const semaphore = /(http:\/\/127\.0\.0\.1:\d+)/.exec(s.text())?.[1]; // the log's "embedded … server on" line
    t.truthy(semaphore, `the log names the demo's Semaphore:\n${s.text()}`);
    t.regex(s.text(), /^│#2147483640 Infrastructure/m, "the first row: selected at start");
    s.send("c");
    await s.until(/Copied the URL of task #2147483640/);
    t.deepEqual(osc52(s.raw()), [`${semaphore}/project/1/history?t=2147483640`]);

    // Item 10: :info names the config, state, log and audit paths; the state dir is the demo's temp dir.
    s.send(":info\r");
    await s.until(/Audit file:/);
    t.regex(s.text(), /Config file:\s+none \(defaults and environment variables\)/);
    t.regex(s.text(), /Log file:\s+none/);
    const stateDir = /State dir:\s+(\S+)/.exec(s.text())?.[1] ?? "";
    t.regex(stateDir, /chatrixcd-demo-/);
    t.true(existsSync(stateDir), `${stateDir} exists while the demo runs`);
    t.regex(s.text(), new RegExp(`Audit file:\\s+${stateDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/audit\\.jsonl`));
    s.send(ESC);
    await s.until(() => !/Audit file:/.test(s.text()));

    // Item 10: R asks first; Cancel (the default) does nothing; y goes to the operations, which (no config file in the
    // demo) refuse and say why in the Config panel: the act comes after the answer, not before.
    s.send("R");
    await s.until(/Reload the configuration from the environment \(no config file\)\?/);
    t.regex(s.text(), /\[ Cancel \]\s+\[ Reload \]/);
    t.regex(s.text(), /state nothing to reload/);
    s.send("\r");
    await s.until(/cancelled at the console: reload config/);
    t.regex(s.text(), /state nothing to reload/);
    t.notRegex(s.text(), /Reload the configuration from/);
    s.send("R");
    await s.until(/Reload the configuration from/);
    s.send("y");
    await s.until(/state reload refused \d\d:\d\d:\d\d: This instance/);

    // Item 9: p pins a template in the wizard; the next wizard lists it first, with ★.
    s.send("r");
    await s.until(/Run: choose a project/);
    s.send("\r");
    await s.until(/choose a template in Infrastructure/);
    await s.until(/Rotate certificates\s+\(template 5\)/);
    s.send("jjjjp");
    await s.until(/★ Rotate certificates/);
    await closeWizard(s);
    s.send("r");
    await s.until(/Run: choose a project/);
    s.send("\r");
    await s.until(/choose a template in Infrastructure/);
    await s.until(/Terraform apply\s+\(template 4\)/);
    const templates = s
      .text()
      .split("\n")
      .filter((r) => /\(template \d\)/.test(r));
    t.regex(templates[0] ?? "", /★ Rotate certificates\s+\(template 5\)/, templates.join("\n"));
    await closeWizard(s);

    // Item 9: breadcrumbs in the task view. Item 4: both stop dialogs say how the task ends; a stop ends it failed.
    await runFullBackup(s);
    await s.until(/Tasks › #2147483639 Full backup › Task output/);
    s.send("S");
    await s.until(/Force-stop task #2147483639/);
    t.regex(s.text(), /it ends as stopped/);
    s.send(ESC);
    await s.until(() => !/Force-stop task/.test(s.text()));
    s.send("s");
    await s.until(/Stop task #2147483639 Full backup in Infrastructure\?/);
    t.regex(s.text(), /the task ends as failed \("signal:/);
    t.regex(s.text(), /killed"\), not as stopped/);
    s.send("\t\r");
    await s.until(() => !/Stop task #2147483639/.test(s.text()) && /✖ failed/.test(s.text()));
    t.notRegex(s.text(), /■ stopped/, "v2.10 ends a stop as failed, as the dialog said");

    // Item 7: C copies the output lines matching the search (item 9: the search joins the breadcrumbs).
    s.send("/PLAY\r");
    await s.until(/Tasks › #2147483639 Full backup › Task output › search "PLAY"/);
    s.send("C");
    await s.until(/Copied (\d+) output lines matching \/PLAY\//);
    const copied = osc52(s.raw()).at(-1)?.split("\n") ?? []; // the search ignores case: "infra-playbooks" matches too
    t.is(copied.length, Number(/Copied (\d+) output lines/.exec(s.text())?.[1]));
    t.true(copied.length > 0 && copied.every((l) => /play/i.test(l)) && copied.some((l) => l.startsWith("PLAY [")), copied.join("\n"));

    // Item 9: [ and ] step back and forward between the task views opened.
    s.send(ESC); // clears the search
    await s.until(() => !/search "PLAY"/.test(s.text()));
    s.send(ESC);
    await s.until(() => !/Task output/.test(s.text()));
    s.send("G\r"); // the last row: the oldest seeded task
    await s.until(/Tasks › #2147483646 Deploy web › Task output/);
    s.send("[");
    await s.until(/Tasks › #2147483639 Full backup › Task output/);
    s.send("]");
    await s.until(/Tasks › #2147483646 Deploy web › Task output/);
    s.send(ESC);
    await s.until(() => !/Task output/.test(s.text()));

    // Item 3: quit with a task still running: the one a state kept in the working directory would bring back.
    await runFullBackup(s);
    await s.until(/Tasks › #2147483638 Full backup › Task output/);
    s.send(ESC);
    await s.until(() => !/Task output/.test(s.text()) && /#2147483638 .*● running/.test(s.text()));
    s.send("q");
    t.is((await exitedWithin(s)).exitCode, 0);
    // Item 3: the demo's state lived in its temp dir, gone now; nothing was left in the working directory.
    t.false(existsSync(stateDir), `${stateDir} is removed at exit`);
    t.false(existsSync(join(cwd, ".chatrixcd-state")));
  } finally {
    s.cleanup();
  }
});

test.serial("second start in the same directory, 80x24, production: no ghost tasks, red header, r run and q quit, no stale Loading", async (t) => {
  t.truthy(firstRows, "the first start's test ran first and saw the seeded tasks");
  const s = start(80, 24, ["--demo"], undefined, { cwd, stateDir: false, env: { CHATRIXCD_CONSOLE_ENVIRONMENT: "production" } });
  try {
    await s.until(NEWEST_SEEDED);
    await s.until(/\? help/);
    // Item 3: the seeded rows only; the tasks the first start ran (#2147483639 stopped, #2147483638 running) stay away.
    t.deepEqual(taskRows(s), firstRows);
    t.notRegex(s.text(), /#214748363[89]/);

    // Item 6: the production accent: the header names it, on red.
    t.regex(s.row(0), /PRODUCTION/);
    t.deepEqual(bgOf(s, "PRODUCTION"), { palette: true, color: PRODUCTION_BG });
    t.deepEqual(bgOf(s, "ChatrixCD"), { palette: true, color: PRODUCTION_BG }, "the whole header bar");

    // Item 5: the most important keys stay in the 80-column hint bar.
    const hints = s.row(23);
    t.regex(hints, /r run/);
    t.regex(hints, /q quit/);
    t.regex(hints, /\? help/);

    // Item 5: once the wizard lists the projects, the status line no longer says it is loading them.
    s.send("r");
    // The bar row shows the wizard's keys or a message; wait for the frame with the list, not for the message to expire.
    await s.until(() => /Run: choose a project/.test(s.text()) && /Infrastructure\s+\(project 1\)/.test(s.text()) && s.row(23).trim() !== "");
    t.regex(s.row(23), /Enter choose/);
    t.notRegex(s.text(), /Loading projects/);
    s.send(ESC);
    await s.until(() => !/Run: choose a project/.test(s.text()));

    s.send("q");
    t.is((await exitedWithin(s)).exitCode, 0);
    t.false(existsSync(join(cwd, ".chatrixcd-state")));
  } finally {
    s.cleanup();
  }
});
