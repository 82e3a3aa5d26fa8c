import { existsSync } from "node:fs";
import { join } from "node:path";
import { homedir } from "node:os";

/** --config, else ./chatrixcd.ini, else $XDG_CONFIG_HOME/chatrixcd/chatrixcd.ini; undefined when none exists. */
export function locateConfig(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): { path?: string; tried: string[] } {
  if (explicit) return { path: explicit, tried: [explicit] };
  const xdg = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  const candidates = ["chatrixcd.ini", join(xdg, "chatrixcd", "chatrixcd.ini")];
  return { path: candidates.find((p) => existsSync(p)), tried: candidates };
}
