// End to end: the real program (`chatrixcd --demo`) in a pseudo-terminal, the screen read back with
// @xterm/headless. Start, panels, filter, help, mouse, resize, the run wizard to a running task, stop with
// confirm, and the terminal restored on quit and on SIGTERM.
import test from "ava";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ESC, exitedWithin, fgOf, runFullBackup, start } from "./helpers-pty.js";

const sgrClick = (x: number, y: number) => `${ESC}[<0;${x + 1};${y + 1}M${ESC}[<0;${x + 1};${y + 1}m`;

test.serial("start, move between panels, filter, help, mouse click, resize, quit restores the terminal", async (t) => {
  const s = start();
  try {
    await s.until(/Semaphore ● websocket/);
    await s.until(/#2147483640 /); // the newest seeded task: live ids count down from 2147483646
    t.regex(s.text(), /1 Rooms/);
    t.regex(s.text(), /2 Tasks/);
    t.regex(s.text(), /3 Logs/);
    t.regex(s.text(), /4 Config/);
    t.regex(s.row(0), /Matrix ● not configured/);
    t.regex(s.row(0), /DEMO/);
    t.regex(s.text(), /Matrix is not configured/);
    t.true(s.raw().includes("\x1b[?1049h"), "alternate screen");
    t.is(s.term.buffer.active.type, "alternate");

    // Panels: number keys and Tab; the hint bar shows the focused panel's keys.
    s.send("3");
    await s.until(() => /f follow/.test(s.row(35)));
    s.send("\t");
    await s.until(() => /explain/.test(s.row(35)));
    s.send("2");
    await s.until(() => /s stop/.test(s.row(35)));

    // Filter the tasks.
    s.send("/backup");
    await s.until(() => /filter \/backup/.test(s.row(35)));
    s.send("\r");
    await s.until(() => !/#2147483646 .*Deploy web/.test(s.text()) && /Full backup/.test(s.text()));
    t.regex(s.text(), /\/backup/);
    s.send(ESC);
    await s.until(/#2147483646 .*Deploy web/);

    // Help overlay.
    s.send("?");
    await s.until(/Help: keys, mouse, commands/);
    t.regex(s.text(), /Run a template/);
    s.send(ESC);
    await s.until(() => !/Help: keys/.test(s.text()));

    // Mouse: a click on a task row selects it (Enter then opens that task), a click on Logs focuses it.
    const lines = s.text().split("\n");
    const y = lines.findIndex((l) => /#2147483644 /.test(l));
    t.true(y > 0);
    s.send(sgrClick(3, y));
    await new Promise((r) => setTimeout(r, 300));
    s.send("\r");
    await s.until(/Task output/);
    await s.until(/│#2147483644 \S/);
    s.send(ESC);
    await s.until(() => !/Task output/.test(s.text()));
    const logsY = s
      .text()
      .split("\n")
      .findIndex((l) => /3 Logs/.test(l));
    s.send(sgrClick(10, logsY + 2));
    await s.until(() => /f follow/.test(s.row(35)));

    // Resize to 80x24: one panel at a time with tabs.
    s.resize(80, 24);
    await s.until(() => /1 Rooms\s+2 Tasks\s+3 Logs\s+4 Config/.test(s.row(1)));
    await s.until(() => /3 Logs/.test(s.row(2)));
    s.send("2");
    await s.until(() => /2 Tasks/.test(s.row(2)));
    s.resize(120, 36);
    await s.until(() => /4 Config/.test(s.text()) && /1 Rooms/.test(s.text()) && !/1 Rooms\s+2 Tasks\s+3 Logs/.test(s.row(1)));

    // Quit: the process ends with 0 and the terminal is back to normal.
    s.send("q");
    const e = await exitedWithin(s);
    t.is(e.exitCode, 0);
    await s.until(() => s.term.buffer.active.type === "normal", 5000);
    t.is(s.term.modes.mouseTrackingMode, "none");
    t.true(s.raw().lastIndexOf("\x1b[?25h") > s.raw().lastIndexOf("\x1b[?25l"), "cursor visible again");
  } finally {
    s.cleanup();
  }
});

test.serial("a finished task's output stays on top for 5 s while another task runs and the Tasks table changes", async (t) => {
  const s = start();
  try {
    await s.until(/#2147483640 /);
    // Start Full backup (it runs for minutes): the Tasks table under the view changes every second.
    await runFullBackup(s);
    s.send(ESC);
    await s.until(() => !/Task output/.test(s.text()) && /● running/.test(s.text()));
    // The oldest seeded task (last row, newest first): a finished Deploy web.
    s.send("G");
    s.send("\r");
    await s.until(/Task output/);
    await s.until(/#2147483646 Deploy web/);
    const table = /ID\s+Project\s+Template\s+Status/;
    let looks = 0;
    for (const end = Date.now() + 5000; Date.now() < end; looks++) {
      const screen = s.text();
      t.false(table.test(screen), `look ${looks}: the Tasks table shows through the task view:\n${screen}`);
      t.regex(screen, /#2147483646 Deploy web/, `look ${looks}: the task view is on screen`);
      await new Promise((r) => setTimeout(r, 100));
    }
    t.true(looks >= 20, `the screen was read ${looks} times over 5 s`);
    s.send(ESC);
    await s.until(() => !/Task output/.test(s.text()));
    s.send("q");
    t.is((await exitedWithin(s)).exitCode, 0);
  } finally {
    s.cleanup();
  }
});

test.serial("run wizard to a running task, then stop it with confirm", async (t) => {
  const s = start();
  try {
    await s.until(/Semaphore ● websocket/);
    await s.until(/#2147483640 /); // the newest seeded task: live ids count down from 2147483646
    s.send("r");
    await s.until(/Run: choose a project/);
    s.send("\r"); // Infrastructure
    await s.until(/choose a template in Infrastructure/);
    await s.until(/Full backup\s+\(template/);
    s.send("/Full");
    await s.until(() => !/Deploy web\s+\(template/.test(s.text()));
    s.send("\r");
    await s.until(/Run Full backup: survey and parameters/);
    s.send("\r");
    await s.until(/Run task \(3\/3\)/);
    t.regex(s.text(), /Run Full backup \(template \d+\) in Infrastructure \(project 1\)\?/);
    t.regex(s.text(), /\[ Cancel \]/);
    s.send("y");
    await s.until(/Task output/);
    await s.until(/#2147483639 Full backup/);
    await s.until(/● running/);
    await s.until(/PLAY \[/);
    // Stop, with the confirm dialog: Enter on the default (Cancel) does nothing; Tab then Enter stops.
    s.send("s");
    await s.until(/Stop task #2147483639 Full backup in Infrastructure\?/);
    s.send("\r");
    await s.until(/left running/);
    t.regex(s.text(), /● running/);
    s.send("s");
    await s.until(/Stop task #2147483639/);
    s.send("\t\r");
    // The status line says "Stop sent to task #…" only until the next message replaces it, which a loaded machine
    // can miss; the task leaving "running" (a Full backup runs for minutes) is the lasting proof.
    await s.until(/■ stopped|◑ stopping|✖ failed/);
    s.send(ESC);
    await s.until(() => !/Task output/.test(s.text()) && /#2147483639 .*Full backup/.test(s.text()));
    s.send("q");
    t.is((await exitedWithin(s)).exitCode, 0);
  } finally {
    s.cleanup();
  }
});

test.serial("SIGTERM restores the terminal and stops cleanly", async (t) => {
  const s = start(100, 30);
  try {
    await s.until(/Semaphore ● websocket/);
    s.p.kill("SIGTERM");
    const e = await exitedWithin(s);
    t.is(e.exitCode, 0);
    await s.until(() => s.term.buffer.active.type === "normal", 5000);
    t.is(s.term.modes.mouseTrackingMode, "none");
  } finally {
    s.cleanup();
  }
});

test.serial("a crash restores the terminal, then shows the error and exits 1", async (t) => {
  const s = start(100, 30, [], fileURLToPath(new URL("./console-crash-fixture.js", import.meta.url)));
  try {
    await s.until(/2 Tasks/);
    t.is(s.term.buffer.active.type, "alternate");
    const e = await exitedWithin(s);
    t.is(e.exitCode, 1);
    await s.until(() => s.term.buffer.active.type === "normal", 5000);
    t.is(s.term.modes.mouseTrackingMode, "none");
    await s.until(/boom from the crash fixture/, 5000);
    t.regex(s.text(), /chatrixcd: crashed \(terminal restored\)/);
  } finally {
    s.cleanup();
  }
});

test.serial("theme colours reach the terminal as their 256-colour palette entries, not collapsed to the 8 basic ones", async (t) => {
  const s = start(120, 36);
  try {
    await s.until(/4 Config/);
    await s.until(/state (nothing to reload|loaded at start)/);
    await s.until(/\? help/); // the hint bar is the frame's last row: a frame read half-written lacks it
    // dim (#8a8a8a) is grey 245; the hint keys (#87d7ff) are 117. blessed's own match maps them to yellow/white.
    t.deepEqual(fgOf(s, "state "), { palette: true, color: 245 });
    t.is(fgOf(s, "? help").color, 117);
    s.send("q");
    await exitedWithin(s);
  } finally {
    s.cleanup();
  }
});

/** The README's sample screen: the fenced block right under "## The console". */
const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const SAMPLE = /(## The console\n\n```\n)([\s\S]*?)(\n```\n)/;

test.serial("the README's sample screen is a real capture (CHATRIXCD_WRITE_CAPTURE=1 rewrites it)", async (t) => {
  const s = start(120, 36);
  try {
    await s.until(/#2147483640 /); // the 7th seeded task: ids count down, as on a live Semaphore
    await runFullBackup(s);
    s.send(ESC);
    await s.until(() => !/Task output/.test(s.text()) && /#2147483639 .*Full backup/.test(s.text()));
    const capture = s
      .text()
      .split("\n")
      .map((l) => l.trimEnd())
      .join("\n")
      .replace(/\n+$/, "");
    const readme = readFileSync(README, "utf8");
    if (process.env.CHATRIXCD_WRITE_CAPTURE === "1")
      writeFileSync(
        README,
        readme.replace(SAMPLE, (_m, a: string, _b, c: string) => `${a}${capture}${c}`),
      );
    const sample = SAMPLE.exec(readFileSync(README, "utf8"))?.[2] ?? "";
    // Times and elapsed differ from run to run; the layout, the panel titles with their counts and the hints do not.
    // Panel titles: the Config count (fixed by the schema) exactly; task and log counts vary with timing.
    const stable = (text: string) =>
      [...text.matchAll(/─ (\d [A-Z][a-z]+)([^─]*)/g)].map(
        ([, name, rest]) => `${name}${name!.endsWith("Config") ? rest!.trimEnd() : rest!.replace(/\d+/g, "N").trimEnd()}`,
      );
    t.deepEqual(stable(sample), stable(capture), "regenerate: CHATRIXCD_WRITE_CAPTURE=1 npx ava dist/test/console-pty.test.js --match '*README*'");
    t.is(sample.split("\n").length, capture.split("\n").length, "the same terminal size");
    s.send("q");
    await exitedWithin(s);
  } finally {
    s.cleanup();
  }
});
