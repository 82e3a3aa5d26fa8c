// Issue 14 item 10: `chatrixcd --version` and `:info` at the console name the same paths (config file, state dir,
// log file, audit file), from one function.
import test from "ava";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.js";
import { pathFactsFor, pathLines } from "../src/cli/paths.js";
import { harness, fakeApp, KEY } from "./console-helpers.js";

test("--version with no config file: the demo's state is a temp dir, and nothing names a file that is not there", (t) => {
  const cfg = loadConfig(undefined, { demo: true, env: {} });
  const lines = pathLines(pathFactsFor(cfg, true));
  t.regex(lines[0]!, /^Config file: +none /);
  t.regex(lines[1]!, /^State dir: +a temp dir made at start, removed at exit/);
  t.regex(lines[2]!, /^Log file: +none /);
  t.regex(lines[3]!, /^Audit file: +audit\.jsonl in that temp dir$/);
});

test("--version with a config file that cannot be used says so and how to see why", (t) => {
  const cfg = loadConfig("/nonexistent/chatrixcd.ini", { env: {} });
  const [config, state] = pathLines(pathFactsFor(cfg, false));
  t.regex(
    config!,
    /^Config file: +\/nonexistent\/chatrixcd\.ini \(not usable: \d+ errors?; see chatrixcd check-config --config \/nonexistent\/chatrixcd\.ini\)$/,
  );
  t.is(state, `State dir:    ${join("/nonexistent", ".chatrixcd-state")}`);
});

test.serial(":info at the console shows the lines --version prints, the audit file included", async (t) => {
  const app = fakeApp({ audit: true, env: { CHATRIXCD_BOT_LOG_FILE: "/var/log/chatrixcd.log" } });
  const h = await harness({ app });
  try {
    await h.keys(":", ..."info", KEY.enter);
    await h.until(/Audit file:/);
    const shown = h.rows().map((r) => r.replace(/[│┃║|]/g, " ").trim());
    const expected = pathLines({ stateDir: app.stateDir, logFile: "/var/log/chatrixcd.log", auditFile: join(app.stateDir, "audit.jsonl") });
    for (const line of expected) t.true(shown.includes(line), `shown: ${line}`);
  } finally {
    h.destroy();
  }
});
