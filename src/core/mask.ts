// The one secret masker. Every rendering of run parameters (prompts, cards, summaries, audit, log, console history)
// goes through it; the request sent to Semaphore never does. `isSecretKey` is the one rule for names.
import type { SurveyVar } from "../semaphore/types.js";
import { tokenize } from "../util/tokenize.js";

/** What a secret value is shown as. A value containing it is refused as input (see `findMasked`). */
export const MASK = "‹masked›";

const SECRET_PART = /pass|secret|token|credential|private|api_?key/i;
/** Words after "key" that make the name a reference to a key, not the key: ssh_key_path, key_file, access_key_id. */
const KEY_REFERENCE = new Set(["path", "file", "filename", "name", "id", "ids", "type", "size", "length", "bits", "dir", "url", "format"]);

const words = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);

/**
 * Does a variable, option or JSON key name look like it holds a secret? Any name containing pass, secret, token,
 * credential, private or api_key/apikey; or with the word "key", "pwd" or "pw" (db_pwd, deploy_key, sshKey) unless
 * "key" is followed by a reference word (ssh_key_path, key_file, key_name: those name a key, they are not one).
 */
export function isSecretKey(name: string): boolean {
  if (SECRET_PART.test(name)) return true;
  const w = words(name);
  return w.some((x, i) => (x === "key" && !KEY_REFERENCE.has(w[i + 1] ?? "")) || x === "pwd" || x === "pw");
}

/** Survey answers that must not be shown or logged: secret-typed variables, or names that look like secrets. */
export function isSecretVar(name: string, survey: SurveyVar[] | null | undefined): boolean {
  const def = (survey ?? []).find((v) => v.name === name);
  return isSecretKey(name) || (!!def && /secret|password/i.test(def.type));
}

/** Does any identifier in the text look like a secret's name? */
const namesSecret = (text: string) => (text.match(/[A-Za-z_][\w.-]*/g) ?? []).some(isSecretKey);

// A name followed by = or : (optionally quoted, JSON-style), not starting inside another name (but after "--").
const PAIR = /(?<![\w.]|[\w.]-)(["']?)([A-Za-z_][\w.-]*)\1\s*([=:])\s*/g;
/** Where an unquoted value stops: in free text, at white space; in embedded text (log lines, JSON), also at quotes and separators. */
const STOP = /\s/;
const EMBEDDED_STOP = /[\s"'&,;}\]\\]/;

function valueEnd(text: string, start: number, sep: string, embedded: boolean): { from: number; to: number; end: number } | undefined {
  const c = text[start];
  if (c === undefined) return undefined;
  const escapedQuote = embedded && text.startsWith('\\"', start);
  if (c === '"' || c === "'" || escapedQuote) {
    const q = escapedQuote ? '\\"' : c;
    let i = start + q.length;
    for (; i < text.length; i++) {
      if (!escapedQuote && c === '"' && text[i] === "\\") {
        i++;
        continue;
      }
      if (text.startsWith(q, i)) break;
    }
    // An unclosed quote masks to the end: better too much than a secret's tail.
    return { from: start + q.length, to: Math.min(i, text.length), end: Math.min(i + q.length, text.length) };
  }
  if (embedded && (c === "{" || c === "[")) return undefined; // a JSON object's own keys are checked one by one
  if (!embedded && (c === "{" || c === "[")) {
    // A whole structure under a secret name: to its matching bracket (or the end).
    let depth = 0;
    let i = start;
    let quote: string | undefined;
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (quote) {
        if (ch === "\\") i++;
        else if (ch === quote) quote = undefined;
        continue;
      }
      if (ch === '"' || ch === "'") quote = ch;
      else if (ch === "{" || ch === "[") depth++;
      else if ((ch === "}" || ch === "]") && --depth === 0) {
        i++;
        break;
      }
    }
    return { from: start, to: i, end: i };
  }
  const stop = embedded ? EMBEDDED_STOP : sep === ":" ? /[\s,}\]]/ : STOP;
  let i = start;
  while (i < text.length && !stop.test(text[i]!)) i++;
  return i === start ? undefined : { from: start, to: i, end: i };
}

/**
 * Masks the values of secret-named pairs in text: `k=v`, `k="v w"`, `--password=v`, `"k": "v"`, `k: v`, several per
 * string. `embedded`: the text is a log line or serialised JSON, so values also stop at quotes and separators and the
 * text's structure is kept. Values already masked are left alone.
 */
export function maskText(text: string, embedded = false): string {
  if (!text) return text;
  const re = new RegExp(PAIR.source, "g");
  let out = "";
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (!isSecretKey(m[2]!)) continue; // scanning goes on right after the separator: a pair inside this value is found too
    const v = valueEnd(text, m.index + m[0].length, m[3]!, embedded);
    if (!v) continue;
    re.lastIndex = v.end;
    if (text.startsWith("‹", v.from)) continue;
    // In JSON, a bare value (number, true) under a quoted key becomes a string, so the line stays JSON.
    const bare = embedded && m[1] === '"' && v.from === m.index + m[0].length && !/["']/.test(text[v.from]!);
    out += text.slice(last, v.from) + (bare ? `"${MASK}"` : MASK);
    last = v.to;
  }
  return out + text.slice(last);
}

function maskJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(maskJson);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isSecretKey(k) ? MASK : maskJson(x)]));
  return typeof v === "string" ? maskText(v) : v;
}

/** Net count of opening minus closing brackets outside quotes. */
function bracketDepth(text: string): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
  }
  return depth;
}

/**
 * Masks extra CLI arguments (already split) for display: `-e k=v`, `-e "a=1 b=2"`, `--extra-vars=k=v`, JSON extra vars
 * (`-e '{"api_key": "…"}'`, nested keys too), and the value of an option named like a secret (`--vault-password x`).
 * JSON that cannot be read but names a secret is masked whole, over as many arguments as its brackets span.
 */
export function maskArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  let openBrackets = 0;
  let optionValue = false;
  for (const a of args) {
    if (openBrackets > 0) {
      out.push(MASK);
      openBrackets = Math.max(0, openBrackets + bracketDepth(a));
      continue;
    }
    if (optionValue && !a.startsWith("-")) {
      optionValue = false;
      out.push(MASK);
      continue;
    }
    optionValue = false;
    const option = /^--?([A-Za-z][\w-]*)$/.exec(a);
    if (option) {
      optionValue = isSecretKey(option[1]!);
      out.push(a);
      continue;
    }
    const [, prefix = "", rest = ""] = /^(-e|--extra-vars=|--[A-Za-z][\w-]*=)?(.*)$/s.exec(a)!;
    if (/^\s*[{[]/.test(rest)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rest);
      } catch {
        parsed = undefined;
      }
      if (parsed !== undefined) {
        out.push(prefix + JSON.stringify(maskJson(parsed)));
        continue;
      }
      if (namesSecret(rest)) {
        out.push(prefix + MASK);
        openBrackets = Math.max(0, bracketDepth(rest));
        continue;
      }
    }
    out.push(maskArgument(a));
  }
  return out;
}

/**
 * One argument as the tokenizer split it (the quotes that kept its spaces are gone): a secret `name=value` (also
 * `-ename=value`, `--extra-vars=name=value`, `--name=value`) is masked up to the next ` name=` pair or the end, so the
 * words of a value typed as `db_pass="a b c"` do not show. Anything else goes through maskText.
 */
export function maskArgument(arg: string): string {
  const [, prefix = "", rest = ""] = /^(-e(?=[A-Za-z_])|--extra-vars=)?(.*)$/s.exec(arg)!;
  const pair = /^(--?)?([A-Za-z_][\w.-]*)=(.*)$/s.exec(rest);
  if (!pair || !isSecretKey(pair[2]!) || pair[3]!.startsWith("‹")) return maskText(arg);
  const value = pair[3]!;
  const next = value.search(/\s[A-Za-z_][\w.-]*=/);
  return `${prefix}${pair[1] ?? ""}${pair[2]}=${MASK}${next < 0 ? "" : maskText(value.slice(next))}`;
}

/** Survey answers for display: secret ones masked. */
export function maskVars<V>(env: Record<string, V>, survey: SurveyVar[] | null | undefined): Record<string, V | string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, isSecretVar(k, survey) ? MASK : typeof v === "string" ? maskText(v) : v]));
}

const quoteArg = (s: string) => (s !== "" && /^[^\s"'\\]+$/.test(s) ? s : !s.includes("'") ? `'${s}'` : `"${s.replace(/["\\]/g, "\\$&")}"`);

/**
 * A command line as it may be kept (console history): secret-named `k=v` answers and the secrets in `--args` masked.
 * undefined when the line cannot be read and names a secret: such a line is not kept at all.
 */
export function maskCommandLine(line: string): string | undefined {
  const toks = tokenize(line);
  if (!toks.ok) return namesSecret(line) ? undefined : line;
  let changed = false;
  const out = toks.tokens.map((tok, i, all) => {
    const argsValue = all[i - 1]?.toLowerCase() === "--args" ? tok : /^--args=/i.test(tok) ? tok.slice("--args=".length) : undefined;
    let masked: string;
    if (argsValue !== undefined) {
      const inner = tokenize(argsValue);
      const value = inner.ok ? maskArgs(inner.tokens).map(quoteArg).join(" ") : namesSecret(argsValue) ? MASK : argsValue;
      masked = tok === argsValue ? value : `${tok.slice(0, tok.length - argsValue.length)}${value}`;
    } else masked = maskArgument(tok);
    if (masked !== tok) changed = true;
    return masked;
  });
  // Unchanged lines are kept as typed (their quoting too).
  return changed ? out.map(quoteArg).join(" ") : line;
}

/** The first input value that is (or contains) the mask: a masked line recalled and re-run must not send it as a value. */
export function findMasked(values: Record<string, string> | undefined, args: readonly string[] | undefined): string | undefined {
  for (const [k, v] of Object.entries(values ?? {})) if (v.includes(MASK)) return k;
  return (args ?? []).some((a) => a.includes(MASK)) ? "--args" : undefined;
}
