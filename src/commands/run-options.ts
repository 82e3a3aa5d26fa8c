// Parses the arguments of `run`: [project [template]] [--tags a,b] [--skip-tags a,b] [--limit h1,h2] [--args "…"]
// [--branch b] [--dry-run] [--diff] [--debug] [key=value …]. Options accept `--opt value` and `--opt=value`.
import type { RunRequest } from "../core/task-ops.js";
import { splitArgs } from "../util/tokenize.js";
import { closest } from "../util/text.js";

export type RunParse = { ok: true; request: RunRequest } | { ok: false; error: string };

const VALUE_OPTS = { "--tags": "tags", "--skip-tags": "skipTags", "--limit": "limit", "--args": "args", "--branch": "branch" } as const;
const FLAG_OPTS = { "--dry-run": "dryRun", "--check": "dryRun", "--diff": "diff", "--debug": "debug" } as const;
const ALL_OPTS = [...Object.keys(VALUE_OPTS), ...Object.keys(FLAG_OPTS)];
const VAR = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

const splitList = (v: string) =>
  v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

export function parseRunArgs(args: string[]): RunParse {
  const req: RunRequest = {};
  const positional: string[] = [];
  const vars: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith("--") && a.length > 2) {
      const eq = a.indexOf("=");
      const name = (eq > 0 ? a.slice(0, eq) : a).toLowerCase();
      if (name in FLAG_OPTS) {
        if (eq > 0) return { ok: false, error: `${name} is a switch and takes no value (write just ${name})` };
        req[FLAG_OPTS[name as keyof typeof FLAG_OPTS]] = true;
        continue;
      }
      if (name in VALUE_OPTS) {
        let value: string | undefined;
        if (eq > 0) value = a.slice(eq + 1);
        else {
          value = args[i + 1];
          if (value === undefined || (value.startsWith("--") && name !== "--args")) return { ok: false, error: `${name} needs a value, e.g. ${example(name)}` };
          i++;
        }
        const key = VALUE_OPTS[name as keyof typeof VALUE_OPTS];
        if (key === "branch") {
          if (!value.trim() || /\s/.test(value.trim())) return { ok: false, error: `--branch needs one branch name, not ${JSON.stringify(value)}` };
          req.branch = value.trim();
        } else if (key === "args") {
          let words: string[];
          try {
            words = splitArgs(value);
          } catch (e) {
            return { ok: false, error: `--args cannot be read: ${(e as Error).message}` };
          }
          req.args = [...(req.args ?? []), ...words];
        } else {
          const list = splitList(value);
          if (list.length === 0) return { ok: false, error: `${name} needs at least one name, e.g. ${example(name)}` };
          req[key] = [...(req[key] ?? []), ...list];
        }
        continue;
      }
      const hint = closest(name, ALL_OPTS);
      return {
        ok: false,
        error: `unknown option ${JSON.stringify(name.slice(0, 40))}${hint ? `; did you mean ${hint}?` : ""} (options: ${ALL_OPTS.join(", ")})`,
      };
    }
    const m = VAR.exec(a);
    if (m) {
      if (m[1]! in vars) return { ok: false, error: `${m[1]} is given twice` };
      vars[m[1]!] = m[2]!;
      continue;
    }
    if (Object.keys(vars).length > 0)
      return { ok: false, error: `${JSON.stringify(a.slice(0, 60))} comes after key=value variables: give the project and template first` };
    positional.push(a);
  }
  if (positional.length > 2) {
    return {
      ok: false,
      error:
        `unexpected ${JSON.stringify(positional[2]!.slice(0, 60))}: run takes at most a project and a template (quote names with spaces); give tags as ` +
        `--tags a,b and survey variables as key=value`,
    };
  }
  if (positional[0] !== undefined) req.project = positional[0];
  if (positional[1] !== undefined) req.template = positional[1];
  if (Object.keys(vars).length) req.vars = vars;
  return { ok: true, request: req };
}

function example(name: string): string {
  switch (name) {
    case "--tags":
      return "--tags web,db";
    case "--skip-tags":
      return "--skip-tags slow";
    case "--limit":
      return "--limit web1,web2";
    case "--args":
      return '--args "-e foo=bar"';
    default:
      return "--branch main";
  }
}
