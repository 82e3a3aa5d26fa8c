import loglevel from "loglevel";
import type { Logger } from "./logger.js";
import type { LogLevelName } from "../config/schema.js";

// matrix-js-sdk logs through loglevel, and each child logger it creates is forced to DEBUG, so setLevel alone
// does not hold. A methodFactory installed on the root and every existing logger is copied by later children;
// it routes the SDK's lines into our logger, where the level filter and redaction apply.
// "Missing or invalid property: errcode": every OAuth error response (RFC 6749, no errcode) is first tested as a Matrix error.
const NOISE = [
  /Adding default global override push rule/,
  /MatrixRTCSessionManager/,
  /^Got room state event for unknown room/,
  /^Missing or invalid property: errcode$/,
];

export function routeSdkLogging(logger: Logger): void {
  const factory: loglevel.MethodFactory =
    (methodName) =>
    (...args: unknown[]) => {
      const level: LogLevelName = methodName === "error" ? "error" : methodName === "warn" ? "warn" : "debug";
      if (!logger.enabled(level)) return;
      const text = args.map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : safeJson(a))).join(" ");
      if (NOISE.some((re) => re.test(text))) return;
      logger.log(level, "sdk", text);
    };
  for (const l of [loglevel, ...Object.values(loglevel.getLoggers())]) {
    l.methodFactory = factory;
    l.setLevel("trace", false);
    l.rebuild();
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 500) ?? String(v);
  } catch {
    return String(v);
  }
}
