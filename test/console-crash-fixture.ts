// Run by console-pty.test.ts: the console on the real terminal over a fake engine, then a crash (an uncaught
// exception from a timer), to check that the terminal is restored and the error is shown after it.
import { rmSync } from "node:fs";
import { fakeApp, addTask } from "./console-helpers.js";
import { Console } from "../screens/console.js";

const app = fakeApp();
process.on("exit", () => rmSync(app.stateDir, { recursive: true, force: true }));
addTask(app, 1);
new Console(app, { demo: true, historyFile: "", exit: (code) => process.exit(code) });
setTimeout(
  () => {
    throw new Error("boom from the crash fixture");
  },
  Number(process.env.CRASH_AFTER_MS ?? 1500),
);
