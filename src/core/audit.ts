import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Actor } from "./operations.js";
import type { Redactor } from "../log/redact.js";

/** The audit log's file inside [bot] state_dir (one name for the writer and for `--version`/`:info`). */
export function auditFilePath(stateDir: string): string {
  return join(stateDir, "audit.jsonl");
}

export interface AuditRecord {
  time: string;
  /** "@alice:example.org" or "console". */
  who: string;
  /** Room id for chat actions; "console" for the console. */
  where: string;
  action: string;
  params?: Record<string, unknown>;
  taskId?: number;
  projectId?: number;
  /** Who approved (approval policies), in order. */
  approvals?: string[];
  outcome: "ok" | "refused" | "failed" | "cancelled";
  detail?: string;
}

/** Append-only JSON lines in state_dir, one line per action, secrets masked. Writes are serialised. */
export class AuditLog {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    readonly file: string | undefined,
    private readonly redactor: Redactor,
  ) {}

  record(
    actor: Actor,
    action: string,
    outcome: AuditRecord["outcome"],
    extra: Partial<Omit<AuditRecord, "time" | "who" | "where" | "action" | "outcome">> = {},
  ): Promise<void> {
    const rec: AuditRecord = {
      time: new Date().toISOString(),
      who: actor.kind === "chat" ? actor.userId : "console",
      where: actor.kind === "chat" ? actor.roomId : "console",
      action,
      outcome,
      ...extra,
    };
    const line = this.redactor.redact(JSON.stringify(rec)) + "\n";
    const file = this.file;
    if (!file) return Promise.resolve();
    this.chain = this.chain
      .then(async () => {
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
        await appendFile(file, line, { mode: 0o600 });
      })
      .catch(() => undefined);
    return this.chain;
  }

  /** The newest records (up to `limit`) matching `pred`, newest first. Unreadable lines are skipped. */
  async recent(limit: number, pred: (r: AuditRecord) => boolean = () => true): Promise<AuditRecord[]> {
    if (!this.file) return [];
    await this.chain;
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch {
      return [];
    }
    const out: AuditRecord[] = [];
    const lines = text.split("\n");
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      if (!lines[i]) continue;
      try {
        const r = JSON.parse(lines[i]!) as AuditRecord;
        if (pred(r)) out.push(r);
      } catch {
        /* a torn or foreign line */
      }
    }
    return out;
  }
}
