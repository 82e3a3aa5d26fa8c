// V8 flags the program sets for itself at start-up (measured in the README's benchmarks section, memory breakdown).
import v8 from "node:v8";

/**
 * The Rust crypto is a 7.8 MB WebAssembly module. V8 compiles it with its baseline compiler (Liftoff) and then
 * recompiles hot functions with TurboFan on background threads, whose code and compile memory stay resident:
 * about 18 MiB of RSS. A bot encrypts and decrypts a few events a second, which baseline code does easily, so
 * TurboFan is left out — unless the operator chose otherwise on node's command line (e.g. `node --no-liftoff-only`).
 */
export function startupV8Flags(execArgv: readonly string[]): string[] {
  const chose = (flag: string) =>
    execArgv.some((a) => a.replace(/_/g, "-").replace(/^--no-/, "--") === `--${flag}` || a.replace(/_/g, "-").startsWith(`--${flag}=`));
  return chose("liftoff-only") || chose("liftoff") ? [] : ["--liftoff-only"];
}

/** Applies startupV8Flags; must run before the crypto module is compiled (it is loaded on demand). Returns the flags set. */
export function applyStartupV8Flags(execArgv: readonly string[] = process.execArgv): string[] {
  const flags = startupV8Flags(execArgv);
  if (flags.length) v8.setFlagsFromString(flags.join(" "));
  return flags;
}
