import test from "ava";
import { startupV8Flags } from "../src/cli/v8-flags.js";

test("start-up turns off TurboFan for WebAssembly (the Rust crypto's compiled code) by default", (t) => {
  t.deepEqual(startupV8Flags([]), ["--liftoff-only"]);
  t.deepEqual(startupV8Flags(["--import", "x.js", "--max-semi-space-size=1"]), ["--liftoff-only"]);
});

test("an operator's own choice of WebAssembly tiers on node's command line wins", (t) => {
  for (const argv of [["--no-liftoff-only"], ["--liftoff-only"], ["--no_liftoff_only"], ["--no-liftoff"], ["--liftoff-only=false"]]) {
    t.deepEqual(startupV8Flags(argv), [], argv.join(" "));
  }
});
