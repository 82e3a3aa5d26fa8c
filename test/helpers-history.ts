// A known task history for the History view's tests and the F6 benchmark: the emulator, seeded empty, with the
// projects and templates of the demo that the tests name and a history of finished runs written into it.
import { fakeApp, type FakeApp } from "./console-helpers.js";
import type { TaskWithTpl } from "../src/semaphore/types.js";
import type { SemaphoreServer } from "../src/emulator/index.js";

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

/** Writes a run (as made by run()) into the emulator as a finished task of the named template; returns its id. */
export function addRun(emulator: SemaphoreServer, r: TaskWithTpl, templateId: number): number {
  const status = r.status as "success" | "error" | "stopped";
  return emulator.addPastRun(r.project_id, templateId, { status, start: new Date(r.start!), end: new Date(r.end!) }).id;
}

export interface HistoryApp extends FakeApp {
  emulator: SemaphoreServer;
  /** Template ids in the emulator, by name. */
  templates: { deployWeb: number; fullBackup: number; searchIndex: number };
}

/** Deploy web with deployWeb()'s history and Full backup with one success (project 1), Rebuild search index with none
 *  (project 2); Full backup and the search index also have a run still going. */
export async function historyApp(): Promise<HistoryApp> {
  const app = fakeApp({ seed: "empty" });
  const emulator = await app.semaphore.emulator;
  const infra = emulator.createProject("Infrastructure").id;
  const tools = emulator.createProject("Internal tools").id;
  const templates = {
    deployWeb: emulator.addTemplate(infra, { name: "Deploy web", app: "ansible" }).id,
    fullBackup: emulator.addTemplate(infra, { name: "Full backup", app: "ansible" }).id,
    searchIndex: emulator.addTemplate(tools, { name: "Rebuild search index" }).id,
  };
  for (const r of deployWeb().reverse()) addRun(emulator, { ...r, project_id: infra } as TaskWithTpl, templates.deployWeb);
  addRun(emulator, { ...run(0, 0, "Full backup", "success", at(1, 0), 120), project_id: infra } as TaskWithTpl, templates.fullBackup);
  emulator.startTaskAs(infra, templates.fullBackup);
  emulator.startTaskAs(tools, templates.searchIndex);
  return { ...app, emulator, templates };
}
