// Helpers for integration test files that need the Synapse started by test/run-tests.ts.
//
//   import { synapseTest, requireSynapse } from "./harness/integration.js";
//   synapseTest("bot logs in", async (t) => { const hs = requireSynapse(); ... });
//
// Synapse available -> `test`. Not available -> `test.skip` (title marked SKIP_MARKER, counted by
// the runner), except with CI=true, where each such test fails: CI must never silently skip.
import test, { type Implementation } from "ava";
import { connectToRunning, ENV, isCI, SKIP_MARKER, type SynapseHandle } from "./synapse.js";

export { isCI, SKIP_MARKER, uniqueLocalpart } from "./synapse.js";
export type { SynapseHandle } from "./synapse.js";

const handle = connectToRunning();
/** true when the runner's Synapse is available to this test file. */
export const synapseAvailable: boolean = handle !== null;

function unavailableReason(): string {
  return (
    process.env[ENV.SKIP_REASON] ??
    (process.env[ENV.STATE] === "skip" ? "CHATRIXCD_TEST_SYNAPSE=skip" : "no Synapse: run the suite with `npm test` (test/run-tests.ts starts one)")
  );
}

/** The shared Synapse handle; throws (with the reason) if there is none. */
export function requireSynapse(): SynapseHandle {
  if (!handle) throw new Error(`Synapse not available: ${unavailableReason()}`);
  return handle;
}

type Register = (title: string, implementation: Implementation<[]>) => void;
export type SynapseTestFn = Register & { serial: Register; only: Register };

function make(kind: "plain" | "serial" | "only"): Register {
  const base = kind === "plain" ? test : kind === "serial" ? test.serial : test.only;
  if (handle) return (title, impl) => base(title, impl);
  if (isCI()) {
    return (title) =>
      base(title, (t) => {
        t.fail(`CI=true but Synapse is not available (${unavailableReason()})`);
      });
  }
  return (title, impl) => test.skip(`${title} ${SKIP_MARKER}`, impl);
}

/** `test` when Synapse is available; skips otherwise (fails with CI=true). */
export const synapseTest: SynapseTestFn = Object.assign(make("plain"), {
  serial: make("serial"),
  only: make("only"),
});
