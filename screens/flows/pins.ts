// Favourite templates: pinned ones come first in the run wizard and in `:run` completion. Kept in the console's
// state (<state_dir>/console-pins.json) so they survive a restart.
import { readFileSync } from "node:fs";
import { writeFileAtomicSync } from "../../src/util/atomic-write.js";
import type { Operations } from "../../src/core/operations.js";

export class Pins {
  private readonly pinned = new Set<string>();

  /** `file`: where they are kept; undefined keeps them in memory (tests). */
  constructor(private readonly file?: string) {
    if (!file) return;
    try {
      const saved = JSON.parse(readFileSync(file, "utf8")) as unknown;
      if (Array.isArray(saved)) for (const k of saved) if (typeof k === "string" && /^\d+\/\d+$/.test(k)) this.pinned.add(k);
    } catch {
      /* none yet, or unreadable: start without pins */
    }
  }

  private static key(projectId: number, templateId: number): string {
    return `${projectId}/${templateId}`;
  }

  has(projectId: number, templateId: number): boolean {
    return this.pinned.has(Pins.key(projectId, templateId));
  }

  /** Pins or unpins; returns whether it is pinned now. */
  toggle(projectId: number, templateId: number): boolean {
    const k = Pins.key(projectId, templateId);
    const now = !this.pinned.delete(k);
    if (now) this.pinned.add(k);
    if (this.file) writeFileAtomicSync(this.file, JSON.stringify([...this.pinned].sort()) + "\n");
    return now;
  }

  /** Pinned first, otherwise in the order given. */
  first<T extends { id: number; project_id: number }>(templates: T[]): T[] {
    return [...templates.filter((t) => this.has(t.project_id, t.id)), ...templates.filter((t) => !this.has(t.project_id, t.id))];
  }
}

/** `:run <project> <Tab>` completion: the pinned templates' names and ids of that project, to offer first. */
export async function pinnedTemplateNames(ops: Pick<Operations, "tasks">, pins: Pins, tokens: string[], index: number): Promise<string[]> {
  if (tokens[0] !== "run" || index !== 2 || !tokens[1]) return [];
  const { templates } = await ops.tasks.templates({ kind: "console" }, tokens[1]);
  return templates.filter((t) => pins.has(t.project_id, t.id)).flatMap((t) => [t.name, String(t.id)]);
}
