// Views drawn over panels: a panel that changes under an open view must not show through it.
import test from "ava";
import { harness, addTask } from "./console-helpers.js";

test("the task output view stays on top while the live Tasks table under it changes", async (t) => {
  const h = await harness();
  try {
    addTask(h.app, 1, { status: "success", templateName: "Deploy web", end: new Date().toISOString() });
    h.app.store.appendOutput(1, 1, [{ time: new Date().toISOString(), text: "ok: [web1] finished output line" }]);
    addTask(h.app, 2, { status: "running", templateName: "Full backup", currentTask: "step 0" });
    await h.settle();
    await h.until(/Full backup/);
    // Open the finished task (#1), as Enter on its row does.
    (h.con as unknown as { openTask(t: unknown): void }).openTask(h.app.store.tasks.get("1:1")!);
    await h.settle();
    await h.until(/Task output/);
    const tableHeader = /ID\s+Project\s+Template/;
    t.false(tableHeader.test(h.text()), "the view covers the table when it opens");
    // The running task moves on, many frames in a row: the table under the view changes each time.
    for (let i = 1; i <= 20; i++) {
      h.app.store.upsertTask({ projectId: 1, taskId: 2, currentTask: `step ${i}`, status: "running" });
      h.con.scheduler.flush();
      t.false(tableHeader.test(h.text()), `frame ${i}: the Tasks table shows through the task view:\n${h.text()}`);
      t.false(/step \d+/.test(h.text()), `frame ${i}: the running task's progress shows through the task view`);
    }
    t.regex(h.text(), /#1 Deploy web/);
  } finally {
    h.destroy();
  }
});
