// `npm run bench`: every figure beside its baseline measured in the same run, as a markdown table (and JSON with
// --json). Each part runs in its own process so one part's memory and timers do not disturb another's.
//   node dist/test/bench/run.js [--quick] [--json] [--only F1,F2,...]
//   node dist/test/bench/run.js --soak [--minutes 30] [--interval S] [--tasks N] [--messages N] [--drain 120] [--json]
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FIGURE_PREFIX, type Figure } from "./figures.js";

const args = process.argv.slice(2);

// `--soak [--minutes N] …`: the long-running soak (test/bench/soak.ts) instead of the figures; it prints its own
// tables (or JSON with --json).
if (args.includes("--soak")) {
  const soak = fileURLToPath(new URL("./soak.js", import.meta.url));
  const p = spawn(process.execPath, [soak, ...args.filter((a) => a !== "--soak")], { stdio: "inherit" });
  // Ctrl-C reaches the soak too (same process group); wait for it to clean up rather than dying first.
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.on(sig, () => {
      if (sig === "SIGTERM") p.kill("SIGTERM");
    });
  const code = await new Promise<number>((r) => p.on("exit", (c, sig) => r(c ?? (sig ? 1 : 0))));
  process.exit(code);
}
const json = args.includes("--json");
const quick = args.includes("--quick");
const onlyArg = args.find((a) => a.startsWith("--only="))?.slice(7) ?? (args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined);
const only = onlyArg ? new Set(onlyArg.split(",").map((s) => s.trim().toUpperCase())) : undefined;

const PARTS: Array<{ file: string; figures: string[]; what: string }> = [
  { file: "semaphore-bench.js", figures: ["F2", "F3", "F4"], what: "Semaphore tracking (our server, three instances per step)" },
  { file: "matrix-bench.js", figures: ["F1", "F5", "F7", "F10"], what: "Matrix bot against a bare js-sdk bot (private Synapse), cards" },
  { file: "console-bench.js", figures: ["F6"], what: "console render, key latency, idle CPU" },
  { file: "scale-bench.js", figures: ["F9"], what: "scale: 500 tasks, 200 rooms, 10 commands/s beside a bare js-sdk bot (private Synapse)" },
];

function runPart(file: string): Promise<Figure[]> {
  const path = fileURLToPath(new URL(`./${file}`, import.meta.url));
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path, ...(quick ? ["--quick"] : [])], { stdio: ["ignore", "pipe", "inherit"] });
    const figures: Figure[] = [];
    let buf = "";
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith(FIGURE_PREFIX)) figures.push(JSON.parse(line.slice(FIGURE_PREFIX.length)) as Figure);
        else if (!json) process.stderr.write(`  ${line}\n`);
      }
    });
    p.on("exit", (code) => {
      if (code !== 0) figures.push({ id: "ERR", name: file, ours: `exited with ${code}`, baseline: "-" });
      resolve(figures);
    });
  });
}

const all: Figure[] = [];
for (const part of PARTS) {
  if (only && !part.figures.some((f) => only.has(f))) continue;
  process.stderr.write(`bench: ${part.what}…\n`);
  all.push(...(await runPart(part.file)).filter((f) => !only || only.has(f.id) || f.id === "ERR"));
}
if (!only || only.has("F8"))
  all.push({
    id: "F8",
    name: "30-minute soak (RSS growth, answers, loop delay)",
    ours: "not part of this run: npm run bench -- --soak",
    baseline: "bare js-sdk bot in the soak's own run",
  });
all.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));

if (json) {
  process.stdout.write(
    JSON.stringify(
      all.map(({ raw: _raw, ...f }) => f),
      null,
      2,
    ) + "\n",
  );
} else {
  const esc = (s = "") => s.replace(/\|/g, "\\|");
  const rows = all.map(
    (f) => `| ${f.id} | ${esc(f.name)} | ${esc(f.ours)} | ${esc(f.baseline)} | ${esc(f.goal ?? "")}${f.met === undefined ? "" : f.met ? " ✅" : " ❌"} |`,
  );
  process.stdout.write(
    [
      "",
      `Benchmarks (${quick ? "quick" : "full"} run, ${new Date().toISOString()}, node ${process.version}, ${(await import("node:os")).cpus().length} cores)`,
      "",
      "| # | figure | ours | baseline (same run) | goal |",
      "|---|---|---|---|---|",
      ...rows,
      "",
    ].join("\n") + "\n",
  );
}
process.exit(all.some((f) => f.id === "ERR") ? 1 : 0);
