import { readFileSync, appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomicSync } from "../util/atomic-write.js";

/**
 * Event ids of commands already acted on, persisted before acting. A crash after acting but before the sync
 * token is saved replays those events on restart; this set makes that replay a no-op.
 */
export class HandledEvents {
  private ids = new Set<string>();
  constructor(
    private readonly file: string,
    private readonly keep = 2000,
  ) {
    try {
      const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
      for (const id of lines.slice(-keep)) this.ids.add(id);
      if (lines.length > keep * 2) writeFileAtomicSync(file, [...this.ids].join("\n") + "\n");
    } catch {
      /* first start */
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Returns false when the id was already handled. */
  claim(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    appendFileSync(this.file, id + "\n", { mode: 0o600 });
    return true;
  }
}
