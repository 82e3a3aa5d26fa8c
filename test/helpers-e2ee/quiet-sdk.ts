// matrix-js-sdk logs every request, and the Rust crypto its DEBUG tracing; in a test peer that floods the test log.
// Keep the SDK's warnings and errors, less known noise. A bot started in the same process routes the SDK's lines into
// its own logger instead (src/log/sdk.ts), which replaces this.
import loglevel from "loglevel";

/** Expected on Synapse without MatrixRTC: the SDK logs a 404 with its stack for every client. */
const NOISE = [/rtc\/transports/, /M_UNRECOGNIZED/];

const quiet: loglevel.MethodFactory = (method) => {
  if (method !== "warn" && method !== "error") return () => undefined;
  return (...args: unknown[]) => {
    const text = args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
    if (!NOISE.some((re) => re.test(text))) console.error(`[sdk ${method}]`, text);
  };
};

export function quietSdkLogging(): void {
  for (const l of [loglevel, ...Object.values(loglevel.getLoggers())]) {
    l.methodFactory = quiet;
    l.setLevel("trace", false);
    l.rebuild();
  }
}
