// A known task history for the History view's tests and the F6 benchmark: a fake Semaphore that answers the task
// list (one project's tasks, newest first) from lists the test sets.
import { fakeApp, FakeSemaphore, type FakeApp } from "./console-helpers.js";
import type { TaskWithTpl } from "../src/semaphore/types.js";

/** A fake Semaphore that also answers the task list, from a known history. */
export class HistorySemaphore extends FakeSemaphore {
  readonly lists = new Map<number, TaskWithTpl[]>();
  /** Held task-list requests wait for this (to interleave requests with task transitions). */
  hold?: Promise<void>;
  async taskList(projectId: number): Promise<TaskWithTpl[]> {
    this.calls.push({ method: "tasks", args: [projectId] });
    const list = [...(this.lists.get(projectId) ?? [])];
    if (this.hold) await this.hold;
    return list;
  }
}

/** The client's `tasks(projectId)` is the fake's taskList (its `tasks` is the map of started tasks). */
const asClient = (sem: HistorySemaphore) =>
  new Proxy(sem, {
    get(target, prop) {
      if (prop === "tasks") return (p: number) => target.taskList(p);
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });

export const today = new Date();
/** Noon `daysAgo` local days back, plus `minute` minutes: the same local day in every time zone. */
const at = (daysAgo: number, minute: number) => new Date(today.getFullYear(), today.getMonth(), today.getDate() - daysAgo, 12, minute);

export function run(id: number, templateId: number, name: string, status: string, end: Date, seconds: number): TaskWithTpl {
  return {
    id,
    template_id: templateId,
    project_id: 1,
    status,
    tpl_alias: name,
    created: end.toISOString(),
    start: new Date(end.getTime() - seconds * 1000).toISOString(),
    end: end.toISOString(),
  } as unknown as TaskWithTpl;
}

/**
 * Deploy web: 22 finished runs. The two oldest (20 days ago, failed, 1000 s) fall outside the last 20. Runs 2..21
 * last (i-1)*10 s, two a day from 9 days ago to today; run 5 failed, run 9 was stopped, the rest succeeded.
 */
export function deployWeb(): TaskWithTpl[] {
  const out: TaskWithTpl[] = [run(1000, 1, "Deploy web", "error", at(20, 0), 1000), run(1001, 1, "Deploy web", "error", at(20, 1), 1000)];
  for (let i = 2; i <= 21; i++)
    out.push(run(1000 + i, 1, "Deploy web", i === 5 ? "error" : i === 9 ? "stopped" : "success", at((21 - i) >> 1, i), (i - 1) * 10));
  return out.reverse(); // Semaphore lists newest first
}

export function historyApp(): FakeApp & { semaphore: HistorySemaphore } {
  const app = fakeApp();
  const sem = new HistorySemaphore();
  sem.lists.set(1, [
    ...deployWeb(),
    run(2000, 3, "Full backup", "success", at(1, 0), 120),
    { ...run(2001, 3, "Full backup", "running", at(0, 0), 0), end: null } as TaskWithTpl,
  ]);
  sem.lists.set(2, [{ ...run(3000, 7, "Rebuild search index", "running", at(0, 0), 0), project_id: 2, end: null } as TaskWithTpl]);
  app.semaphore = sem;
  app.ops.semaphore = asClient(sem) as never;
  return app as FakeApp & { semaphore: HistorySemaphore };
}
