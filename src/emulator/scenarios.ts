// What each template "runs": scripted programs that print realistic output line by line with delays (in units of
// lineDelayMs), may pause for confirmation (Terraform plan → apply), and end with an exit code. The runner adds
// Semaphore's own preamble and failure lines around them.

import { createHash } from "node:crypto";
import * as A from "./ansi.js";
import type { ApiFlavor, EnvironmentRow, InventoryRow, ProjectRow, RepositoryRow, ScenarioRef, ScriptSpec, TaskRow, TemplateRow } from "./types.js";

export interface RunContext {
  task: TaskRow;
  template: TemplateRow;
  project: ProjectRow;
  inventory: InventoryRow | undefined;
  repository: RepositoryRow | undefined;
  environment: EnvironmentRow | undefined;
  /** Template environment JSON merged with the task's environment (template wins) and secret vars. */
  extraVars: Record<string, unknown>;
  /** The environment's `env` JSON: process environment variables. */
  envVars: Record<string, string>;
  /** bash/python/powershell: `key=value` for each extra var, then the CLI arguments. */
  argv: string[];
  /** Template `arguments` plus the task's when the template allows overriding. */
  cliArgs: string[];
  /** Inventory hosts after --limit. */
  hosts: string[];
  /** Inventory groups → hosts. */
  groups: Map<string, string[]>;
  limit: string[];
  debug: boolean;
  dryRun: boolean;
  diff: boolean;
  /** Terraform: plan only (modern params.plan). */
  planOnly: boolean;
  /** Terraform: skip the confirmation (modern params.auto_approve allowed by the template). */
  autoApprove: boolean;
  /** The template's repository was never checked out before (first run). */
  firstCheckout: boolean;
  flavor: ApiFlavor;
}

export interface RunIO {
  /** Wait `delayUnits` × lineDelayMs, then print one line. */
  print(line: string, delayUnits?: number): Promise<void>;
  printAll(lines: string[], delayUnits?: number): Promise<void>;
  sleep(units: number): Promise<void>;
  /** Enter waiting_confirmation and wait for confirm (or reject in the modern flavor). */
  confirm(): Promise<"confirmed" | "rejected">;
  setCommit(hash: string, message: string): void;
}

/** Exit code, or "rejected" (the plan was rejected: the task stays `rejected`, which is final, without a failure line). */
export type ScenarioResult = number | "rejected";
export type Scenario = (ctx: RunContext, io: RunIO) => Promise<ScenarioResult>;

// ---- inventory parsing -----------------------------------------------------------------------------------------------

/** Hosts and groups of a static (INI) or static-yaml inventory. */
export function parseInventory(inv: InventoryRow | undefined): { hosts: string[]; groups: Map<string, string[]> } {
  const groups = new Map<string, string[]>();
  const hosts: string[] = [];
  const addHost = (h: string, g: string | null): void => {
    if (!hosts.includes(h)) hosts.push(h);
    if (g) {
      const list = groups.get(g) ?? [];
      if (!list.includes(h)) list.push(h);
      groups.set(g, list);
    }
  };
  if (!inv) return { hosts, groups };
  if (inv.type === "static") {
    let group: string | null = null;
    let skip = false;
    for (const raw of inv.inventory.split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith("#") || line.startsWith(";")) continue;
      const m = /^\[([^\]]+)\]$/.exec(line);
      if (m) {
        group = m[1]!;
        skip = group.includes(":");
        continue;
      }
      if (skip) continue;
      addHost(line.split(/\s+/)[0]!, group);
    }
  } else if (inv.type === "static-yaml") {
    const lines = inv.inventory.split(/\r?\n/);
    let hostsIndent = -1;
    let group: string | null = null;
    for (const raw of lines) {
      if (!raw.trim() || raw.trim().startsWith("#")) continue;
      const indent = raw.length - raw.trimStart().length;
      const key = /^\s*([\w.-]+):/.exec(raw)?.[1];
      if (!key) continue;
      if (hostsIndent >= 0 && indent > hostsIndent) {
        if (indent === hostsIndent + 2 || hostsIndent + 2 > indent) addHost(key, group);
        continue;
      }
      hostsIndent = -1;
      if (key === "hosts") hostsIndent = indent;
      else if (key !== "children" && key !== "vars" && key !== "all") group = key;
    }
  }
  return { hosts, groups };
}

/** Apply an ansible --limit (comma/colon separated hosts, groups, globs, `all`, `!negation`). */
export function applyLimit(hosts: string[], groups: Map<string, string[]>, limit: string[]): string[] {
  if (limit.length === 0) return hosts;
  const glob = (p: string): RegExp =>
    new RegExp(
      "^" +
        p
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, ".*")
          .replace(/\?/g, ".") +
        "$",
    );
  const resolve = (p: string): string[] => {
    if (p === "all" || p === "*") return hosts;
    if (groups.has(p)) return groups.get(p)!;
    const re = glob(p);
    return hosts.filter((h) => re.test(h));
  };
  const include = new Set<string>();
  const exclude = new Set<string>();
  const pats = limit
    .flatMap((l) => l.split(/[,:]/))
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of pats) {
    if (p.startsWith("!")) resolve(p.slice(1)).forEach((h) => exclude.add(h));
    else resolve(p).forEach((h) => include.add(h));
  }
  if (include.size === 0 && pats.every((p) => p.startsWith("!"))) hosts.forEach((h) => include.add(h));
  return hosts.filter((h) => include.has(h) && !exclude.has(h));
}

function pick(hosts: string[], groups: Map<string, string[]>, group: string): string[] {
  const g = groups.get(group);
  if (!g) return hosts;
  return hosts.filter((h) => g.includes(h));
}

// ---- shared steps ----------------------------------------------------------------------------------------------------

function fakeSha(seed: string): string {
  return createHash("sha1").update(seed).digest("hex");
}

const COMMIT_MESSAGES = [
  "Merge pull request #412 from example-org/bump-nginx",
  "Bump app to 2.4.1",
  "Tune PostgreSQL work_mem for reporting queries",
  "Add web3 to the production inventory",
];

/** Repository checkout lines (git repositories only; an absolute path is a local directory, no clone). */
async function checkout(ctx: RunContext, io: RunIO): Promise<void> {
  const repo = ctx.repository;
  if (!repo || repo.git_url.startsWith("/")) return;
  if (ctx.firstCheckout) {
    await io.print(`Cloning Repository ${repo.git_url}`, 0.3);
    await io.print(`Cloning into 'repository_${repo.id}_template_${ctx.template.id}'...`, 2);
  } else {
    await io.print(`Updating Repository ${repo.git_url}`, 0.3);
    await io.print(`From ${repo.git_url.replace(/\.git$/, "")}`, 1.5);
    await io.print(
      `   1f2e3d4..${fakeSha(repo.git_url + ctx.task.id).slice(0, 7)}  ` +
        `${ctx.task.git_branch ?? repo.git_branch} -> origin/${ctx.task.git_branch ?? repo.git_branch}`,
      0.2,
    );
  }
  await io.print("Get current commit hash", 0.3);
  await io.print("Get current commit message", 0.2);
  const hash = fakeSha(`${repo.git_url}#${ctx.task.git_branch ?? repo.git_branch}`);
  io.setCommit(hash, COMMIT_MESSAGES[parseInt(hash.slice(0, 2), 16) % COMMIT_MESSAGES.length]!);
}

async function galaxy(io: RunIO): Promise<void> {
  await io.print("No collections/requirements.yml file found. Skip galaxy install process.", 0.3);
  await io.print("No roles/requirements.yml file found. Skip galaxy install process.", 0.2);
}

/** ansible-playbook with no host left after --limit. */
async function noHosts(ctx: RunContext, io: RunIO): Promise<ScenarioResult> {
  for (const p of ctx.limit.flatMap((l) => l.split(","))) {
    await io.print(A.warning(`Could not match supplied host pattern, ignoring: ${p}`), 0.5);
  }
  await io.print(A.ansibleError("Specified inventory, host pattern and/or --limit leaves us with no hosts to target."), 0.3);
  return 1;
}

interface AnsibleTaskStep {
  name: string;
  handler?: boolean;
  /** per host result */
  result: (host: string, i: number) => "ok" | "changed" | "skipping";
  units?: number;
  loop?: string[];
}

/** Run a list of ansible tasks over hosts, printing the default callback's output and counting stats. */
async function runPlay(
  io: RunIO,
  playName: string,
  hosts: string[],
  steps: AnsibleTaskStep[],
  stats: Map<string, A.HostStats>,
  opts: { gatherFacts?: boolean } = {},
): Promise<void> {
  for (const h of hosts) if (!stats.has(h)) stats.set(h, A.emptyStats());
  await io.printAll(A.play(playName), 0.2);
  const all: AnsibleTaskStep[] = opts.gatherFacts === false ? steps : [{ name: "Gathering Facts", result: () => "ok", units: 2 }, ...steps];
  for (const step of all) {
    await io.printAll(step.handler ? A.handler(step.name) : A.task(step.name), 0.3);
    for (const [i, h] of hosts.entries()) {
      const st = stats.get(h)!;
      const r = step.result(h, i);
      if (step.loop) {
        for (const item of step.loop) {
          const extra = ` => (item=${item})`;
          await io.print(r === "changed" ? A.changed(h, extra) : r === "ok" ? A.ok(h, extra) : A.skipping(h, extra), step.units ?? 1);
        }
      } else {
        await io.print(r === "changed" ? A.changed(h) : r === "ok" ? A.ok(h) : A.skipping(h), step.units ?? 1);
      }
      if (r === "ok") st.ok++;
      else if (r === "changed") {
        st.ok++;
        st.changed++;
      } else st.skipped++;
    }
  }
}

function str(v: unknown, dflt: string): string {
  return v === undefined || v === null ? dflt : typeof v === "string" ? v : JSON.stringify(v);
}

// ---- the demo scenarios ------------------------------------------------------------------------------------------

const deployWeb: Scenario = async (ctx, io) => {
  await checkout(ctx, io);
  await galaxy(io);
  const web = pick(ctx.hosts, ctx.groups, "web");
  if (web.length === 0) return noHosts(ctx, io);
  const version = str(ctx.extraVars["app_version"], "2.4.1");
  const stats = new Map<string, A.HostStats>();
  await runPlay(
    io,
    "Deploy web application",
    web,
    [
      { name: "nginx : Install nginx", result: () => "ok" },
      { name: `app : Deploy release ${version}`, result: () => "changed", units: 2 },
      { name: "app : Run database migrations", result: () => "skipping", units: 0.5 },
      { name: "app : restart app", handler: true, result: () => "changed", units: 1.5 },
      { name: "Check health endpoint", result: () => "ok" },
    ],
    stats,
  );
  if (ctx.diff) {
    await io.print("--- before: /etc/nginx/sites-available/app.conf", 0.2);
    await io.print("+++ after: /etc/nginx/sites-available/app.conf", 0.1);
    await io.print("@@ -12,7 +12,7 @@", 0.1);
    await io.print(`-    root /srv/app/releases/2.4.0/public;`, 0.1);
    await io.print(`+    root /srv/app/releases/${version}/public;`, 0.1);
  }
  await io.printAll(A.recap(stats), 0.3);
  return 0;
};

const runMigrations: Scenario = async (ctx, io) => {
  await checkout(ctx, io);
  await galaxy(io);
  const db = pick(ctx.hosts, ctx.groups, "db");
  if (db.length === 0) return noHosts(ctx, io);
  const stats = new Map<string, A.HostStats>();
  await runPlay(
    io,
    "Migrate database schema",
    db,
    [
      { name: "db : Check pending migrations", result: () => "ok" },
      { name: "db : Take pre-migration snapshot", result: () => "changed", units: 3 },
    ],
    stats,
  );
  await io.printAll(A.task("db : Apply migrations"), 0.3);
  for (const h of db) {
    await io.print(
      A.fatal(h, {
        changed: true,
        cmd: ["/opt/app/bin/migrate", "up", "--env", str(ctx.extraVars["deploy_env"], "production")],
        delta: "0:00:02.413207",
        end: "2026-11-26 16:46:03.587413",
        msg: "non-zero return code",
        rc: 1,
        start: "2026-11-26 16:46:01.174206",
        stderr: "ERROR 1071 (42000) at migration 20261126_add_orders_index: Specified key was too long; max key length is 3072 bytes",
        stderr_lines: ["ERROR 1071 (42000) at migration 20261126_add_orders_index: Specified key was too long; max key length is 3072 bytes"],
        stdout: "Applying 20261126_add_orders_index...",
        stdout_lines: ["Applying 20261126_add_orders_index..."],
      }),
      3,
    );
    stats.get(h)!.failed++;
  }
  await io.printAll(A.banner("NO MORE HOSTS LEFT"), 0.2);
  await io.printAll(A.recap(stats), 0.3);
  return 2;
};

const BACKUP_TABLES = [
  "accounts",
  "addresses",
  "audit_log",
  "carts",
  "cart_items",
  "categories",
  "coupons",
  "customers",
  "invoices",
  "invoice_lines",
  "inventory_levels",
  "orders",
  "order_items",
  "payments",
  "products",
  "product_images",
  "refunds",
  "reviews",
  "sessions",
  "shipments",
  "suppliers",
  "tax_rates",
  "users",
  "warehouses",
];

const fullBackup: Scenario = async (ctx, io) => {
  await checkout(ctx, io);
  await galaxy(io);
  const db = pick(ctx.hosts, ctx.groups, "db");
  const web = pick(ctx.hosts, ctx.groups, "web");
  if (db.length + web.length === 0) return noHosts(ctx, io);
  const stats = new Map<string, A.HostStats>();
  const every = 10; // a line every ~3 s with the default lineDelayMs
  if (db.length > 0) {
    await runPlay(
      io,
      "Back up databases",
      db,
      [
        { name: "backup : Create snapshot directory", result: () => "changed" },
        { name: "backup : Dump tables", result: () => "changed", loop: BACKUP_TABLES.map((t) => `app_production.${t}`), units: every },
        { name: "backup : Compress dumps", result: () => "changed", units: every * 2 },
      ],
      stats,
    );
  }
  if (web.length > 0) {
    await runPlay(
      io,
      "Back up uploaded files",
      web,
      [{ name: "backup : Sync uploads to object storage", result: () => "changed", loop: ["avatars", "invoices", "product-images", "exports"], units: every }],
      stats,
    );
  }
  await runPlay(
    io,
    "Verify backup",
    db.length > 0 ? db : web,
    [
      { name: "backup : Upload snapshot to s3://example-backups/nightly/", result: () => "changed", units: every * 3 },
      { name: "backup : Verify checksums", result: () => "ok", units: every },
      { name: "backup : Prune snapshots older than 14 days", result: () => "changed", units: every },
    ],
    stats,
    { gatherFacts: false },
  );
  await io.printAll(A.recap(stats), 0.3);
  return 0;
};

async function terraformFlow(ctx: RunContext, io: RunIO, add: string[], change: string[]): Promise<ScenarioResult> {
  await checkout(ctx, io);
  const workspace = ctx.inventory?.inventory || "default";
  await io.print("", 0.5);
  await io.print(A.tf.bold("Initializing the backend..."), 1);
  await io.print("", 0.1);
  await io.print(A.tf.bold("Initializing provider plugins..."), 1);
  await io.print("- Reusing previous version of hashicorp/aws from the dependency lock file", 1);
  await io.print("- Using previously-installed hashicorp/aws v5.31.0", 1);
  await io.print("", 0.1);
  await io.print(A.tf.boldGreen("Terraform has been successfully initialized!"), 0.5);
  await io.print(`Switched to workspace "${workspace}".`, 1);
  await io.print("aws_vpc.main: Refreshing state... [id=vpc-0a1b2c3d4e5f60718]", 1);
  await io.print("aws_security_group.web: Refreshing state... [id=sg-0b1c2d3e4f5a6b7c8]", 0.5);
  await io.print("aws_instance.web[0]: Refreshing state... [id=i-0f1e2d3c4b5a69788]", 0.5);
  await io.print("aws_instance.web[1]: Refreshing state... [id=i-07a8b9c0d1e2f3a4b]", 0.5);
  await io.print("", 0.5);
  await io.print("Terraform used the selected providers to generate the following execution plan. Resource actions are", 0.2);
  await io.print("indicated with the following symbols:", 0.1);
  await io.print(`  ${A.tf.green("+")} create`, 0.1);
  await io.print(`  ${A.tf.yellow("~")} update in-place`, 0.1);
  await io.print("", 0.1);
  await io.print("Terraform will perform the following actions:", 0.1);
  for (const r of add) {
    await io.print("", 0.1);
    await io.print(A.tf.bold(`  # ${r}`) + " will be created", 0.2);
    await io.print(`  ${A.tf.green("+")} resource "aws_instance" "web" {`, 0.1);
    await io.print(`      ${A.tf.green("+")} ami                          = "ami-0c55b159cbfafe1f0"`, 0.1);
    await io.print(`      ${A.tf.green("+")} instance_type                = "t3.medium"`, 0.1);
    await io.print(`      ${A.tf.green("+")} tags                         = {`, 0.1);
    await io.print(`          ${A.tf.green("+")} "Name" = "web-3"`, 0.1);
    await io.print("        }", 0.1);
    await io.print("    }", 0.1);
  }
  for (const r of change) {
    await io.print("", 0.1);
    await io.print(A.tf.bold(`  # ${r}`) + " will be updated in-place", 0.2);
    await io.print(`  ${A.tf.yellow("~")} resource "aws_security_group" "web" {`, 0.1);
    await io.print(`        id                     = "sg-0b1c2d3e4f5a6b7c8"`, 0.1);
    await io.print(`      ${A.tf.yellow("~")} ingress                = [`, 0.1);
    await io.print(`          ${A.tf.green("+")} { cidr_blocks = ["10.20.0.0/16"], from_port = 443, protocol = "tcp", to_port = 443 },`, 0.1);
    await io.print("        ]", 0.1);
    await io.print("    }", 0.1);
  }
  await io.print("", 0.1);
  await io.print(`${A.tf.bold("Plan:")} ${add.length} to add, ${change.length} to change, 0 to destroy.`, 0.3);
  if (ctx.planOnly) return 0;
  if (!ctx.autoApprove) {
    const answer = await io.confirm();
    if (answer === "rejected") {
      await io.print("", 0.2);
      await io.print("Apply cancelled.", 0.2);
      return "rejected";
    }
  }
  await io.print("", 0.5);
  for (const r of change) {
    await io.print(A.tf.bold(`${r}: Modifying... [id=sg-0b1c2d3e4f5a6b7c8]`), 1);
    await io.print(A.tf.bold(`${r}: Modifications complete after 1s [id=sg-0b1c2d3e4f5a6b7c8]`), 3);
  }
  for (const r of add) {
    await io.print(A.tf.bold(`${r}: Creating...`), 1);
    await io.print(A.tf.bold(`${r}: Still creating... [10s elapsed]`), 10);
    await io.print(A.tf.bold(`${r}: Creation complete after 13s [id=i-03c4d5e6f7a8b9c0d]`), 4);
  }
  await io.print("", 0.2);
  await io.print(A.tf.boldGreen(`Apply complete! Resources: ${add.length} added, ${change.length} changed, 0 destroyed.`), 0.3);
  return 0;
}

const terraformApply: Scenario = (ctx, io) => terraformFlow(ctx, io, ["aws_instance.web[2]"], ["aws_security_group.web"]);
const terraformGeneric: Scenario = (ctx, io) => terraformFlow(ctx, io, ["aws_instance.web[2]"], []);

const rotateCerts: Scenario = async (ctx, io) => {
  await checkout(ctx, io);
  await galaxy(io);
  const targets = pick(ctx.hosts, ctx.groups, "web");
  if (targets.length === 0) return noHosts(ctx, io);
  const stats = new Map<string, A.HostStats>();
  const domain = ctx.extraVars["cert_domain"];
  const days = str(ctx.extraVars["validity_days"], "90");
  const ca = str(ctx.extraVars["ca"], "letsencrypt");
  await runPlay(io, "Rotate TLS certificates", targets, [], stats);
  await io.printAll(A.task("certs : Validate input"), 0.3);
  if (typeof domain !== "string" || domain === "") {
    for (const h of targets) {
      await io.print(
        A.fatal(h, {
          msg:
            "The task includes an option with an undefined variable. The error was: 'cert_domain' is undefined. " +
            "'cert_domain' is undefined\n\nThe error appears to be in " +
            "'/tmp/semaphore/repository_1_template_5/roles/certs/tasks/main.yml': line 2, column 3, but may\nbe elsewhere " +
            "in the file depending on the exact syntax problem.",
        }),
        1,
      );
      stats.get(h)!.failed++;
    }
    await io.printAll(A.banner("NO MORE HOSTS LEFT"), 0.2);
    await io.printAll(A.recap(stats), 0.3);
    return 2;
  }
  for (const h of targets) {
    await io.print(A.ok(h, ` => {"changed": false, "msg": "cert_domain=${domain} validity_days=${days} ca=${ca}"}`), 0.5);
    stats.get(h)!.ok++;
  }
  const steps: AnsibleTaskStep[] = [
    {
      name: `certs : Request certificate for ${domain} from ${ca === "internal" ? "internal CA" : "Let's Encrypt"}`,
      result: (_h, i) => (i === 0 ? "changed" : "ok"),
      units: 3,
    },
    { name: "certs : Install certificate and key", result: () => "changed" },
    { name: "nginx : reload nginx", handler: true, result: () => "changed" },
  ];
  await runPlay(io, `Install certificate (${days} days)`, targets, steps, stats, { gatherFacts: false });
  await io.printAll(A.recap(stats), 0.3);
  return 0;
};

const bashReindex: Scenario = async (ctx, io) => {
  await checkout(ctx, io);
  await io.print(`+ ./${ctx.template.playbook} ${ctx.argv.join(" ")}`.trimEnd(), 0.5);
  await io.print(`Arguments: ${ctx.argv.length ? ctx.argv.join(" ") : "(none)"}`, 0.3);
  const target = ctx.envVars["SEARCH_URL"] ?? "http://search.internal:9200";
  await io.print(`Reindexing ${target}/products ...`, 1);
  for (const [i, n] of [1200, 4800, 9600, 12_431].entries()) {
    await io.print(`  indexed ${n} documents (${Math.round(((i + 1) / 4) * 100)}%)`, 2);
  }
  await io.print("Swapping alias products -> products_v42", 1);
  await io.print("Done in 8.4s", 0.5);
  return 0;
};

const bashPrune: Scenario = async (ctx, io) => {
  await checkout(ctx, io);
  await io.print("Deleted Images:", 1.5);
  for (const [i, img] of ["registry.internal/app:2.3.9", "registry.internal/app:2.4.0-rc1", "registry.internal/worker:1.8.2"].entries()) {
    await io.print(`untagged: ${img}`, 0.5);
    await io.print(
      `deleted: sha256:${createHash("sha256")
        .update(img + i)
        .digest("hex")}`,
      0.3,
    );
  }
  await io.print("", 0.2);
  await io.print("Total reclaimed space: 1.84GB", 0.3);
  return 0;
};

const ansibleGeneric: Scenario = async (ctx, io) => {
  await checkout(ctx, io);
  await galaxy(io);
  if (ctx.hosts.length === 0) return noHosts(ctx, io);
  const stats = new Map<string, A.HostStats>();
  const name = ctx.template.playbook.replace(/^.*\//, "").replace(/\.ya?ml$/, "") || ctx.template.name;
  await runPlay(io, name, ctx.hosts, [{ name: `${name} : Apply configuration`, result: () => "changed" }], stats);
  await io.printAll(A.recap(stats), 0.3);
  return 0;
};

const shellGeneric: Scenario = async (ctx, io) => {
  await checkout(ctx, io);
  await io.print(`Running ${ctx.template.playbook}${ctx.argv.length ? " " + ctx.argv.join(" ") : ""}`, 0.5);
  await io.print("Done", 1);
  return 0;
};

function scriptScenario(spec: ScriptSpec): Scenario {
  return async (_ctx, io) => {
    const units = spec.delayUnits ?? 1;
    for (const [i, line] of spec.lines.entries()) {
      if (spec.confirmAfter !== undefined && i === spec.confirmAfter) {
        const a = await io.confirm();
        if (a === "rejected") return "rejected";
      }
      await io.print(line, units);
    }
    if (spec.confirmAfter !== undefined && spec.confirmAfter >= spec.lines.length) {
      const a = await io.confirm();
      if (a === "rejected") return "rejected";
    }
    return spec.exitCode ?? 0;
  };
}

const BUILTIN: Record<string, Scenario> = {
  "deploy-web": deployWeb,
  "run-migrations": runMigrations,
  "full-backup": fullBackup,
  "terraform-apply": terraformApply,
  "rotate-certs": rotateCerts,
  "bash-reindex": bashReindex,
  "bash-prune": bashPrune,
  "ansible-generic": ansibleGeneric,
  "terraform-generic": terraformGeneric,
  "shell-generic": shellGeneric,
};

export function scenarioFor(ref: ScenarioRef): Scenario {
  if (typeof ref === "string") {
    const s = BUILTIN[ref];
    if (!s) throw new Error(`unknown scenario ${ref}`);
    return s;
  }
  return scriptScenario(ref);
}

export function defaultScenario(app: TemplateRow["app"]): ScenarioRef {
  if (app === "ansible") return "ansible-generic";
  if (app === "terraform" || app === "tofu" || app === "pulumi") return "terraform-generic";
  return "shell-generic";
}
