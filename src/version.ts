import { readFileSync } from "node:fs";

/** The version in package.json, so `--version` can never disagree with the package. */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
})();
