// screens/key-actions.ts: Esc undoes one thing at a time, innermost first (the view's search, the view, the panel's
// filter, the zoom); the task keys act on the open view's task, else the selected row's.
import test from "ava";
import { harness, addTask, KEY } from "./console-helpers.js";

test.serial("Esc: the task view's search, then the view; then the panel's filter, then the zoom", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 7, { templateName: "Deploy web", status: "success", end: new Date().toISOString() });
    h.app.store.appendOutput(1, 7, [{ time: new Date().toISOString(), text: "fatal: [web2] FAILED" }]);
    await h.until(/#7/);
    await h.keys("z", "/", ..."Deploy", KEY.enter);
    t.true(h.con.zoom);
    t.is(h.con.tasks.filterText, "Deploy");
    await h.keys(KEY.enter);
    await h.until(/fatal: \[web2\]/);
    await h.keys("/", ..."fatal", KEY.enter);
    t.is(h.con.taskView.search, "fatal");
    await h.keys(KEY.esc);
    t.true(h.con.taskView.isOpen, "the first Esc clears the search only");
    t.is(h.con.taskView.search, "");
    await h.keys(KEY.esc);
    t.false(h.con.taskView.isOpen);
    t.is(h.con.tasks.filterText, "Deploy", "closing the view keeps the panel's filter");
    await h.keys(KEY.esc);
    t.is(h.con.tasks.filterText, "");
    t.true(h.con.zoom, "the filter goes before the zoom");
    await h.keys(KEY.esc);
    t.false(h.con.zoom);
  } finally {
    h.destroy();
  }
});

test.serial("s stops the task the open view shows, not the row selected under it", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 41, { templateName: "Deploy web" });
    addTask(h.app, 42, { templateName: "Full backup" });
    await h.until(/#42/);
    t.is(h.con.tasks.selectedTask?.taskId, 42, "the newest task is selected");
    await h.keys(KEY.down);
    t.is(h.con.tasks.selectedTask?.taskId, 41);
    await h.keys(KEY.enter);
    await h.until(() => h.con.taskView.isOpen);
    h.con.tasks.selectTask("1:42");
    await h.keys("s");
    await h.until(/Stop task #41/);
    t.notRegex(h.text(), /Stop task #42/);
  } finally {
    h.destroy();
  }
});
