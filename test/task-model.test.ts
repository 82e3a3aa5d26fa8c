// One task model (issue 13 item 6): the client, the store and the emulator share one TaskStatus and one notion of
// "finished", and one "project:task" key helper.
import test from "ava";
import { TASK_STATUSES, isTerminalStatus, type TaskStatus } from "../src/semaphore/types.js";
import { Store, parseTaskKey, taskKey } from "../src/core/store.js";
import { transitionAllowed } from "../src/emulator/pool.js";
import { startSemaphoreServer } from "../src/emulator/index.js";

/** Written out by hand on purpose: the table is the specification, not a copy of the code. */
const FINAL: Record<TaskStatus, boolean> = {
  waiting: false,
  starting: false,
  waiting_confirmation: false,
  confirmed: false,
  running: false,
  stopping: false,
  rejected: true,
  stopped: true,
  success: true,
  error: true,
};

test("every status is final or not the same way in the client, the store and the emulator", (t) => {
  t.deepEqual([...TASK_STATUSES].sort(), Object.keys(FINAL).sort(), "the table covers every status");
  for (const status of TASK_STATUSES) {
    t.is(isTerminalStatus(status), FINAL[status], `client: ${status}`);
    // The store drops the output of finished tasks beyond keepFinishedOutputs (0 here): only final ones go.
    const store = new Store(10, 0);
    store.upsertTask({ projectId: 1, taskId: 7, status });
    store.appendOutput(1, 7, [{ time: "t", text: "line" }]);
    t.is(store.outputEvicted(taskKey(1, 7)), FINAL[status], `store: ${status}`);
    // The emulator's guard: from stopped and rejected nothing moves (live success/error are unguarded, a quirk).
    if (status === "stopped" || status === "rejected") {
      for (const to of TASK_STATUSES) if (to !== status) t.false(transitionAllowed(status, to), `emulator: ${status} → ${to}`);
    }
  }
});

test("a rejected task stays rejected in the emulator (its run is not rewritten to error)", async (t) => {
  const sem = await startSemaphoreServer({ tickMs: 10, lineDelayMs: 1, apiFlavor: "modern", schedules: false });
  t.teardown(() => sem.stop());
  const task = sem.startTaskAs(1, 4, { userId: sem.users["admin"]!.id });
  const head = { Authorization: `Bearer ${sem.adminToken}`, "Content-Type": "application/json" };
  for (let i = 0; i < 2000 && sem.getTask(task.id)?.status !== "waiting_confirmation"; i++) await new Promise((r) => setTimeout(r, 5));
  const res = await fetch(`${sem.url}/api/project/1/tasks/${task.id}/reject`, { method: "POST", headers: head, body: "{}" });
  t.is(res.status, 204);
  for (let i = 0; i < 2000 && !sem.getTask(task.id)?.["end"]; i++) await new Promise((r) => setTimeout(r, 5));
  t.is(sem.getTask(task.id)!.status, "rejected");
  t.truthy(sem.getTask(task.id)!["end"], "the run ended");
});

test("one key helper: parseTaskKey inverts taskKey, large (BoltDB) ids included", (t) => {
  for (const [p, id] of [
    [1, 1],
    [2, 2147483646],
    [12, 2147483000],
  ] as const)
    t.deepEqual(parseTaskKey(taskKey(p, id)), { projectId: p, taskId: id });
});
