// Reads progress out of Ansible's output: the current play and task, and the PLAY RECAP counts per host.

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const stripAnsi = (s: string): string => s.replace(ANSI, "");

export interface AnsibleProgress {
  currentPlay?: string;
  currentTask?: string;
  recap?: Record<string, Record<string, number>>;
}

const PLAY = /^PLAY \[(.*)\]\s*\**\s*$/;
const TASK = /^(?:TASK|RUNNING HANDLER) \[(.*)\]\s*\**\s*$/;
const RECAP_HEADER = /^PLAY RECAP\b/;
const RECAP_LINE = /^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$/;

/** Folds new lines into the progress so far; returns a new object only when something changed. */
export function foldAnsible(prev: AnsibleProgress, lines: string[]): AnsibleProgress | undefined {
  let next: AnsibleProgress | undefined;
  const edit = () => (next ??= { ...prev, recap: prev.recap ? { ...prev.recap } : undefined });
  for (const raw of lines) {
    const line = stripAnsi(raw).trim();
    let m: RegExpExecArray | null;
    if ((m = PLAY.exec(line))) {
      edit().currentPlay = m[1];
      next!.currentTask = undefined;
    } else if ((m = TASK.exec(line))) edit().currentTask = m[1];
    else if (RECAP_HEADER.test(line)) {
      edit().currentTask = undefined;
      next!.recap ??= {};
    } else if ((m = RECAP_LINE.exec(line))) {
      const counts: Record<string, number> = {};
      for (const pair of m[2]!.trim().split(/\s+/)) {
        const [k, v] = pair.split("=");
        counts[k!] = Number(v);
      }
      edit().recap = { ...(next!.recap ?? {}), [m[1]!]: counts };
    }
  }
  return next;
}

/** Sums the recap over hosts: { ok: 5, changed: 2, failed: 0, ... }. */
export function recapTotals(recap: Record<string, Record<string, number>> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const counts of Object.values(recap ?? {})) for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v;
  return out;
}
