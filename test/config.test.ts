import test from "ava";
import { mkdtempSync, writeFileSync, readFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, formatIssue, maskSecret } from "../src/config/load.js";
import { exampleConfig } from "../src/config/example.js";
import { SCHEMA, envName } from "../src/config/schema.js";
import { runCli } from "../src/cli/main.js";

const dir = mkdtempSync(join(tmpdir(), "chatrixcd-config-"));
let n = 0;
function file(text: string): string {
  const p = join(dir, `c${n++}.ini`);
  writeFileSync(p, text);
  return p;
}

const VALID = `[matrix]
homeserver = https://matrix.example.org
user_id = @bot:example.org
password = hunter2hunter2

[semaphore]
url = https://semaphore.example.org/
api_token = abcdefghijklmnopqrstuvwxyz0123456789abcdefg=

[bot]
admin_users = @alice:example.org, @bob:example.org
command_prefix = !ci
`;

test("a valid file loads with typed values and their sources", (t) => {
  const cfg = loadConfig(file(VALID), { env: {} });
  t.true(cfg.ok, cfg.issues.map(formatIssue).join("\n"));
  t.is(cfg.values.semaphore.url, "https://semaphore.example.org", "trailing slash stripped");
  t.deepEqual(cfg.values.bot.admin_users, ["@alice:example.org", "@bob:example.org"]);
  t.is(cfg.values.bot.command_prefix, "!ci");
  t.is(cfg.values.semaphore.max_concurrent_requests, 4);
  t.is(cfg.sources["bot.command_prefix"]!.source, "file");
  t.is(cfg.sources["bot.command_prefix"]!.line, 12);
  t.is(cfg.sources["semaphore.timeout"]!.source, "default");
  t.true(cfg.secrets.includes("hunter2hunter2"));
});

test("environment variables override the file and are reported as the source", (t) => {
  const cfg = loadConfig(file(VALID), { env: { CHATRIXCD_BOT_COMMAND_PREFIX: "!env", CHATRIXCD_SEMAPHORE_MAX_CONCURRENT_REQUESTS: "9" } });
  t.true(cfg.ok);
  t.is(cfg.values.bot.command_prefix, "!env");
  t.is(cfg.values.semaphore.max_concurrent_requests, 9);
  t.is(cfg.sources["semaphore.max_concurrent_requests"]!.source, "env");
});

test("a bad environment value names the variable", (t) => {
  const cfg = loadConfig(file(VALID), { env: { CHATRIXCD_SEMAPHORE_TLS_VERIFY: "maybe" } });
  t.false(cfg.ok);
  t.regex(formatIssue(cfg.issues[0]!), /CHATRIXCD_SEMAPHORE_TLS_VERIFY/);
});

test("secrets can come from *_file, and a world-readable secret file is warned about", (t) => {
  const secretPath = join(dir, "pw");
  writeFileSync(secretPath, "from-a-file-secret\n");
  chmodSync(secretPath, 0o644);
  const cfg = loadConfig(file(VALID.replace("password = hunter2hunter2", `password_file = ${secretPath}`)), { env: {} });
  t.true(cfg.ok, cfg.issues.map(formatIssue).join("\n"));
  t.is(cfg.values.matrix.password, "from-a-file-secret");
  t.regex(cfg.sources["matrix.password"]!.source, /^secret file /);
  t.true(cfg.issues.some((i) => i.severity === "warning" && /chmod 600/.test(i.message)));
  t.true(cfg.secrets.includes("from-a-file-secret"));
});

// Each malformed file must produce an error (or warning) naming the line and key, and must not be ok when it is an error.
const BROKEN: Array<{ name: string; text: string; line?: number; key?: string; match: RegExp; severity?: "error" | "warning" }> = [
  {
    name: "non-integer",
    text: VALID + "[semaphore]\nmax_concurrent_requests = lots\n",
    line: 14,
    key: "max_concurrent_requests",
    match: /whole number from 1 to 64/,
  },
  { name: "integer out of range", text: VALID + "[semaphore]\nmax_concurrent_requests = 0\n", line: 14, key: "max_concurrent_requests", match: /from 1 to 64/ },
  { name: "negative timeout", text: VALID + "[semaphore]\ntimeout = -3\n", line: 14, key: "timeout", match: /whole number/ },
  { name: "bad boolean", text: VALID + "[semaphore]\ntls_verify = perhaps\n", line: 14, key: "tls_verify", match: /true or false/ },
  { name: "bad enum", text: VALID.replace("command_prefix = !ci", "log_level = loud"), line: 12, key: "log_level", match: /one of: debug, info, warn, error/ },
  {
    name: "url without scheme",
    text: VALID.replace("https://semaphore.example.org/", "semaphore.example.org"),
    line: 7,
    key: "url",
    match: /http:\/\/ or https:\/\/ URL/,
  },
  { name: "ftp url", text: VALID.replace("https://semaphore.example.org/", "ftp://semaphore.example.org"), line: 7, key: "url", match: /not ftp:/ },
  {
    name: "url with query",
    text: VALID.replace("https://matrix.example.org", "https://matrix.example.org/?x=1"),
    line: 2,
    key: "homeserver",
    match: /without \?query/,
  },
  { name: "bad user id", text: VALID.replace("@bot:example.org", "bot"), line: 3, key: "user_id", match: /full Matrix ID/ },
  { name: "bad admin in list", text: VALID.replace("@bob:example.org", "bob"), key: "admin_users", match: /"bob" is not a full Matrix ID/ },
  { name: "missing semaphore url", text: VALID.replace("url = https://semaphore.example.org/\n", ""), key: "url", match: /required: the Semaphore URL/ },
  { name: "missing semaphore token", text: VALID.replace(/api_token = .*\n/, ""), key: "api_token", match: /required: a Semaphore API token/ },
  { name: "matrix without credential", text: VALID.replace("password = hunter2hunter2\n", ""), key: "password", match: /credential is required/ },
  { name: "matrix without user id", text: VALID.replace("user_id = @bot:example.org\n", ""), key: "user_id", match: /required when \[matrix\] homeserver/ },
  {
    name: "credentials without homeserver",
    text: VALID.replace("homeserver = https://matrix.example.org\n", ""),
    key: "homeserver",
    match: /homeserver is empty/,
  },
  {
    name: "missing secret file",
    text: VALID.replace("password = hunter2hunter2", "password_file = /nonexistent/pw"),
    line: 4,
    key: "password_file",
    match: /file not found/,
  },
  {
    name: "secret and secret file",
    text: VALID.replace("password = hunter2hunter2", `password = x1234\npassword_file = ${join(dir, "pw")}`),
    line: 5,
    key: "password_file",
    match: /keep only one/,
  },
  { name: "malformed section header", text: VALID + "[semaphore\n", line: 13, match: /malformed section header/ },
  { name: "line without equals", text: VALID + "just some words\n", line: 13, match: /expected key = value/ },
  { name: "key outside section", text: "stray = 1\n" + VALID, line: 1, key: "stray", match: /outside any section/ },
  {
    name: "prefix with space",
    text: VALID.replace("command_prefix = !ci", "command_prefix = hey bot"),
    line: 12,
    key: "command_prefix",
    match: /without spaces/,
  },
  { name: "empty prefix", text: VALID.replace("command_prefix = !ci", "command_prefix ="), line: 12, key: "command_prefix", match: /non-empty prefix/ },
  {
    name: "unknown key with hint",
    text: VALID.replace("command_prefix = !ci", "comand_prefix = !ci"),
    line: 12,
    key: "comand_prefix",
    match: /did you mean command_prefix/,
  },
  { name: "unknown section with hint", text: VALID + "[semaphor]\nurl = x\n", line: 13, match: /did you mean \[semaphore\]/ },
  {
    name: "duplicate key",
    text: VALID.replace("command_prefix = !ci", "command_prefix = !ci\ncommand_prefix = !cd"),
    line: 13,
    key: "command_prefix",
    match: /set twice, at line 12 and at line 13/,
  },
  {
    name: "room section bad list value type",
    text: VALID + '[room "!abc:example.org"]\nrun = @alice:example.org\nrnu = x\n',
    line: 15,
    key: "rnu",
    match: /did you mean run/,
  },
  { name: "poll interval zero", text: VALID + "[semaphore]\npoll_interval = 0\n", line: 14, key: "poll_interval", match: /from 1 to 3600/ },
  {
    name: "max_command_age text",
    text: VALID.replace("password = hunter2hunter2", "password = hunter2hunter2\nmax_command_age = five minutes"),
    line: 5,
    key: "max_command_age",
    match: /whole number/,
  },
  { name: "theme typo", text: VALID + "[console]\ntheme = drak\n", line: 14, key: "theme", match: /one of: dark, light, mono/ },
  { name: "mouse bad bool", text: VALID + "[console]\nmouse = sometimes\n", line: 14, key: "mouse", match: /true or false/ },
  { name: "missing file", text: "", match: /config file not found/ },
];

for (const b of BROKEN) {
  test(`malformed config: ${b.name}`, (t) => {
    const path = b.name === "missing file" ? join(dir, "does-not-exist.ini") : file(b.text);
    const cfg = loadConfig(path, { env: {} });
    const hit = cfg.issues.find((i) => b.match.test(i.message));
    t.truthy(hit, `expected an issue matching ${b.match}; got:\n${cfg.issues.map(formatIssue).join("\n")}`);
    t.is(hit!.severity, b.severity ?? "error");
    if (b.line) t.is(hit!.line, b.line, formatIssue(hit!));
    if (b.key) t.is(hit!.key, b.key);
    if ((b.severity ?? "error") === "error") t.false(cfg.ok);
    const line = formatIssue(hit!);
    t.true(line.includes(path) || b.line === undefined, `issue line should name the file: ${line}`);
  });
}

test("secret values are masked in error messages", (t) => {
  const cfg = loadConfig(file(VALID), { env: { CHATRIXCD_SEMAPHORE_API_TOKEN: "" } });
  t.false(cfg.ok);
  const text = cfg.issues.map(formatIssue).join("\n");
  t.false(text.includes("hunter2hunter2"));
  t.is(maskSecret("supersecretvalue"), "su****ue (16 chars)");
});

test("relative paths resolve against the config file's directory", (t) => {
  const cfg = loadConfig(file(VALID.replace("[bot]\n", "[bot]\nstate_dir = state\n")), { env: {} });
  t.true(cfg.ok, cfg.issues.map(formatIssue).join("\n"));
  t.is(cfg.values.bot.state_dir, join(dir, "state"));
});

test("demo mode needs no Semaphore settings", (t) => {
  const cfg = loadConfig(undefined, { demo: true, env: {} });
  t.true(cfg.ok, cfg.issues.map(formatIssue).join("\n"));
  t.is(cfg.values.matrix.homeserver, "");
});

test("chatrixcd.ini.example is exactly what the schema generates and documents every key", (t) => {
  const onDisk = readFileSync(new URL("../../chatrixcd.ini.example", import.meta.url), "utf8");
  t.is(onDisk, exampleConfig(), "regenerate with: node dist/screens/main.js example-config > chatrixcd.ini.example");
  for (const [section, keys] of Object.entries(SCHEMA)) {
    for (const key of Object.keys(keys)) {
      t.regex(onDisk, new RegExp(`^;${key} =`, "m"), `${section}.${key} missing`);
      t.true(onDisk.includes(envName(section, key)));
    }
  }
});

test("the example with values filled in passes check-config; a broken file exits 2 naming key and line", async (t) => {
  const filled = exampleConfig()
    .replace(";homeserver = https://matrix.example.org", "homeserver = https://matrix.example.org")
    .replace(";user_id = @chatrixcd:example.org", "user_id = @chatrixcd:example.org")
    .replace(";password =\n", "password = correct-horse\n")
    .replace(";url = https://semaphore.example.org", "url = https://semaphore.example.org")
    .replace(";api_token =\n", "api_token = sometoken1234\n");
  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
  t.is(await runCli(["check-config", "--config", file(filled)], {}, io), 0, out.join(""));
  out.length = 0;
  const broken = file(filled.replace("url = https://semaphore.example.org", "url = semaphore"));
  t.is(await runCli(["check-config", "--config", broken], {}, io), 2);
  const text = out.join("");
  t.regex(text, new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+ \\[semaphore\\] url = "semaphore": expected an http`));
  t.regex(text, /1 error/);
});

test("CLI: --version matches package.json, --help and usage errors", async (t) => {
  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  t.is(await runCli(["--version"], {}, io), 0);
  t.is(out.join("").split("\n")[0], pkg.version, "the first line is the bare version, for scripts");
  out.length = 0;
  t.is(await runCli(["--help"], {}, io), 0);
  t.regex(out.join(""), /check-config/);
  out.length = 0;
  t.is(await runCli(["--bogus"], {}, io), 2);
  t.regex(out.join(""), /Unknown option '--bogus'/);
  out.length = 0;
  t.is(await runCli(["--log-level", "loud"], {}, io), 2);
  t.regex(out.join(""), /--log-level must be one of/);
  out.length = 0;
  t.is(await runCli(["--headless", "--config", join(dir, "nope.ini")], {}, io), 2);
  t.regex(out.join(""), /config file not found/);
});

test("CLI: --version names the config file, state dir, log file and audit file after the version (issue 14 item 10)", async (t) => {
  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
  const config = file(`${VALID}state_dir = ./state-here\nlog_file = ./logs/bot.log\n`);
  t.is(await runCli(["--version", "--config", config], {}, io), 0);
  const lines = out.join("").trimEnd().split("\n");
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  t.is(lines[0], pkg.version);
  t.deepEqual(lines.slice(1), [
    `Config file:  ${config}`,
    `State dir:    ${join(dir, "state-here")}`,
    `Log file:     ${join(dir, "logs/bot.log")}`,
    `Audit file:   ${join(dir, "state-here", "audit.jsonl")}`,
  ]);
});

// ---- issue 12: an unclear config does not start ----

/** check-config on `text`: exit code and everything it printed. */
async function checkConfig(text: string): Promise<{ code: number; out: string; path: string }> {
  const path = file(text);
  const out: string[] = [];
  const code = await runCli(["check-config", "--config", path], {}, { out: (s) => out.push(s), err: (s) => out.push(s) });
  return { code, out: out.join(""), path };
}

const PROTO_KEYS = ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__", "isPrototypeOf", "__defineGetter__"];
const PROTO_SECTIONS = ["matrix", "semaphore", "bot", "console", 'room "!ops:example.org"', 'template "Infrastructure/Deploy"'];

test("issue 12.7: keys named like Object.prototype members are unknown-key errors with file, line and key, not a crash", async (t) => {
  for (const section of PROTO_SECTIONS) {
    for (const key of PROTO_KEYS) {
      const text = `${VALID}\n[${section}]\n${key} = 1\n`;
      const line = text.split("\n").length - 1;
      const { code, out, path } = await checkConfig(text);
      t.is(code, 2, `[${section}] ${key}: ${out}`);
      t.true(out.includes(`${path}:${line} [${section}] ${key}: unknown key`), `[${section}] ${key}: ${out}`);
      t.false(/TypeError|at loadConfig/.test(out), out);
    }
  }
});

test("issue 12.7: sections named like Object.prototype members are unknown-section errors, not a crash", async (t) => {
  for (const section of PROTO_KEYS) {
    for (const key of ["name", "length", "toString", "x"]) {
      const text = `${VALID}\n[${section}]\n${key} = 1\n`;
      const { code, out, path } = await checkConfig(text);
      t.is(code, 2, `[${section}] ${key}: ${out}`);
      t.true(out.includes(`${path}:${text.split("\n").length - 2} [${section}]: unknown section`), `[${section}] ${key}: ${out}`);
    }
  }
});

test("issue 12.8: a key set twice is an error naming both lines", async (t) => {
  const { code, out, path } = await checkConfig(VALID.replace("command_prefix = !ci", "command_prefix = !ci\ncommand_prefix = !cd"));
  t.is(code, 2, out);
  t.true(out.includes(`error: ${path}:13 [bot] command_prefix: set twice, at line 12 and at line 13`), out);
  const room = await checkConfig(`${VALID}\n[room "!ops:example.org"]\nrun = @alice:example.org\nread = *\nrun = *\n`);
  t.is(room.code, 2, room.out);
  t.true(room.out.includes(`${room.path}:17 [room "!ops:example.org"] run: set twice, at line 15 and at line 17`), room.out);
});

test("issue 12.8: the same section twice is an error naming both lines, also when only whitespace or case differs", async (t) => {
  const cases: Array<[string, string]> = [
    ['[room "!r:example.org"]', '[room  "!r:example.org"]'],
    ['[room "!r:example.org"]', '[room "!r:example.org" ]'],
    ['[room "!r:example.org"]', '[ room\t"!r:example.org"]'],
    ['[room "!r:example.org"]', '[room " !r:example.org "]'],
    ['[template "Infrastructure/Deploy"]', '[template "infrastructure / deploy"]'],
    ['[template "Infrastructure/*"]', '[template "Infrastructure/*"]'],
    ["[console]", "[console]"],
    ["[console]", "[ console ]"],
  ];
  for (const [first, second] of cases) {
    const key = first.startsWith("[room") ? "read = *" : first.startsWith("[template") ? "approvals_required = 1" : "theme = dark";
    const other = first.startsWith("[room") ? "run = *" : first.startsWith("[template") ? "approval_expiry = 600" : "mouse = false";
    const text = `${VALID}\n${first}\n${key}\n\n${second}\n${other}\n`;
    const { code, out, path } = await checkConfig(text);
    t.is(code, 2, `${first} / ${second}: ${out}`);
    t.regex(out, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:17 .*appears twice, at line 14 and at line 17`), `${first} / ${second}: ${out}`);
  }
  // The loader keeps one policy per room: the later section does not silently vanish or shadow the first.
  const cfg = loadConfig(file(`${VALID}\n[room "!r:example.org"]\nrun = @alice:example.org\n[room  "!r:example.org"]\nrun = *\n`), { env: {} });
  t.false(cfg.ok);
  t.is(cfg.rooms.filter((r) => r.room === "!r:example.org").length, 1);
});

test("issue 12.9: an unknown key in a room, template or fixed section is an error with a did-you-mean hint", async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['room "!r:example.org"', "project = Infra", /\[room "!r:example.org"\] project: unknown key in a room section; did you mean projects\?/],
    ['room "!r:example.org"', "templtes = Deploy", /templtes: unknown key in a room section; did you mean templates\?/],
    ['template "Infrastructure/Deploy"', "approver = @lead:example.org", /approver: unknown key in a template section; did you mean approvers\?/],
    ["bot", "admin_user = @eve:example.org", /\[bot\] admin_user: unknown key; did you mean admin_users\?/],
    ["bot", "defualt_room_access = read", /defualt_room_access: unknown key; did you mean default_room_access\?/],
    ["console", "readonly = true", /\[console\] readonly: unknown key; did you mean read_only\?/],
  ];
  for (const [section, line, re] of cases) {
    const { code, out } = await checkConfig(`${VALID}\n[${section}]\n${line}\n`);
    t.is(code, 2, `${line}: ${out}`);
    t.regex(out, new RegExp(`^error: .*${re.source}`, "m"), out);
  }
  // A room whose only restriction is misspelt must not load with every project.
  const cfg = loadConfig(file(`${VALID}\n[room "!r:example.org"]\nproject = Infra\n`), { env: {} });
  t.false(cfg.ok);
});

test("issue 12.9: an unknown or misspelt section is an error (a misspelt [template] would drop its approval rule)", async (t) => {
  const { code, out } = await checkConfig(`${VALID}\n[tempalte "Infrastructure/Deploy"]\napprovals_required = 2\n`);
  t.is(code, 2, out);
  t.regex(out, /^error: .*unknown section; did you mean \[template "<project>\/<template>"\]\?/m);
});

test("issue 12.10: a secret cut at an unquoted ; or # is an error that says to quote it and never shows the secret", async (t) => {
  for (const [key, value] of [
    ["api_token", "abcdefgh;ijklmnop"],
    ["api_token", "abcdefgh#ijklmnop"],
    ["password", "hunter2;hunter2"],
    ["password", "pass word ;tail"],
  ] as const) {
    const text =
      key === "api_token" ? VALID.replace(/api_token = .*/, `api_token = ${value}`) : VALID.replace("password = hunter2hunter2", `password = ${value}`);
    const { code, out } = await checkConfig(text);
    t.is(code, 2, `${key} = ${value}: ${out}`);
    t.regex(out, new RegExp(`^error: .* ${key}: .*quote the whole value`, "m"), out);
    t.false(out.includes(value.slice(0, 6)) || out.includes(value.slice(-6)), `the secret is shown: ${out}`);
  }
  const quoted = loadConfig(file(VALID.replace(/api_token = .*/, 'api_token = "abcdefgh;ijklmnop"')), { env: {} });
  t.true(quoted.ok, quoted.issues.map(formatIssue).join("\n"));
  t.is(quoted.values.semaphore.api_token, "abcdefgh;ijklmnop");
  const escaped = loadConfig(file(VALID.replace(/api_token = .*/, "api_token = abcdefgh\\;ijklmnop")), { env: {} });
  t.true(escaped.ok, escaped.issues.map(formatIssue).join("\n"));
  t.is(escaped.values.semaphore.api_token, "abcdefgh;ijklmnop");
});

test("issue 12.10: a URL cut at an unquoted ; or # is an error; a comment after a space is fine", async (t) => {
  const cut = await checkConfig(VALID.replace("https://semaphore.example.org/", "https://semaphore.example.org;8443"));
  t.is(cut.code, 2, cut.out);
  t.regex(cut.out, /^error: .*:7 \[semaphore\] url: .*cut at ";".*quote the whole value/m);
  const comment = loadConfig(file(VALID.replace("https://semaphore.example.org/", "https://semaphore.example.org/   ; production")), { env: {} });
  t.true(comment.ok, comment.issues.map(formatIssue).join("\n"));
  t.is(comment.values.semaphore.url, "https://semaphore.example.org");
});

test("issue 12.10: an unquoted room alias in a list is an error, not a comment that empties the allow-list", async (t) => {
  // `allowed_rooms = #ops:x` would read as an empty list, which means every room.
  const bare = await checkConfig(`${VALID}allowed_rooms = #ops:example.org\n`);
  t.is(bare.code, 2, bare.out);
  t.regex(bare.out, /^error: .*:13 \[bot\] allowed_rooms: .*cut at "#".*quote the whole value/m);
  const later = await checkConfig(`${VALID}allowed_rooms = !abc:example.org, #ops:example.org\n`);
  t.is(later.code, 2, later.out);
  const quoted = loadConfig(file(`${VALID}allowed_rooms = "!abc:example.org, #ops:example.org"\n`), { env: {} });
  t.true(quoted.ok, quoted.issues.map(formatIssue).join("\n"));
  t.deepEqual(quoted.values.bot.allowed_rooms, ["!abc:example.org", "#ops:example.org"]);
  // A comment that is not an alias stays a comment.
  const comment = loadConfig(file(`${VALID}allowed_rooms = !abc:example.org  # the ops room\n`), { env: {} });
  t.true(comment.ok, comment.issues.map(formatIssue).join("\n"));
});

test("issue 12.10: a line that cannot be read is never echoed: only a known key name is shown", async (t) => {
  const secretLine = await checkConfig(VALID.replace(/api_token = .*/, "api_token SuperSecretValue123"));
  t.is(secretLine.code, 2);
  t.regex(secretLine.out, /^error: .*:8 \[semaphore\] api_token: cannot read this line: expected key = value/m);
  t.false(secretLine.out.includes("SuperSecret"), secretLine.out);
  const bare = await checkConfig(`${VALID}\nSuperSecretValue123 and more\n`);
  t.is(bare.code, 2);
  t.regex(bare.out, /^error: .*:14 \[bot\]: cannot read this line: expected key = value/m);
  t.false(bare.out.includes("SuperSecret"), bare.out);
  // A pasted base64 token ends in "=", so it parses as a key: the unknown-key error must not show it either.
  const token = await checkConfig(`${VALID}\nSuperSecretValue123SuperSecretValue123abcd=\n`);
  t.is(token.code, 2);
  t.false(token.out.includes("SuperSecret"), token.out);
  t.regex(token.out, /^error: .*:14 \[bot\]: unknown key/m);
});

test("issue 12.2: check-config warns when nobody can use the bot from Matrix", async (t) => {
  const nobody = await checkConfig(VALID.replace("admin_users = @alice:example.org, @bob:example.org\n", ""));
  t.is(nobody.code, 0, nobody.out);
  t.regex(nobody.out, /^warning: .*\[bot\] admin_users: admin_users and allowed_users are both empty, so nobody can use the bot from Matrix/m);
  t.regex(nobody.out, /valid \(1 warning\)/);
  const someone = await checkConfig(VALID);
  t.false(/nobody can use/.test(someone.out), someone.out);
  const consoleOnly = await checkConfig(VALID.replace(/\[matrix\][^[]*/, "").replace("admin_users = @alice:example.org, @bob:example.org\n", ""));
  t.false(/nobody can use/.test(consoleOnly.out), consoleOnly.out);
});

test("issue 12.8: a room section must name a room id or alias (a name that never matches a room is not silently kept)", async (t) => {
  for (const bad of ['[room "ops"]', '[room ""]', '[room "  "]', '[room "#ops"]']) {
    const { code, out } = await checkConfig(`${VALID}\n${bad}\nrun = *\n`);
    t.is(code, 2, `${bad}: ${out}`);
    t.regex(out, /:14 \[room .*expected \[room "<room id or alias>"\]/, out);
  }
  const ok = loadConfig(file(`${VALID}\n[room "!Xq3pLw9aZ0bC1dE2fG3hI4jK5lM6nO7pQ8rS9tU0vW"]\nrun = *\n[room "#ops:example.org"]\nrun = *\n`), { env: {} });
  t.true(ok.ok, ok.issues.map(formatIssue).join("\n"));
  t.deepEqual(
    ok.rooms.map((r) => r.room),
    ["!Xq3pLw9aZ0bC1dE2fG3hI4jK5lM6nO7pQ8rS9tU0vW", "#ops:example.org"],
  );
});
