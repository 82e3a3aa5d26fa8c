// matrix-js-sdk 43 calls Promise.withResolvers (a Node 22 API). Node 20 lacks it, so this module must be
// imported before anything that loads the SDK. It becomes a no-op on Node 22+.
type Resolvers<T> = { promise: Promise<T>; resolve: (v: T | PromiseLike<T>) => void; reject: (e?: unknown) => void };
const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
if (typeof P.withResolvers !== "function") {
  P.withResolvers = <T>(): Resolvers<T> => {
    let resolve!: Resolvers<T>["resolve"];
    let reject!: Resolvers<T>["reject"];
    const promise = new Promise<T>((a, b) => {
      resolve = a;
      reject = b;
    });
    return { promise, resolve, reject };
  };
}
export {};

// matrix-js-sdk's timeoutSignal() ponyfill arms a setTimeout per HTTP request (about 110 s for /sync) and never
// clears it, so a stopped client keeps the process alive for up to two minutes. Those timers only abort requests
// that are already finished or cancelled, so letting them not hold the event loop open (unref) is safe.
const SDK_TIMEOUT_SIGNAL = /^\(\)\s*=>\s*\{\s*controller\.abort\(\);?\s*\}$/;
// Rust crypto also arms a 5-minute timer per live encrypted event it could not decrypt yet, which only detaches a
// listener; the same reasoning applies.
const SDK_DECRYPT_WAIT = /^\(\)\s*=>\s*event\.off\(MatrixEventEvent\.Decrypted,\s*onDecrypted\)$/;
const realSetTimeout = globalThis.setTimeout;
const patched = function setTimeout(this: unknown, fn: unknown, ms?: number, ...args: unknown[]) {
  const t = (realSetTimeout as (...a: unknown[]) => NodeJS.Timeout)(fn, ms, ...args);
  if (
    typeof fn === "function" &&
    fn.length === 0 &&
    (SDK_TIMEOUT_SIGNAL.test(Function.prototype.toString.call(fn)) || SDK_DECRYPT_WAIT.test(Function.prototype.toString.call(fn)))
  )
    t.unref?.();
  return t;
};
Object.assign(patched, realSetTimeout);
globalThis.setTimeout = patched as unknown as typeof globalThis.setTimeout;
