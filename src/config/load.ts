import { readFileSync, statSync } from "node:fs";
import { dirname, resolve, isAbsolute } from "node:path";
import ini from "ini";
import {
  SCHEMA,
  ROOM_SCHEMA,
  TEMPLATE_SCHEMA,
  keyDef,
  envName,
  sectionNames,
  type KeyDef,
  type SectionName,
  type ConfigValues,
  type RoomPolicy,
  type TemplatePolicy,
} from "./schema.js";
import { closest } from "../util/text.js";
import { parseListen, isLoopback } from "../http/listen.js";

export type ValueSource = "default" | "file" | "env" | `secret file ${string}`;

export interface ConfigIssue {
  severity: "error" | "warning";
  file?: string;
  line?: number;
  section?: string;
  key?: string;
  /** The offending value, already masked when the key is secret. */
  value?: string;
  message: string;
}

export interface LoadedConfig {
  path?: string;
  values: ConfigValues;
  rooms: RoomPolicy[];
  /** `[template "<project>/<template>"]` approval policies, in file order. */
  templates: TemplatePolicy[];
  /** Where each `section.key` value came from. */
  sources: Record<string, { source: ValueSource; line?: number }>;
  issues: ConfigIssue[];
  /** Every secret value, for the log redactor. */
  secrets: string[];
  ok: boolean;
}

export interface LoadOptions {
  /** Demo mode runs the embedded Semaphore, so [semaphore] url and token are not required. */
  demo?: boolean;
  env?: NodeJS.ProcessEnv;
}

interface RawEntry {
  value: string;
  line: number;
  cut?: CommentCut;
}
interface RawSection {
  name: string;
  line: number;
  entries: Map<string, RawEntry>;
}
/** Where ini cut an unquoted value at an unescaped `;` or `#`; glued when no space came before (so not meant as a comment). */
interface CommentCut {
  char: string;
  glued: boolean;
  rest: string;
}

const ROOM_HEADER = /^room\s+"(.*)"$/;
/** Room section keys that list users. */
const USER_LIST_KEYS = new Set(["run", "stop", "approve", "read"]);
const TEMPLATE_HEADER = /^template\s+"(.*)"$/;
/** A room id (v12 ids have no server part) or an alias. */
const ROOM_REF = /^(!\S+|#[^:\s]+:\S+)$/;
/** What may be echoed as a key name: a typed key is short and plain; anything else could be a pasted secret. */
const KEY_LIKE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export function maskSecret(value: string): string {
  if (!value) return "";
  return value.length <= 4 ? "****" : `${value.slice(0, 2)}****${value.slice(-2)} (${value.length} chars)`;
}

/** Every key name the file may use, so an unreadable line can be named by its key without showing its value. */
function knownKeyNames(): Set<string> {
  const out = new Set<string>([...Object.keys(ROOM_SCHEMA), ...Object.keys(TEMPLATE_SCHEMA)]);
  for (const s of sectionNames()) {
    for (const [k, d] of Object.entries(SCHEMA[s] as Record<string, KeyDef>)) {
      out.add(k);
      if (d.fileVariant) out.add(`${k}_file`);
    }
  }
  return out;
}

/** Mirrors ini's value reading: an unquoted value ends at the first `;` or `#` not escaped by a backslash. */
function commentCut(raw: string): CommentCut | undefined {
  if (/^(".*"|'.*')$/s.test(raw)) return undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === ";" || c === "#") return { char: c, glued: i > 0 && !/\s/.test(raw[i - 1]!), rest: raw.slice(i) };
  }
  return undefined;
}

/**
 * Splits INI text into sections with line numbers. Values are decoded by the `ini` package (quoting, escapes and
 * comments are ini's); sections and keys are ours, because ini would split room names on dots and drop `__proto__`.
 */
function scan(text: string, file: string | undefined, issues: ConfigIssue[]): RawSection[] {
  const sections: RawSection[] = [{ name: "", line: 0, entries: new Map() }];
  const keyNames = knownKeyNames();
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = i + 1;
    const trimmed = rawLine.trim();
    if (!trimmed || trimmed.startsWith(";") || trimmed.startsWith("#")) return;
    if (trimmed.startsWith("[")) {
      const m = /^\[([^\]]*)\]$/.exec(trimmed);
      if (!m) {
        issues.push({
          severity: "error",
          file,
          line,
          message: `malformed section header ${JSON.stringify(trimmed.slice(0, 60))}: expected [name] or [room "<room id>"]`,
        });
        return;
      }
      sections.push({ name: m[1]!.trim(), line, entries: new Map() });
      return;
    }
    const section = sections.at(-1)!;
    const eq = trimmed.indexOf("=");
    const key = eq > 0 ? ini.unsafe(trimmed.slice(0, eq)) : "";
    if (!key) {
      // The line may be a secret pasted without its key: name the key only when it is one of ours, never the rest.
      const prefix = /^[A-Za-z0-9_]+/.exec(trimmed)?.[0];
      const named = prefix !== undefined && keyNames.has(prefix) ? prefix : undefined;
      issues.push({
        severity: "error",
        file,
        line,
        section: section.name || undefined,
        key: named,
        message: "cannot read this line: expected key = value (its text is not shown, as it may hold a secret)",
      });
      return;
    }
    const rawValue = trimmed.slice(eq + 1).trim();
    const prev = section.entries.get(key);
    if (prev) {
      issues.push({
        severity: "error",
        file,
        line,
        section: section.name || undefined,
        key: KEY_LIKE.test(key) ? key : undefined,
        message: `set twice, at line ${prev.line} and at line ${line}: keep one`,
      });
      return;
    }
    section.entries.set(key, { value: ini.unsafe(rawValue), line, cut: commentCut(rawValue) });
  });
  return sections;
}

/** Parses one value by its declared kind; returns an error message instead on bad input. */
export function coerce(def: KeyDef, raw: string): { value: unknown } | { error: string } {
  const text = raw.trim();
  switch (def.kind) {
    case "bool": {
      const t = text.toLowerCase();
      if (["true", "yes", "on", "1"].includes(t)) return { value: true };
      if (["false", "no", "off", "0"].includes(t)) return { value: false };
      return { error: "expected true or false" };
    }
    case "int": {
      if (!/^-?\d+$/.test(text)) return { error: `expected a whole number from ${def.min} to ${def.max}` };
      const n = Number(text);
      if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max))
        return { error: `expected a whole number from ${def.min} to ${def.max}` };
      return { value: n };
    }
    case "enum":
      if (!def.values!.includes(text.toLowerCase())) return { error: `expected one of: ${def.values!.join(", ")}` };
      return { value: text.toLowerCase() };
    case "url": {
      if (text === "") return { value: "" };
      let u: URL;
      try {
        u = new URL(text);
      } catch {
        return { error: "expected an http:// or https:// URL, e.g. https://host.example.org" };
      }
      if (u.protocol !== "http:" && u.protocol !== "https:") return { error: `expected an http:// or https:// URL, not ${u.protocol}//` };
      if (u.search || u.hash) return { error: "expected a base URL without ?query or #fragment" };
      return { value: text.replace(/\/+$/, "") };
    }
    case "mxid":
      if (text !== "" && !/^@[^:\s]+:[^\s]+$/.test(text)) return { error: "expected a full Matrix ID like @bot:example.org" };
      return { value: text };
    case "list": {
      const items = text
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      return { value: items };
    }
    case "listen": {
      if (text === "") return { value: "" };
      const l = parseListen(text);
      return "error" in l ? l : { value: text };
    }
    case "path":
    case "string":
      return { value: text };
  }
}

function defaults(): ConfigValues {
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of sectionNames()) {
    out[s] = {};
    for (const [k, d] of Object.entries(SCHEMA[s] as Record<string, KeyDef>)) out[s]![k] = structuredClone(d.default);
  }
  return out as unknown as ConfigValues;
}

function templateDefaults(project: string, template: string): TemplatePolicy {
  const out: Record<string, unknown> = { project, template };
  for (const [k, d] of Object.entries(TEMPLATE_SCHEMA as Record<string, KeyDef>)) out[k] = structuredClone(d.default);
  return out as TemplatePolicy;
}

function roomDefaults(room: string): RoomPolicy {
  const out: Record<string, unknown> = { room };
  for (const [k, d] of Object.entries(ROOM_SCHEMA as Record<string, KeyDef>)) out[k] = structuredClone(d.default);
  return out as RoomPolicy;
}

export function loadConfig(path: string | undefined, opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const values = defaults() as unknown as Record<string, Record<string, unknown>>;
  const sources: LoadedConfig["sources"] = {};
  const rooms: RoomPolicy[] = [];
  const templates: TemplatePolicy[] = [];
  const secrets: string[] = [];
  const baseDir = path ? dirname(resolve(path)) : process.cwd();
  for (const s of sectionNames()) for (const k of Object.keys(SCHEMA[s])) sources[`${s}.${k}`] = { source: "default" };

  let text = "";
  if (path) {
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      issues.push({
        severity: "error",
        file: path,
        message:
          code === "ENOENT"
            ? "config file not found: create it from chatrixcd.ini.example or pass --config PATH"
            : `cannot read config file (${code ?? String(e)})`,
      });
    }
  }

  const apply = (section: string, key: string, raw: string, where: { source: ValueSource; line?: number }) => {
    const def = keyDef(section, key)!;
    const r = coerce(def, raw);
    if ("error" in r) {
      issues.push({
        severity: "error",
        file: where.source === "file" ? path : undefined,
        line: where.line,
        section,
        key,
        value: def.secret ? maskSecret(raw) : raw,
        message: where.source === "env" ? `${r.error} (from environment variable ${envName(section, key)})` : r.error,
      });
      return;
    }
    values[section]![key] = r.value;
    sources[`${section}.${key}`] = where;
  };

  const fileRefs = new Map<string, { section: string; key: string; path: string; line?: number; source: "file" | "env" }>();
  /** A section's identity (rooms and templates as the permission code matches them) → the line it first appeared at. */
  const seen = new Map<string, number>();
  const unknownKey = (sec: RawSection, key: string, line: number, where: string, known: string[]) => {
    const hint = closest(key, known);
    const shown = KEY_LIKE.test(key) ? key : undefined;
    const what = shown ? "unknown key" : "unknown key (not shown: it may be a secret)";
    issues.push({
      severity: "error",
      file: path,
      line,
      section: sec.name,
      key: shown,
      message: `${what}${where}${shown && hint ? `; did you mean ${hint}?` : `; known keys: ${known.join(", ")}`}`,
    });
  };
  const cutValue = (sec: RawSection, key: string, e: RawEntry, def: KeyDef) => {
    if (!e.cut) return;
    // An unquoted room alias in a list (`allowed_rooms = #ops:example.org`) reads as a comment: the list would lose it,
    // and an emptied allow-list can mean a wider grant. Never a comment, always an error.
    const aliasInList = def.kind === "list" && e.cut.char === "#" && /^#[^\s:;#]+:\S/.test(e.cut.rest);
    const fatal = def.secret || (def.kind === "url" && e.cut.glued) || aliasInList;
    if (!fatal && !e.cut.glued) return;
    issues.push({
      severity: fatal ? "error" : "warning",
      file: path,
      line: e.line,
      section: sec.name,
      key,
      message:
        `the value was cut at ${JSON.stringify(e.cut.char)}, which starts a comment in INI files${def.secret ? ", so the secret read would be wrong" : ""}: ` +
        `if ${JSON.stringify(e.cut.char)} belongs to the value, quote the whole value (${key} = "…") or escape it as \\${e.cut.char}; if it starts a ` +
        `comment, put the comment on its own line`,
    });
  };
  /** Checks a `[room]` or `[template]` section's keys against its schema; returns the typed values to set. */
  const policyKeys = (sec: RawSection, schema: Record<string, KeyDef>, what: string, userKeys: ReadonlySet<string>, allowStar: boolean) => {
    const out = new Map<string, unknown>();
    for (const [key, e] of sec.entries) {
      const def = Object.hasOwn(schema, key) ? schema[key]! : undefined;
      if (!def) {
        unknownKey(sec, key, e.line, ` in a ${what} section`, Object.keys(schema));
        continue;
      }
      cutValue(sec, key, e, def);
      const r = coerce(def, e.value);
      if ("error" in r) {
        issues.push({ severity: "error", file: path, line: e.line, section: sec.name, key, value: e.value, message: r.error });
        continue;
      }
      // User lists take full Matrix IDs (or * where allowed): a bare name would silently never match anyone.
      const bad = userKeys.has(key) ? (r.value as string[]).filter((u) => !(allowStar && u === "*") && !/^@[^:\s]+:\S+$/.test(u)) : [];
      if (bad.length) {
        const list = `${bad.map((b) => JSON.stringify(b)).join(", ")} ${bad.length > 1 ? "are not full Matrix IDs" : "is not a full Matrix ID"}`;
        issues.push({
          severity: "error",
          file: path,
          line: e.line,
          section: sec.name,
          key,
          value: e.value,
          message: `${list} like @alice:example.org${allowStar ? " (or * for everyone)" : ""}`,
        });
        continue;
      }
      out.set(key, r.value);
    }
    return out;
  };
  /** False (and an error naming both lines) when a section with the same identity came before. */
  const firstOfItsName = (sec: RawSection, identity: string): boolean => {
    const first = seen.get(identity);
    if (first === undefined) {
      seen.set(identity, sec.line);
      return true;
    }
    issues.push({
      severity: "error",
      file: path,
      line: sec.line,
      section: sec.name,
      message: `section appears twice, at line ${first} and at line ${sec.line}: keep one and move the keys of the other into it`,
    });
    return false;
  };

  for (const sec of scan(text, path, issues)) {
    if (sec.name === "") {
      for (const [key, e] of sec.entries) {
        issues.push({
          severity: "error",
          file: path,
          line: e.line,
          key: KEY_LIKE.test(key) ? key : undefined,
          message: "key outside any section: put it under [matrix], [semaphore], [bot] or [console]",
        });
      }
      continue;
    }
    const roomMatch = ROOM_HEADER.exec(sec.name);
    if (roomMatch) {
      const room = roomMatch[1]!.trim();
      if (!ROOM_REF.test(room)) {
        issues.push({
          severity: "error",
          file: path,
          line: sec.line,
          section: sec.name,
          message: 'expected [room "<room id or alias>"], e.g. [room "!abcdefghijklmnop:example.org"] or [room "#ops:example.org"]',
        });
      }
      const first = firstOfItsName(sec, `room ${room}`);
      const keys = policyKeys(sec, ROOM_SCHEMA, "room", USER_LIST_KEYS, true);
      if (first) rooms.push(Object.assign(roomDefaults(room), Object.fromEntries(keys)));
      continue;
    }
    const templateMatch = TEMPLATE_HEADER.exec(sec.name);
    if (templateMatch) {
      const ref = templateMatch[1]!.trim();
      const slash = ref.indexOf("/");
      const project = slash > 0 ? ref.slice(0, slash).trim() : "";
      const template = slash > 0 ? ref.slice(slash + 1).trim() : "";
      if (!project || !template) {
        issues.push({
          severity: "error",
          file: path,
          line: sec.line,
          section: sec.name,
          message:
            'expected [template "<project>/<template>"] with a project and a template (id or name; the template may be *), e.g. [template ' +
            '"Infrastructure/Deploy production"]',
        });
        continue;
      }
      // Names match case-insensitively (src/core/approvals.ts), so "Infra/Deploy" and "infra/deploy" are one policy.
      const first = firstOfItsName(sec, `template ${project.toLowerCase()}/${template.toLowerCase()}`);
      const policy = Object.assign(
        templateDefaults(project, template),
        Object.fromEntries(policyKeys(sec, TEMPLATE_SCHEMA, "template", new Set(["approvers"]), false)),
      );
      if (policy.approvals_required > 0 && policy.approvers.length > 0 && policy.approvers.length < policy.approvals_required) {
        issues.push({
          severity: "error",
          file: path,
          line: sec.line,
          section: sec.name,
          key: "approvals_required",
          message:
            `${policy.approvals_required} approvals are required but only ${policy.approvers.length} ` +
            `approver${policy.approvers.length > 1 ? "s are" : " is"} listed, so no run could ever start: list more approvers or lower approvals_required`,
        });
      }
      if (first) templates.push(policy);
      continue;
    }
    if (!Object.hasOwn(SCHEMA, sec.name)) {
      // An error, not a warning: a misspelt [template] or [room] would silently drop an approval rule or a limit.
      // `[rooom "!x:y"]`: the hint compares the word before the quoted name.
      const hint = closest(/^(\S+)\s+".*"$/.exec(sec.name)?.[1] ?? sec.name, [...sectionNames(), "room", "template"]);
      const shown = hint === "room" ? 'room "<room id>"' : hint === "template" ? 'template "<project>/<template>"' : hint;
      issues.push({
        severity: "error",
        file: path,
        line: sec.line,
        section: sec.name,
        message: `unknown section${
          shown
            ? `; did you mean [${shown}]?`
            : `; known sections: ${sectionNames()
                .map((n) => `[${n}]`)
                .join(", ")}, [room "<room id>"], [template "<project>/<template>"]`
        }`,
      });
      continue;
    }
    firstOfItsName(sec, sec.name);
    const known = Object.entries(SCHEMA[sec.name as SectionName] as Record<string, KeyDef>).flatMap(([k, d]) => (d.fileVariant ? [k, `${k}_file`] : [k]));
    for (const [key, e] of sec.entries) {
      const base = key.endsWith("_file") ? key.slice(0, -5) : undefined;
      const baseDef = base ? keyDef(sec.name, base) : undefined;
      if (base && baseDef?.fileVariant) {
        cutValue(sec, key, e, { ...baseDef, kind: "path", secret: false });
        fileRefs.set(`${sec.name}.${base}`, { section: sec.name, key: base, path: e.value.trim(), line: e.line, source: "file" });
        continue;
      }
      const def = keyDef(sec.name, key);
      if (!def) {
        unknownKey(sec, key, e.line, "", known);
        continue;
      }
      cutValue(sec, key, e, def);
      apply(sec.name, key, e.value, { source: "file", line: e.line });
    }
  }

  // Environment overrides win over the file.
  for (const s of sectionNames()) {
    for (const [key, def] of Object.entries(SCHEMA[s] as Record<string, KeyDef>)) {
      const v = Object.hasOwn(env, envName(s, key)) ? env[envName(s, key)] : undefined;
      if (v !== undefined) apply(s, key, v, { source: "env" });
      const fileVar = envName(s, `${key}_file`);
      if (def.fileVariant && Object.hasOwn(env, fileVar) && env[fileVar] !== undefined)
        fileRefs.set(`${s}.${key}`, { section: s, key, path: env[fileVar]!, source: "env" });
    }
  }

  // `<secret>_file` keys: the file's content is the secret. An inline value and a file for the same secret conflict.
  for (const [id, ref] of fileRefs) {
    const { section, key } = ref;
    if (!ref.path) continue;
    if (values[section]![key]) {
      issues.push({
        severity: "error",
        file: ref.source === "file" ? path : undefined,
        line: ref.line,
        section,
        key: `${key}_file`,
        message: `both ${key} and ${key}_file are set: keep only one`,
      });
      continue;
    }
    const full = isAbsolute(ref.path) ? ref.path : resolve(baseDir, ref.path);
    try {
      const content = readFileSync(full, "utf8").replace(/\r?\n$/, "");
      if (!content) throw Object.assign(new Error("empty"), { code: "EMPTY" });
      values[section]![key] = content;
      sources[id] = { source: `secret file ${full}`, line: ref.line };
      try {
        if (statSync(full).mode & 0o077)
          issues.push({
            severity: "warning",
            file: ref.source === "file" ? path : undefined,
            line: ref.line,
            section,
            key: `${key}_file`,
            value: full,
            message: "secret file is readable by other users: chmod 600 it",
          });
      } catch {
        /* already read it; a stat failure changes nothing */
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      issues.push({
        severity: "error",
        file: ref.source === "file" ? path : undefined,
        line: ref.line,
        section,
        key: `${key}_file`,
        value: full,
        message: code === "ENOENT" ? "file not found" : code === "EMPTY" ? "file is empty" : `cannot read file (${code ?? String(e)})`,
      });
    }
  }

  // Relative paths are relative to the config file, so a unit file can run from any directory.
  for (const s of sectionNames()) {
    for (const [key, def] of Object.entries(SCHEMA[s] as Record<string, KeyDef>)) {
      const v = values[s]![key];
      if (def.kind === "path" && typeof v === "string" && v && !isAbsolute(v)) values[s]![key] = resolve(baseDir, v);
    }
  }

  // A CA file that cannot be read would only fail when the bot starts: say so now, with the line.
  const caFile = values.semaphore!.ca_file as string;
  if (caFile) {
    try {
      readFileSync(caFile);
    } catch (e) {
      const where = sources["semaphore.ca_file"];
      issues.push({
        severity: "error",
        file: where?.source === "file" ? path : undefined,
        line: where?.line,
        section: "semaphore",
        key: "ca_file",
        value: caFile,
        message: `cannot read the CA file (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`,
      });
    }
  }

  crossValidate(values as unknown as ConfigValues, sources, path, issues, opts);
  for (const s of sectionNames()) {
    for (const [key, def] of Object.entries(SCHEMA[s] as Record<string, KeyDef>)) {
      const v = values[s]![key];
      if (def.secret && typeof v === "string" && v) secrets.push(v);
    }
  }
  return { path, values: values as unknown as ConfigValues, rooms, templates, sources, issues, secrets, ok: !issues.some((i) => i.severity === "error") };
}

function crossValidate(v: ConfigValues, sources: LoadedConfig["sources"], file: string | undefined, issues: ConfigIssue[], opts: LoadOptions): void {
  const at = (section: string, key: string) => ({
    file: sources[`${section}.${key}`]?.source === "file" ? file : undefined,
    line: sources[`${section}.${key}`]?.line,
    section,
    key,
  });
  // A key whose value was already rejected is not reported again as missing.
  const bad = (section: string, key: string) => issues.some((i) => i.severity === "error" && i.section === section && i.key === key);
  const m = v.matrix;
  if (m.homeserver) {
    if (!m.user_id && !bad("matrix", "user_id"))
      issues.push({
        severity: "error",
        ...at("matrix", "user_id"),
        file,
        message: "required when [matrix] homeserver is set: the bot's Matrix ID, e.g. @chatrixcd:example.org",
      });
    if (!m.password && !m.access_token && !m.login_token && m.login_method !== "sso" && m.login_method !== "oauth_device")
      issues.push({
        severity: "error",
        ...at("matrix", "homeserver"),
        key: "password",
        message:
          "a credential is required: set password (or password_file), or access_token (or access_token_file) with device_id, or login_token, or " +
          "login_method = sso or oauth_device",
      });
    else if (m.login_method === "password" && !m.password)
      issues.push({
        severity: "error",
        ...at("matrix", "login_method"),
        value: m.login_method,
        message: "login_method = password needs password (or password_file)",
      });
    else if (m.login_method === "access_token" && !m.access_token)
      issues.push({
        severity: "error",
        ...at("matrix", "login_method"),
        value: m.login_method,
        message: "login_method = access_token needs access_token (or access_token_file)",
      });
    else if (m.login_method === "login_token" && !m.login_token)
      issues.push({
        severity: "warning",
        ...at("matrix", "login_method"),
        value: m.login_method,
        message: "login_method = login_token without login_token: works only while the saved session is valid",
      });
    if (m.access_token && !m.device_id)
      issues.push({
        severity: "warning",
        ...at("matrix", "access_token"),
        message: "access_token without device_id: the device will be looked up with whoami",
      });
    if (!v.bot.admin_users.length && !v.bot.allowed_users.length && !bad("bot", "admin_users") && !bad("bot", "allowed_users")) {
      issues.push({
        severity: "warning",
        ...at("bot", "admin_users"),
        message:
          "admin_users and allowed_users are both empty, so nobody can use the bot from Matrix (every invite and command is refused): add your Matrix ID " +
          "to admin_users",
      });
    }
  } else if ((m.user_id || m.password || m.access_token) && !bad("matrix", "homeserver")) {
    issues.push({
      severity: "error",
      ...at("matrix", "homeserver"),
      file,
      message: "Matrix credentials are set but homeserver is empty: set [matrix] homeserver (e.g. https://matrix.example.org)",
    });
  }
  if (!opts.demo) {
    if (!v.semaphore.url && !bad("semaphore", "url"))
      issues.push({
        severity: "error",
        ...at("semaphore", "url"),
        file,
        message: "required: the Semaphore URL, e.g. https://semaphore.example.org (or run with --demo for the embedded one)",
      });
    if (!v.semaphore.api_token)
      issues.push({ severity: "error", ...at("semaphore", "api_token"), file, message: "required: a Semaphore API token (api_token or api_token_file)" });
  }
  for (const key of ["admin_users", "allowed_users"] as const) {
    for (const u of v.bot[key]) {
      if (!/^@[^:\s]+:\S+$/.test(u))
        issues.push({ severity: "error", ...at("bot", key), value: u, message: `${JSON.stringify(u)} is not a full Matrix ID like @alice:example.org` });
    }
  }
  const listen = v.bot.http_listen ? parseListen(v.bot.http_listen) : undefined;
  if (listen && !("error" in listen) && !isLoopback(listen.host))
    issues.push({
      severity: "warning",
      ...at("bot", "http_listen"),
      value: v.bot.http_listen,
      message:
        "the health and metrics endpoint has no authentication and this address is reachable from other machines: prefer 127.0.0.1 or [::1], or guard " +
        "the port with a firewall or proxy",
    });
  if (/\s/.test(v.bot.command_prefix) || !v.bot.command_prefix)
    issues.push({
      severity: "error",
      ...at("bot", "command_prefix"),
      value: v.bot.command_prefix,
      message: "expected a non-empty prefix without spaces, e.g. !cd",
    });
}

/** One line per issue: where, what was wrong, what was expected. */
export function formatIssue(i: ConfigIssue): string {
  const where = [i.file ? `${i.file}${i.line ? `:${i.line}` : ""}` : i.line ? `line ${i.line}` : "", i.section ? `[${i.section}]` : "", i.key ?? ""]
    .filter(Boolean)
    .join(" ");
  const value = i.value !== undefined ? ` = ${JSON.stringify(i.value)}` : "";
  return `${i.severity}: ${where}${value}${where || value ? ": " : ""}${i.message}`;
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
