// Loaded into a real `chatrixcd --headless` process with `node --import` by security-secrets.test.ts. Once the bot has
// logged in (session.json exists), it throws an uncaught exception from a timer whose message and properties carry
// the process's real secrets, the way an HTTP library's error can carry the request it failed on (URL, headers,
// body). Whatever the process prints when it dies must not show them.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const cfgPath = process.argv[process.argv.indexOf("--config") + 1]!;
const ini = readFileSync(cfgPath, "utf8");
const value = (key: string) => new RegExp(`^${key}\\s*=\\s*(.*)$`, "m").exec(ini)?.[1]?.trim() ?? "";
const stateDir = value("state_dir");
const session = join(stateDir, "matrix", "session.json");

const timer = setInterval(() => {
  if (!existsSync(session)) return;
  clearInterval(timer);
  setTimeout(
    () => {
      const accessToken = (JSON.parse(readFileSync(session, "utf8")) as { accessToken: string }).accessToken;
      const err = new Error(
        `request failed: POST ${value("homeserver")}/_matrix/client/v3/login {"password":"${value("password")}"}; GET ${value("url")}/api/projects ` +
          `(Authorization: Bearer ${value("api_token")}); GET /sync?access_token=${accessToken}`,
      );
      Object.assign(err, {
        request: { headers: { authorization: `Bearer ${accessToken}` }, body: { storage_key: value("storage_key"), password: value("password") } },
      });
      throw err;
    },
    Number(process.env.CRASH_AFTER_MS ?? 1500),
  );
}, 100);
