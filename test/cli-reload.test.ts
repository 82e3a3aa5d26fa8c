// A headless bot re-reads its config on SIGHUP (systemctl reload): what can change at once does, and a key that
// needs a restart is named in the log.
import test from "ava";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

test("SIGHUP reloads the config: a restart-only key is reported, a broken file changes nothing and is reported", async (t) => {
  t.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), "chatrixcd-hup-"));
  const cfg = join(dir, "chatrixcd.ini");
  const write = (extra: string) => writeFileSync(cfg, `[bot]\nstate_dir = ${dir}\nlog_level = info\n${extra}`);
  write("");
  const child = spawn(process.execPath, [join(root, "dist/screens/main.js"), "--headless", "--demo", "--config", cfg], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const until = async (re: RegExp, what: string) => {
    const end = Date.now() + 20_000;
    while (!re.test(out)) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no ${what}; output:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await until(/running headless/, "start");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("log_level = info", "log_level = debug") + "http_listen = 127.0.0.1:0\n");
    child.kill("SIGHUP");
    await until(/config reloaded from/, "reload");
    t.regex(out, /\[bot\] http_listen changed; it takes effect after a restart/);
    t.regex(out, /after a restart: \[bot\] http_listen/);
    const mark = out.length;
    write("bogus_key = 1\nconfirm_timeout = soon\n");
    child.kill("SIGHUP");
    await until(/config reload refused, keeping the running config/, "refusal");
    t.regex(out.slice(mark), /confirm_timeout/);
    t.is(child.exitCode, null, "still running");
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
  t.is(child.exitCode, 0);
});
