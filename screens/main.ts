#!/usr/bin/env node
// The program entry. It lives in screens/ because it is where the console front end meets the engine:
// screens/ may import src/, never the other way round.
import "../src/polyfill.js";
import { runCli } from "../src/cli/main.js";
import { runConsole } from "./console.js";

const code = await runCli(process.argv.slice(2), { console: runConsole });
process.exit(code);
