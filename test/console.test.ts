// The console in-process: fake terminal streams, the real store and operations over a fake Semaphore.
// Views, the keymap, dialogs, the run wizard, filters, mouse, resize, emoji widths and terminal restore.
import test from "ava";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { harness, fakeApp, addTask, click, wheel, KEY, sleep } from "./console-helpers.js";
import { FIRST_NEW_TASK_ID } from "./helpers-semaphore.js";
import { KEYMAP, Keymap, displayKey, type KeyActions } from "../screens/keymap.js";
import { RESTORE_SEQUENCE } from "../screens/terminal.js";
import { PANELS } from "../screens/context.js";

const screenRows = (h: { rows(): string[] }) => h.rows().map((r) => r.replace(/\x03/g, ""));

test.serial("starts with every panel, the header and the hint bar at 160x48", async (t) => {
  const h = await harness();
  try {
    const text = h.text();
    for (const title of ["1 Rooms", "2 Tasks", "3 Logs", "4 Config"]) t.regex(text, new RegExp(title));
    const rows = screenRows(h);
    t.regex(rows[0]!, /ChatrixCD .*Matrix ● not configured .*Semaphore ● websocket/);
    t.regex(rows[0]!, /DEMO/);
    t.regex(rows[0]!, /\d\d:\d\d:\d\d $/);
    t.regex(rows[47]!, /\? help/);
    t.regex(rows[47]!, /r run/);
    t.regex(text, /Matrix is not configured/);
    t.is(h.con.focus, "tasks");
    t.false(h.con.compact);
  } finally {
    h.destroy();
  }
});

test.serial("the tasks table shows id, project, template, coloured status, started by and elapsed", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 42);
    addTask(h.app, 43, {
      status: "error",
      templateName: "Run migrations",
      start: new Date(Date.now() - 10_000).toISOString(),
      end: new Date(Date.now() - 6_000).toISOString(),
      origin: { via: "console" },
    });
    addTask(h.app, 44, {
      status: "waiting_confirmation",
      templateName: "Terraform apply",
      origin: { via: "chat", user: "@alice:example.org", roomId: "!r:x" },
    });
    await h.until(/#44/);
    const text = screenRows(h).join("\n");
    t.regex(text, /#42\s+Infrastruc\S*\s+Deploy web\s+● running\s+Alice Ops\s+1m0\ds/);
    t.regex(text, /#43 .*Run migrations\s+✖ failed\s+console\s+4s/);
    t.regex(text, /#44 .*Terraform apply\s+\? confirm\s+@alice/);
    t.regex(text, /2 active/);
    // Status in colour: the "running" cell is drawn with a foreground colour.
    const lines = (h.con.screen as unknown as { lines: Array<Array<[number, string]>> }).lines;
    const y = screenRows(h).findIndex((r) => r.includes("#42"));
    const x = screenRows(h)[y]!.indexOf("● running");
    const fg = (lines[y]![x + 2]![0] >> 9) & 0x1ff;
    t.not(fg, 0x1ff, "status has a colour");
  } finally {
    h.destroy();
  }
});

test.serial("task updates are coalesced: at most a few frames for a burst", async (t) => {
  const h = await harness();
  try {
    const before = h.con.scheduler.frames;
    for (let i = 0; i < 200; i++) addTask(h.app, 1000 + (i % 50), { currentTask: `step ${i}` });
    await sleep(150);
    const frames = h.con.scheduler.frames - before;
    t.true(frames <= 2, `${frames} frames for 200 updates`);
    await h.until(/#1049/);
  } finally {
    h.destroy();
  }
});

test.serial("Tab, Shift-Tab and number keys move between panels; the hint bar follows", async (t) => {
  const h = await harness();
  try {
    await h.keys(KEY.tab);
    t.is(h.con.focus, "logs");
    t.regex(screenRows(h)[47]!, /f follow/);
    await h.keys(KEY.tab);
    t.is(h.con.focus, "config");
    await h.keys(KEY.shiftTab, KEY.shiftTab);
    t.is(h.con.focus, "tasks");
    await h.keys("1");
    t.is(h.con.focus, "rooms");
    await h.keys("4");
    t.is(h.con.focus, "config");
    await h.keys("2");
    t.is(h.con.focus, "tasks");
  } finally {
    h.destroy();
  }
});

test.serial("vim keys and arrows move the selection; it follows its task when rows move", async (t) => {
  const h = await harness();
  try {
    for (let i = 1; i <= 30; i++) addTask(h.app, i);
    await h.until(/#30/);
    t.is(h.con.tasks.selectedTask?.taskId, 30);
    await h.keys("j", "j", KEY.down);
    t.is(h.con.tasks.selectedTask?.taskId, 27);
    await h.keys("k");
    t.is(h.con.tasks.selectedTask?.taskId, 28);
    await h.keys("G");
    t.is(h.con.tasks.selectedTask?.taskId, 1);
    await h.keys("g");
    t.is(h.con.tasks.selectedTask?.taskId, 30);
    await h.keys("\x04"); // Ctrl-d: half a page
    t.true(h.con.tasks.selectedTask!.taskId < 30);
    await h.keys("g", "j");
    addTask(h.app, 31);
    await h.until(/#31/);
    t.is(h.con.tasks.selectedTask?.taskId, 29, "selection stays on its task when a new one arrives on top");
  } finally {
    h.destroy();
  }
});

test.serial("/ filters the focused list live; Enter keeps it, Esc clears it", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 1);
    addTask(h.app, 2, { templateName: "Full backup" });
    addTask(h.app, 3, { templateName: "Full backup", status: "success" });
    await h.until(/#3/);
    await h.keys("/", "b", "a", "c", "k");
    t.regex(screenRows(h)[47]!, /filter \/back/);
    let text = screenRows(h).join("\n");
    t.regex(text, /#2 /);
    t.notRegex(text, /#1 /);
    await h.keys(KEY.enter);
    t.is(h.con.tasks.filterText, "back");
    t.regex(screenRows(h).join("\n"), /\/back/);
    // Inverse filter: editing the kept filter.
    await h.keys("/");
    t.is(h.con.bar.editor.value, "back");
    await h.keys(KEY.left, KEY.left, KEY.left, KEY.left, "!", KEY.enter);
    text = screenRows(h).join("\n");
    t.regex(text, /#1 /);
    t.notRegex(text, /#2 /);
    await h.keys(KEY.esc);
    t.is(h.con.tasks.filterText, "");
    text = screenRows(h).join("\n");
    t.regex(text, /#1 /);
    t.regex(text, /#2 /);
    // The log has a filter too.
    h.app.logger.log("info", "test", "needle in the log");
    h.app.logger.log("info", "test", "hay");
    await h.keys("3", "/", "n", "e", "e", "d", "l", "e", KEY.enter);
    text = screenRows(h).join("\n");
    t.regex(text, /needle in the log/);
    t.notRegex(text, / hay/);
  } finally {
    h.destroy();
  }
});

test.serial("? shows the help generated from the keymap table; Esc closes it", async (t) => {
  const h = await harness();
  try {
    await h.keys("?");
    const text = screenRows(h).join("\n");
    t.regex(text, /Help: keys, mouse, commands/);
    t.regex(text, /Everywhere/);
    t.regex(text, /Run a template/);
    t.regex(text, /Go to panel/);
    t.true(h.con.modals.open);
    await h.keys(KEY.esc);
    t.false(h.con.modals.open);
    t.notRegex(screenRows(h).join("\n"), /Help: keys/);
  } finally {
    h.destroy();
  }
});

test.serial("the keymap: one table, most specific scope wins, mutating bindings hidden in read-only", (t) => {
  let ro = false;
  let scopes: ReturnType<Keymap["visible"]>[number]["scope"][] = ["tasks", "lists", "global"];
  const calls: string[] = [];
  const actions = new Proxy(
    {},
    {
      get:
        (_o, name) =>
        (...args: unknown[]) =>
          calls.push(`${String(name)}(${args.join(",")})`),
    },
  ) as KeyActions;
  const km = new Keymap(
    KEYMAP,
    actions,
    () => ro,
    () => scopes,
  );
  t.is(km.resolve("s")?.description, "Stop the selected task (asks first)");
  scopes = ["rooms", "lists", "global"];
  t.is(km.resolve("s")?.description, "Say something in the selected room as the bot");
  scopes = ["taskview", "lists", "global"];
  t.is(km.resolve("escape")?.scope, "taskview");
  t.is(km.resolve("q")?.scope, "taskview", "q goes back from the task view instead of quitting");
  scopes = ["tasks", "lists", "global"];
  t.is(km.resolve("q")?.scope, "global");
  km.dispatch("3");
  t.deepEqual(calls, ["focusPanel(3)"]);
  // Every key of the table belongs to exactly one binding per scope.
  for (const b of KEYMAP) for (const k of b.keys) t.is(KEYMAP.filter((x) => x.scope === b.scope && x.keys.includes(k)).length, 1, `${k} in ${b.scope}`);
  // Read-only: hidden from resolve, the hint bar and the help.
  ro = true;
  t.is(km.resolve("s"), undefined);
  t.is(km.resolve("r"), undefined);
  t.truthy(km.resolve("j"));
  const theme = { text: { key: "", heading: "", warn: "", dim: "" }, name: "mono" } as never;
  const hint = km.hintLine(200, theme);
  t.notRegex(hint, /\brun\b|\bstop\b/);
  t.regex(hint, /\? help/);
  const help = km.helpLines(theme, 100, []).join("\n");
  t.notRegex(help, /Run a template|Stop the selected/);
  t.regex(help, /Read-only/);
  ro = false;
  t.regex(km.hintLine(200, theme), /r run/);
  t.is(displayKey("S-g"), "G");
  t.is(displayKey("C-d"), "Ctrl-d");
  t.is(displayKey("S-tab"), "Shift-Tab");
});

test.serial("read-only mode (flag or config) hides and disables every mutating action", async (t) => {
  const h = await harness({ app: fakeApp({ readOnly: true }) });
  try {
    addTask(h.app, 5);
    await h.until(/#5/);
    t.regex(screenRows(h)[0]!, /READ-ONLY/);
    t.notRegex(screenRows(h)[47]!, /r run|s stop/);
    await h.keys("r");
    await h.keys("s");
    t.false(h.con.modals.open, "no wizard, no stop dialog");
    t.is(h.app.semaphore.callsOf("projects").length, 0);
    // The command bar still talks to the operations, which refuse.
    await h.keys(":", "s", "t", "o", "p", " ", "5", KEY.enter);
    await h.until(() => /read-only|Not allowed/i.test(h.con.bar.currentMessage ?? "") || /read-only/i.test(screenRows(h).join("\n")));
    t.is(h.app.semaphore.callsOf("stopTask").length, 0);
  } finally {
    h.destroy();
  }
});

test.serial("run wizard: project → template → survey → confirm naming the target → running task view", async (t) => {
  const app = fakeApp({ audit: true });
  const h = await harness({ app });
  try {
    await h.keys("r");
    await h.until(/Run: choose a project/);
    await h.keys(KEY.enter); // Infrastructure
    await h.until(/choose a template in Infrastructure/);
    await h.keys("j", "j", "j", "j", KEY.enter); // Rotate certificates (in the emulator's order: the 5th of project 1)
    await h.until(/survey and parameters/);
    t.regex(screenRows(h).join("\n"), /Domain name \*/);
    // Required field empty: Enter keeps the form and says so.
    await h.keys(KEY.enter);
    await h.until(/Domain name is required/);
    for (const c of "web.example.org") await h.keys(c);
    await h.keys(KEY.down, KEY.down); // past the optional validity, to the CA enum
    await h.keys(KEY.right);
    await h.keys(KEY.enter);
    await h.until(/Run task \(3\/3\)/);
    const text = screenRows(h).join("\n");
    t.regex(text, /Rotate certificates \(template 5\) in Infrastructure \(project 1\)/);
    t.regex(text, /cert_domain=web\.example\.org/);
    t.regex(text, /\[ Cancel \]/);
    await h.keys("y");
    await h.until(() => h.con.taskView.isOpen);
    const starts = app.semaphore.callsOf("startTask");
    t.is(starts.length, 1);
    const [projectId, req] = starts[0] as [number, { templateId: number; environment: Record<string, string> }];
    t.is(projectId, 1);
    t.is(req.templateId, 5);
    t.deepEqual(req.environment, { cert_domain: "web.example.org", ca: "internal" });
    await h.until(/Task output/);
    t.regex(screenRows(h).join("\n"), new RegExp(`#${FIRST_NEW_TASK_ID} Rotate certificates`));
    // Output streams into the view.
    h.app.store.appendOutput(1, FIRST_NEW_TASK_ID, [{ time: new Date().toISOString(), text: "\x1b[32mok: [web1]\x1b[0m" }]);
    await h.until(/ok: \[web1\]/);
    await h.keys(KEY.esc);
    t.false(h.con.taskView.isOpen);
    const audit = readFileSync(join(app.stateDir, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    t.true(audit.some((a) => a.action === "run" && a.who === "console" && a.outcome === "ok"));
  } finally {
    h.destroy();
  }
});

test.serial("stop asks first with Cancel as the default; Tab+Enter stops through the operations", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 42);
    await h.until(/#42/);
    await h.keys("s");
    await h.until(/Stop task #42 Deploy web in Infrastructure\?/);
    await h.keys(KEY.enter); // Cancel is the default
    t.false(h.con.modals.open);
    t.is(h.app.semaphore.callsOf("stopTask").length, 0);
    await h.keys("s");
    await h.until(/Stop task #42/);
    await h.keys(KEY.tab, KEY.enter);
    await h.until(() => h.app.semaphore.callsOf("stopTask").length === 1);
    t.deepEqual(h.app.semaphore.callsOf("stopTask")[0], [1, 42, false]);
    // Force-stop from the task view.
    await h.keys(KEY.enter);
    await h.until(() => h.con.taskView.isOpen);
    await h.keys("S");
    await h.until(/Force-stop task #42/);
    await h.keys("y");
    await h.until(() => h.app.semaphore.callsOf("stopTask").length === 2);
    t.deepEqual(h.app.semaphore.callsOf("stopTask")[1], [1, 42, true]);
  } finally {
    h.destroy();
  }
});

test.serial("a task waiting for confirmation is confirmed or rejected after a dialog", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 7, { status: "waiting_confirmation", templateName: "Terraform apply" });
    await h.until(/#7/);
    await h.keys("a");
    await h.until(/Confirm task #7 Terraform apply/);
    await h.keys("y");
    await h.until(() => h.app.semaphore.callsOf("confirmTask").length === 1);
    await h.keys("d");
    await h.until(/Reject task #7/);
    await h.keys("n");
    t.is(h.app.semaphore.callsOf("rejectTask").length, 0);
    addTask(h.app, 8, { status: "success" });
    await h.until(/#8/);
    await h.keys("g", "a");
    t.false(h.con.modals.open);
    t.regex(h.con.bar.currentMessage ?? "", /Nothing to approve/);
  } finally {
    h.destroy();
  }
});

test.serial("the : bar runs the chat grammar with Tab completion and history", async (t) => {
  const h = await harness();
  try {
    await h.keys(":", "p", "i", KEY.tab);
    await h.until(() => h.con.bar.editor.value === "ping ");
    await h.keys(KEY.enter);
    await h.until(() => /Pong/.test(h.con.bar.currentMessage ?? "") || /Pong/.test(screenRows(h).join("\n")));
    t.is(h.app.semaphore.callsOf("ping").length, 1);
    // History: Up recalls the last command.
    await h.keys(":", KEY.up);
    t.is(h.con.bar.editor.value, "ping");
    await h.keys(KEY.esc);
    t.false(h.con.bar.active);
    // Several candidates: the common prefix, then a list to cycle through.
    const c = await h.con.bar.candidatesFor("");
    t.true(c.list.includes("ping") && c.list.includes("help") && c.list.includes("quit"));
    // Unknown command: the dispatcher's answer is shown.
    await h.keys(":", "p", "o", "n", "g", KEY.enter);
    await h.until(() => /Unknown command/.test(h.con.bar.currentMessage ?? "") || /Unknown command/.test(screenRows(h).join("\n")));
    t.regex(`${h.con.bar.currentMessage ?? ""}\n${screenRows(h).join("\n")}`, /Unknown command/);
  } finally {
    h.destroy();
  }
});

test.serial("mouse: a click (press and release in one chunk) selects the row and focuses the panel; the wheel scrolls", async (t) => {
  const h = await harness();
  try {
    for (let i = 1; i <= 60; i++) addTask(h.app, i);
    await h.until(/#60/);
    await h.keys("3");
    t.is(h.con.focus, "logs");
    const rows = screenRows(h);
    const y = rows.findIndex((r) => r.includes("#55 "));
    t.true(y > 0);
    await h.keys(click(10, y));
    t.is(h.con.focus, "tasks");
    t.is(h.con.tasks.selectedTask?.taskId, 55);
    await h.keys(click(10, y));
    await h.keys(click(10, y));
    t.true(h.con.taskView.isOpen, "double-click opens the task");
    await h.keys(KEY.esc);
    const top = h.con.tasks.list.top;
    await h.keys(wheel(10, y, true));
    t.true(h.con.tasks.list.top > top);
    // Mouse off: clicks are ignored.
    await h.keys("m");
    t.false(h.con.mouseOn);
    await h.keys(click(10, y + 1));
    t.not(h.con.tasks.selectedTask?.taskId, 54);
  } finally {
    h.destroy();
  }
});

test.serial("logs: bounded buffer, level filter, follow / wrap / timestamps toggles", async (t) => {
  const h = await harness();
  try {
    await h.keys("3");
    for (let i = 0; i < 6000; i++) h.app.logger.log(i % 10 === 0 ? "warn" : "info", "bench", `line ${i}`);
    await h.until(/line 5999/);
    t.true(h.con.logs.size <= 5000 + 500, `buffer ${h.con.logs.size}`);
    t.true(h.con.logs.follow);
    await h.keys("k", "k");
    t.false(h.con.logs.follow, "scrolling up pauses following");
    h.app.logger.log("info", "bench", "after pause");
    await h.settle(30);
    t.notRegex(screenRows(h).join("\n"), /after pause/);
    await h.keys("G");
    t.true(h.con.logs.follow);
    await h.until(/after pause/);
    await h.keys("t");
    t.notRegex(screenRows(h).join("\n"), /\d\d:\d\d:\d\d\.\d{3} INFO/);
    await h.keys("t");
    t.regex(screenRows(h).join("\n"), /\d\d:\d\d:\d\d\.\d{3} INFO/);
    await h.keys("v", "v");
    t.is(h.con.logs.minLevel, "warn");
    t.notRegex(screenRows(h).join("\n"), /INFO /);
    t.regex(screenRows(h).join("\n"), /WARN /);
    h.app.logger.log("info", "x", "y".repeat(300));
    await h.keys("v", "v", "v"); // back to debug
    const wrapped = screenRows(h).filter((r) => /^│y+/.test(r)).length;
    t.true(wrapped >= 1);
    await h.keys("w");
    t.false(h.con.logs.wrap);
    t.regex(screenRows(h)[0]!, /ChatrixCD/);
  } finally {
    h.destroy();
  }
});

test.serial("config panel: values with their source, secrets masked, Enter explains the key", async (t) => {
  const app = fakeApp({ env: { CHATRIXCD_SEMAPHORE_API_TOKEN: "supersecrettoken123", CHATRIXCD_BOT_LOG_LEVEL: "debug" } });
  const h = await harness({ app });
  try {
    await h.keys("4", "/", "a", "p", "i", "_", "t", "o", "k", KEY.enter);
    const text = screenRows(h).join("\n");
    t.regex(text, /semaphore\.api_token\s+su\*\*\*\*23 \(19 chars\)\s+env\s/);
    t.notRegex(text, /supersecrettoken123/);
    await h.keys(KEY.enter);
    await h.until(/Semaphore API token/);
    t.regex(screenRows(h).join("\n"), /From:\s+env CHATRIXCD_SEMAPHORE_API_TOKEN/);
    t.notRegex(screenRows(h).join("\n"), /supersecrettoken123/);
    await h.keys(KEY.esc, KEY.esc);
    await h.keys("/", "l", "o", "g", "_", "l", KEY.enter);
    t.regex(screenRows(h).join("\n"), /bot\.log_level\s+debug\s+env/);
    t.regex(screenRows(h).join("\n"), /nothing to reload/);
    // Reload without a file (after the confirm): the operations say why; the panel shows it.
    await h.keys("R");
    await h.until(/Reload configuration/);
    await h.keys("y");
    await h.until(/reload refused/);
  } finally {
    h.destroy();
  }
});

test.serial("resize reflows: 80x24 shows one panel with tabs; every row keeps its width", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 1);
    h.io.resize(80, 24);
    await h.until(() => h.con.compact);
    await h.settle(20);
    const rows = screenRows(h);
    t.is(rows.length, 24);
    t.regex(rows[1]!, /1 Rooms\s+2 Tasks\s+3 Logs\s+4 Config/);
    t.regex(rows[2]!, /2 Tasks/);
    t.notRegex(rows.join("\n"), /4 Config \d/);
    for (const r of (h.con.screen as unknown as { lines: unknown[][] }).lines) t.is(r.length, 80);
    await h.keys("4");
    t.regex(screenRows(h)[2]!, /4 Config/);
    await h.keys(click(14, 1)); // the "2 Tasks" tab
    t.is(h.con.focus, "tasks");
    h.io.resize(160, 48);
    await h.until(() => !h.con.compact);
    t.regex(screenRows(h).join("\n"), /3 Logs/);
    // Zoom: one panel fills the screen at any size.
    await h.keys("z");
    t.regex(screenRows(h)[1]!, /1 Rooms/);
    await h.keys("z");
    t.false(h.con.zoom);
  } finally {
    h.destroy();
  }
});

test.serial("emoji and wide characters never break borders", async (t) => {
  const h = await harness({ cols: 180, rows: 30 });
  try {
    h.app.store.upsertRoom({
      roomId: "!a:x",
      name: "🚀 Launch 日本語 ✅ room with a long name",
      encrypted: true,
      members: 3,
      lastActivity: Date.now(),
      abilities: "run, stop 🔥",
    });
    h.app.store.upsertRoom({ roomId: "!b:x", name: "👩‍💻 dev 🇩🇪 ❤️ team", encrypted: false, members: 12, lastActivity: Date.now() - 100_000 });
    addTask(h.app, 9, { templateName: "Deploy 🚀 prod", projectName: "基础设施" });
    await h.until(/Launch/);
    const lines = (h.con.screen as unknown as { lines: Array<Array<[number, string]>> }).lines;
    const rooms = h.con.rooms.box as unknown as { lpos: { xi: number; xl: number; yi: number; yl: number } };
    const tasks = h.con.tasks.box as unknown as { lpos: { xi: number; xl: number; yi: number; yl: number } };
    for (const box of [rooms, tasks]) {
      for (let y = box.lpos.yi + 1; y < box.lpos.yl - 1; y++) {
        t.is(lines[y]![box.lpos.xl - 1]![1], "│", `right border at row ${y}`);
        t.is(lines[y]![box.lpos.xi]![1], "│", `left border at row ${y}`);
      }
    }
    const text = screenRows(h).join("\n");
    t.regex(text, /🚀 Launch 日本語/);
    t.regex(text, /👩 dev \[DE\] ❤ team/, "ZWJ sequences, flags and VS16 are simplified");
    t.regex(text, /Deploy 🚀 prod/);
  } finally {
    h.destroy();
  }
});

test.serial("quit restores the terminal and calls exit; nothing else is written afterwards", async (t) => {
  let exited: number | undefined;
  const h = await harness({
    opts: {
      exit: (c) => {
        exited = c;
      },
    },
  });
  await h.keys("q");
  await h.until(() => exited !== undefined);
  t.is(exited, 0);
  const out = h.io.written();
  t.true(out.includes("\x1b[?1049h"), "entered the alternate screen");
  t.true(out.endsWith(RESTORE_SEQUENCE), "left it, cursor and mouse restored");
  t.true(h.con.destroyed);
  const len = out.length;
  addTask(h.app, 1);
  h.app.logger.log("info", "x", "after");
  await sleep(300);
  t.is(h.io.written().length, len);
  t.false(h.io.input.isRaw);
  h.destroy();
});

test.serial("quit asks first when Matrix serves rooms", async (t) => {
  let exited: number | undefined;
  const h = await harness({
    opts: {
      exit: (c) => {
        exited = c;
      },
    },
  });
  try {
    h.app.store.setConnection({ matrix: "syncing" });
    await h.keys("q");
    await h.until(/Quit ChatrixCD\?/);
    await h.keys(KEY.enter);
    t.is(exited, undefined, "Cancel is the default");
    await h.keys("q", "y");
    await h.until(() => exited === 0);
    t.is(exited, 0, "q then y quits with exit code 0");
  } finally {
    h.destroy();
  }
});

test.serial("approval requests are listed on top and approved through the operations", async (t) => {
  const h = await harness();
  try {
    const ops = h.app.ops;
    ops.config.values.bot.admin_users.push("@alice:example.org"); // the requester: the run starts as them
    ops.config.templates.push({ project: "Infrastructure", template: "Full backup", approvals_required: 1, approvers: [], approval_expiry: 3600 } as never);
    const run = await ops.tasks.resolveRun({ kind: "console" }, { project: "1", template: "3" });
    const req = await ops.approvals.create({ kind: "chat", userId: "@alice:example.org", roomId: "!ops:example.org" }, run);
    addTask(h.app, 3);
    await h.until(new RegExp(`${req.id} .*Full backup\\s+\\? approval\\s+@alice.*0/1 approvals`));
    t.regex(screenRows(h).join("\n"), /1 awaiting approval/);
    await h.keys("g", "a");
    await h.until(new RegExp(`Approve request ${req.id}: run Full backup`));
    await h.keys(KEY.tab, KEY.enter);
    await h.until(() => ops.approvals.get(req.id)?.status === "started");
    t.deepEqual(
      ops.approvals.get(req.id)!.approvals.map((a) => a.user),
      ["console"],
    );
    t.is(h.app.semaphore.callsOf("startTask").length, 1);
    t.is((h.app.semaphore.callsOf("startTask")[0]![1] as { templateId: number }).templateId, 3);
    await h.until(new RegExp(`Approved ${req.id}: Full backup started as task #${FIRST_NEW_TASK_ID}`));
  } finally {
    h.destroy();
  }
});

test.serial("a run of a template with an approval policy opens a request from the wizard and starts nothing", async (t) => {
  const h = await harness();
  try {
    h.app.ops.config.templates.push({
      project: "Infrastructure",
      template: "Deploy web",
      approvals_required: 1,
      approvers: [],
      approval_expiry: 3600,
    } as never);
    await h.keys("r");
    await h.until(/Run: choose a project/);
    await h.keys(KEY.enter);
    await h.until(/choose a template in Infrastructure/);
    await h.keys(KEY.enter); // Deploy web
    await h.until(/survey and parameters/);
    await h.keys(KEY.enter);
    await h.until(/Run task \(3\/3\)/);
    await h.keys("y");
    await h.until(() => h.app.ops.approvals.pending().length === 1);
    await h.until(/needs 1 approval\(s\): request r1 is waiting/);
    t.is(h.app.semaphore.callsOf("startTask").length, 0);
    t.is(h.app.ops.approvals.pending()[0]!.run.template.name, "Deploy web");
  } finally {
    h.destroy();
  }
});

test.serial("frames that redraw only what changed leave the same screen as a full redraw", async (t) => {
  const h = await harness();
  try {
    // Finished tasks: their elapsed time is fixed, so a second ticking over between the two screens read below
    // cannot tell them apart (a running task's "1m05s" may become "1m06s").
    const end = new Date().toISOString();
    for (let i = 1; i <= 30; i++) addTask(h.app, i, { status: i % 3 ? "success" : "error", end });
    h.app.logger.log("info", "x", "hello");
    await h.until(/#30/);
    const check = async (what: string) => {
      await h.settle(20);
      const incremental = screenRows(h).slice(1);
      h.con.layout();
      h.con.scheduler.flush();
      t.deepEqual(screenRows(h).slice(1), incremental, what);
    };
    await h.keys("j", "j");
    await check("after moving");
    await h.keys("?");
    await h.keys(KEY.esc);
    await check("after the help overlay closed");
    await h.keys(":", "p", KEY.tab, KEY.esc);
    await check("after the completion popup");
    await h.keys(KEY.enter);
    await h.until(() => h.con.taskView.isOpen);
    await h.keys(KEY.esc);
    await check("after the task view");
    await h.keys("r");
    await h.until(/choose a project/);
    await h.keys(KEY.esc);
    await check("after the wizard");
    addTask(h.app, 5, { status: "error", end });
    h.app.logger.log("warn", "x", "more");
    await sleep(250);
    await check("after data updates");
  } finally {
    h.destroy();
  }
});

test.serial("a tiny terminal still draws without crashing, and the light and mono themes work", async (t) => {
  const h = await harness({ cols: 30, rows: 8 });
  try {
    addTask(h.app, 1);
    await h.keys("2", "j", "?", KEY.esc, "r");
    await h.until(/choose a project/);
    await h.keys(KEY.esc);
    t.is(h.rows().length, 8);
  } finally {
    h.destroy();
  }
  for (const theme of ["light", "mono"]) {
    const h2 = await harness({ app: fakeApp({ env: { CHATRIXCD_CONSOLE_THEME: theme } }) });
    try {
      addTask(h2.app, 1, { status: "error" });
      await h2.until(/#1 /);
      t.regex(screenRows(h2).join("\n"), /✖ failed/);
    } finally {
      h2.destroy();
    }
  }
});

test.serial("Escape and a key arriving together (read as Alt+key) act as the two keys", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 1);
    await h.until(/#1 /);
    await h.keys(KEY.enter);
    t.true(h.con.taskView.isOpen);
    await h.keys("\x1b3"); // Esc then 3, in one chunk
    t.false(h.con.taskView.isOpen);
    t.is(h.con.focus, "logs");
  } finally {
    h.destroy();
  }
});

test("every panel is reachable by its number", (t) => {
  t.deepEqual(PANELS, ["rooms", "tasks", "logs", "config"]);
});
