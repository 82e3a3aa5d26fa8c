// Malformed configuration files, generated: a valid file with one line made wrong, for every key that can be wrong
// (bad types, ranges, URLs, Matrix IDs, lists, listen addresses, secret files, room and template policy sections).
// Each must be refused with an error naming the file, the line and the key, and nothing may start: `chatrixcd
// --headless` exits 2 without creating the state directory or the log file, and without a single connection to the
// homeserver or Semaphore (both point at a tripwire listener that counts connections).
// (test/config.test.ts holds 31 hand-written cases with exact messages; these are the systematic sweep.)
import test from "ava";
import net from "node:net";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, formatIssue } from "../src/config/load.js";
import { runCli } from "../src/cli/main.js";

const dir = mkdtempSync(join(tmpdir(), "chatrixcd-badini-"));

interface Mutation {
  name: string;
  section: string;
  /** The line that is added to the section (the wrong one). */
  line: string;
  /** The key the error must name (default: the line's key). */
  key?: string;
  /** Part of a secret that must appear in no message. */
  hidden?: string;
}

const emptyFile = join(dir, "empty-secret");
writeFileSync(emptyFile, "", { mode: 0o600 });

const MUTATIONS: Mutation[] = [
  { name: "homeserver without scheme", section: "matrix", line: "homeserver = matrix.example.org" },
  { name: "homeserver ftp", section: "matrix", line: "homeserver = ftp://matrix.example.org" },
  { name: "homeserver with query", section: "matrix", line: "homeserver = https://matrix.example.org/?x=1" },
  { name: "user_id without @", section: "matrix", line: "user_id = bot:example.org" },
  { name: "user_id without server", section: "matrix", line: "user_id = @bot" },
  { name: "max_command_age with unit", section: "matrix", line: "max_command_age = 5m" },
  { name: "max_command_age too small", section: "matrix", line: "max_command_age = 4" },
  { name: "max_command_age negative", section: "matrix", line: "max_command_age = -5" },
  { name: "password_file missing", section: "matrix", line: "password_file = /nonexistent/chatrixcd/pw" },
  { name: "access_token_file empty", section: "matrix", line: `access_token_file = ${emptyFile}` },
  { name: "semaphore url bare word", section: "semaphore", line: "url = semaphore" },
  { name: "semaphore url without host", section: "semaphore", line: "url = http://" },
  { name: "semaphore url mailto", section: "semaphore", line: "url = mailto:ops@example.org" },
  { name: "tls_verify maybe", section: "semaphore", line: "tls_verify = maybe" },
  { name: "max_concurrent_requests zero", section: "semaphore", line: "max_concurrent_requests = 0" },
  { name: "max_concurrent_requests too many", section: "semaphore", line: "max_concurrent_requests = 65" },
  { name: "max_concurrent_requests word", section: "semaphore", line: "max_concurrent_requests = four" },
  { name: "poll_interval fraction", section: "semaphore", line: "poll_interval = 1.5" },
  { name: "timeout too long", section: "semaphore", line: "timeout = 601" },
  { name: "timeout empty", section: "semaphore", line: "timeout =" },
  { name: "web_url without scheme", section: "semaphore", line: "web_url = semaphore.example.org" },
  { name: "ca_file missing", section: "semaphore", line: "ca_file = /nonexistent/chatrixcd/ca.pem" },
  { name: "api_token_file missing", section: "semaphore", line: "api_token_file = /nonexistent/chatrixcd/token", key: "api_token_file" },
  { name: "admin_users with a bare name", section: "bot", line: "admin_users = @alice:example.org, bob" },
  { name: "allowed_users with a bare name", section: "bot", line: "allowed_users = carol" },
  { name: "default_room_access write", section: "bot", line: "default_room_access = write" },
  { name: "log_level verbose", section: "bot", line: "log_level = verbose" },
  { name: "confirm_timeout too short", section: "bot", line: "confirm_timeout = 9" },
  { name: "confirm_timeout too long", section: "bot", line: "confirm_timeout = 3601" },
  { name: "show_host_info perhaps", section: "bot", line: "show_host_info = perhaps" },
  { name: "task_output_threads 2", section: "bot", line: "task_output_threads = 2" },
  { name: "command_prefix with space", section: "bot", line: "command_prefix = hey bot" },
  { name: "http_listen without port", section: "bot", line: "http_listen = localhost" },
  { name: "http_listen port out of range", section: "bot", line: "http_listen = 127.0.0.1:99999" },
  { name: "console mouse click", section: "console", line: "mouse = click" },
  { name: "console theme solarized", section: "console", line: "theme = solarized" },
  { name: "console read_only ro", section: "console", line: "read_only = ro" },
  { name: "room run list with a bare name", section: 'room "!ops:example.org"', line: "run = @alice:example.org, bob" },
  { name: "room approve list without @", section: 'room "!ops:example.org"', line: "approve = carol:example.org" },
  { name: "template approvals_required word", section: 'template "Infrastructure/Deploy"', line: "approvals_required = many" },
  { name: "template approvals_required too many", section: 'template "Infrastructure/Deploy"', line: "approvals_required = 11" },
  { name: "template approvers bare name", section: 'template "Infrastructure/Deploy"', line: "approvers = lead" },
  { name: "template approval_expiry too short", section: 'template "Infrastructure/Deploy"', line: "approval_expiry = 59" },
  // issue 12: keys that name Object.prototype members, misspelt policy keys, values cut at an unquoted ; or #.
  { name: "matrix key constructor", section: "matrix", line: "constructor = 1" },
  { name: "semaphore key toString", section: "semaphore", line: "toString = x" },
  { name: "bot key hasOwnProperty", section: "bot", line: "hasOwnProperty = yes" },
  { name: "console key valueOf", section: "console", line: "valueOf = 3" },
  { name: "room key __proto__", section: 'room "!ops:example.org"', line: "__proto__ = *" },
  { name: "template key constructor", section: 'template "Infrastructure/Deploy"', line: "constructor = 2" },
  { name: "room key project (typo of projects)", section: 'room "!ops:example.org"', line: "project = Infrastructure" },
  { name: "template key approver (typo of approvers)", section: 'template "Infrastructure/Deploy"', line: "approver = @lead:example.org" },
  { name: "bot key admin_user (typo of admin_users)", section: "bot", line: "admin_user = @eve:example.org" },
  { name: "api_token cut at ;", section: "semaphore", line: "api_token = abcdefghijkl;mnopqrstuvwxyz", hidden: "mnopqrstuvwxyz" },
  { name: "password cut at #", section: "matrix", line: "password = correct-horse#stapler-secret", hidden: "stapler-secret" },
  { name: "web_url cut at ;", section: "semaphore", line: "web_url = https://semaphore.example.org;8443" },
];

/** A tripwire: the URLs point here; any connection means something started. */
async function tripwire(): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let n = 0;
  const srv = net.createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, connections: () => n, close: () => new Promise((r) => srv.close(() => r())) };
}

function build(m: Mutation, url: string, stateDir: string): { text: string; line: number } {
  const sections: Array<[string, string[]]> = [
    ["matrix", [`homeserver = ${url}`, "user_id = @bot:example.org", "password = correct-horse-battery"]],
    ["semaphore", [`url = ${url}`, "api_token = abcdefghijklmnopqrstuvwxyz0123456789abcdefg="]],
    ["bot", [`state_dir = ${stateDir}`, `log_file = ${join(stateDir, "bot.log")}`, "admin_users = @alice:example.org", `http_listen =`]],
    ["console", ["theme = dark"]],
  ];
  const key = m.line.split("=")[0]!.trim();
  let target = sections.find(([s]) => s === m.section);
  if (!target) {
    target = [m.section, []];
    sections.push(target);
  }
  // The mutated key replaces the valid one (so a "missing value" is not reported instead).
  target[1] = target[1].filter((l) => l.split("=")[0]!.trim() !== key && !(key.endsWith("_file") && l.split("=")[0]!.trim() === key.slice(0, -5)));
  target[1].push(m.line);
  const out: string[] = ["; generated by fuzz-config.test.ts"];
  let line = 0;
  for (const [s, lines] of sections) {
    out.push("", `[${s}]`);
    for (const l of lines) {
      out.push(l);
      if (l === m.line && s === m.section) line = out.length;
    }
  }
  return { text: out.join("\n") + "\n", line };
}

test(`${MUTATIONS.length} malformed INI files: each error names the file, line and key; check-config exits 2`, (t) => {
  t.true(MUTATIONS.length >= 30);
  const failures: string[] = [];
  for (const [i, m] of MUTATIONS.entries()) {
    const stateDir = join(dir, `state-${i}`);
    const { text, line } = build(m, "http://127.0.0.1:9", stateDir);
    const path = join(dir, `bad-${i}.ini`);
    writeFileSync(path, text, { mode: 0o600 });
    const cfg = loadConfig(path, { env: {} });
    const key = m.key ?? m.line.split("=")[0]!.trim();
    const hit = cfg.issues.find((x) => x.severity === "error" && x.key === key && x.line === line && x.file === path);
    if (cfg.ok) failures.push(`${m.name}: accepted (${cfg.issues.map(formatIssue).join(" | ") || "no issue at all"})`);
    else if (!hit) failures.push(`${m.name}: no error naming ${key} at line ${line}; got: ${cfg.issues.map(formatIssue).join(" | ")}`);
    else if (!formatIssue(hit).includes(`${path}:${line}`) || !formatIssue(hit).includes(key))
      failures.push(`${m.name}: the message does not say where: ${formatIssue(hit)}`);
    if (m.hidden && cfg.issues.some((x) => formatIssue(x).includes(m.hidden!))) failures.push(`${m.name}: a message shows the secret`);
  }
  t.deepEqual(failures, []);
});

test("nothing starts on a malformed file: exit 2, no state directory, no log file, no connection to Matrix or Semaphore", async (t) => {
  const wire = await tripwire();
  try {
    const failures: string[] = [];
    for (const [i, m] of MUTATIONS.entries()) {
      if (/homeserver|semaphore url/.test(m.name)) continue; // those replace the tripwire URL itself
      const stateDir = join(dir, `run-state-${i}`);
      const { text, line } = build(m, wire.url, stateDir);
      const path = join(dir, `run-${i}.ini`);
      writeFileSync(path, text, { mode: 0o600 });
      // An accepted file would start the bot for real (and never return): the first test reports those.
      if (loadConfig(path, { env: {} }).ok) {
        failures.push(`${m.name}: accepted`);
        continue;
      }
      const out: string[] = [];
      const code = await runCli(["--headless", "--config", path], {}, { out: (s) => out.push(s), err: (s) => out.push(s) });
      const said = out.join("");
      const key = m.key ?? m.line.split("=")[0]!.trim();
      if (code !== 2) failures.push(`${m.name}: exit ${code}`);
      if (!said.includes(`${path}:${line}`) || !said.includes(key))
        failures.push(`${m.name}: output does not name ${key} at line ${line}: ${said.slice(0, 300)}`);
      if (!/not starting/.test(said)) failures.push(`${m.name}: no "not starting": ${said.slice(0, 200)}`);
      if (existsSync(stateDir)) failures.push(`${m.name}: the state directory was created`);
      if (said.includes("correct-horse-battery") || (m.hidden && said.includes(m.hidden))) failures.push(`${m.name}: a secret is in the output`);
    }
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(failures, []);
    t.is(wire.connections(), 0, "something connected to the homeserver or Semaphore");
  } finally {
    await wire.close();
  }
});
