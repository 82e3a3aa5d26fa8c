// Issue 13 item 13: a saved chatrixcd.ini is applied without SIGHUP or R, through the same reload: a newly allowed
// user is let in, an invalid file changes nothing and the log says why, and an editor's atomic save (write a temp
// file, rename it over the config) is picked up too. Waits are on the reload's log line, never on a fixed sleep.
import test from "ava";
import { mkdtempSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "../src/app.js";
import { loadConfig } from "../src/config/load.js";
import { Logger, type LogEntry } from "../src/log/logger.js";

const ROOM = "!ops:example.org";
const ini = (dir: string, users: string) =>
  `[bot]\nstate_dir = ${dir}\nadmin_users = @admin:example.org\nallowed_users = ${users}\n\n[room "${ROOM}"]\nrun = *\n`;

/** The next reload's log line (applied or refused), with everything logged since the call. */
function nextReload(logger: Logger): Promise<{ line: LogEntry; since: LogEntry[] }> {
  const since: LogEntry[] = [];
  return new Promise((resolve) => {
    const on = (e: LogEntry) => {
      since.push(e);
      if (!/^config reload(ed from| refused)/.test(e.message)) return;
      logger.off("entry", on);
      resolve({ line: e, since });
    };
    logger.on("entry", on);
  });
}

test("a saved config file is applied without SIGHUP; an invalid one changes nothing and says why; a rename-save is picked up", async (t) => {
  t.timeout(30_000, "no reload after the config file was saved");
  const dir = mkdtempSync(join(tmpdir(), "chatrixcd-hot-"));
  const cfg = join(dir, "chatrixcd.ini");
  writeFileSync(cfg, ini(dir, "@alice:example.org"));
  const load = () => loadConfig(cfg, { env: {}, demo: true });
  const logger = new Logger({ level: "info" });
  const app = new App(load(), logger, { reload: load });
  const may = (user: string) => app.ops.authorize({ kind: "chat", userId: user, roomId: ROOM }, "run").allowed;
  try {
    await app.start();
    t.true(may("@alice:example.org"));
    t.false(may("@bob:example.org"));

    let reload = nextReload(logger);
    writeFileSync(cfg, ini(dir, "@alice:example.org, @bob:example.org"));
    t.regex((await reload).line.message, /^config reloaded from/);
    t.true(may("@bob:example.org"), "the newly allowed user is let in without SIGHUP");

    reload = nextReload(logger);
    writeFileSync(cfg, ini(dir, "@alice:example.org, @bob:example.org") + "confirm_timeout = soon\n");
    const refused = await reload;
    t.is(refused.line.level, "error");
    t.regex(refused.line.message, /config reload refused, keeping the running config: .*confirm_timeout/);
    t.true(may("@bob:example.org"), "an invalid file changes nothing");

    // An editor's atomic save: the new content is written to a temporary file, then renamed over the config.
    reload = nextReload(logger);
    const tmp = join(dir, ".chatrixcd.ini.swp");
    writeFileSync(tmp, ini(dir, "@alice:example.org"));
    renameSync(tmp, cfg);
    t.regex((await reload).line.message, /^config reloaded from/);
    t.false(may("@bob:example.org"), "removed by the renamed-in file");
    t.true(may("@alice:example.org"));
  } finally {
    await app.stop();
    await logger.close();
  }
});
