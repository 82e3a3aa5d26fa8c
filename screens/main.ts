#!/usr/bin/env node
// The program entry. It lives in screens/ because it is where the console front end meets the engine:
// screens/ may import src/, never the other way round.
import "../src/polyfill.js";
import { runCli, type ConsoleFrontEnd } from "../src/cli/main.js";
import { applyStartupV8Flags } from "../src/cli/v8-flags.js";

applyStartupV8Flags();

// Loaded only when the console really starts: headless and one-shot commands never load blessed and the panels.
const runConsole: ConsoleFrontEnd = async (app, ctx) => (await import("./console.js")).runConsole(app, ctx);
const code = await runCli(process.argv.slice(2), { console: runConsole });
process.exit(code);
