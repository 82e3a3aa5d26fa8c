import test from "ava";
import { QuietSyncFilter, quietSyncCrypto, type SyncCryptoChanges } from "../src/matrix/quiet-sync.js";
import type { MatrixClient } from "matrix-js-sdk";

const quiet = (counts: Record<string, number> = { signed_curve25519: 50 }, fallback: string[] | undefined = ["signed_curve25519"]): SyncCryptoChanges => ({
  toDeviceEvents: [],
  deviceLists: { changed: [], left: [] },
  oneTimeKeysCounts: counts,
  unusedFallbackKeys: fallback,
});

test("a sync that brings the crypto layer nothing new is skipped; the first one and any change go through", (t) => {
  const f = new QuietSyncFilter(() => 0);
  t.false(f.skip(quiet()), "the first sync");
  t.true(f.skip(quiet()), "same counts, nothing else");
  t.true(f.skip({ ...quiet(), deviceLists: undefined }), "no device_lists field at all");
  t.false(f.skip(quiet({ signed_curve25519: 49 })), "a one-time key was claimed");
  t.true(f.skip(quiet({ signed_curve25519: 49 })));
  t.false(f.skip(quiet({ signed_curve25519: 49 }, [])), "the fallback key was used");
  t.false(f.skip(quiet({ signed_curve25519: 49 }, undefined)), "no fallback key list differs from an empty one");
  t.false(f.skip({ ...quiet({ signed_curve25519: 49 }, undefined), toDeviceEvents: [{ type: "m.room.encrypted" }] }), "a to-device event");
  t.false(f.skip({ ...quiet({ signed_curve25519: 49 }, undefined), deviceLists: { changed: ["@a:x"] } }), "a device list changed");
  t.false(f.skip({ ...quiet({ signed_curve25519: 49 }, undefined), deviceLists: { left: ["@a:x"] } }), "a user left");
  t.false(f.skip({ ...quiet({ signed_curve25519: 49 }, undefined), useMsc4186: true }), "sliding sync always goes through");
  t.is(f.skipped, 3);
});

test("key counts compare by content, not by key order", (t) => {
  const f = new QuietSyncFilter(() => 0);
  t.false(f.skip(quiet({ a: 1, b: 2 }, ["y", "x"])));
  t.true(f.skip(quiet({ b: 2, a: 1 }, ["x", "y"])));
});

test("one call a minute goes through even when nothing changed", (t) => {
  let now = 0;
  const f = new QuietSyncFilter(() => now, 60_000);
  t.false(f.skip(quiet()));
  now = 59_999;
  t.true(f.skip(quiet()));
  now = 60_000;
  t.false(f.skip(quiet()));
  now = 60_001;
  t.true(f.skip(quiet()));
});

test("in front of the SDK's backend: skipped syncs never reach it, the others do with their to-device results", async (t) => {
  const seen: SyncCryptoChanges[] = [];
  const backend = {
    async processSyncChanges(this: unknown, c: SyncCryptoChanges) {
      t.is(this, backend, "called on the backend");
      seen.push(c);
      return c.toDeviceEvents;
    },
  };
  const client = { getCrypto: () => backend } as unknown as MatrixClient;
  const filter = quietSyncCrypto(client, new QuietSyncFilter(() => 0))!;
  t.truthy(filter);
  t.deepEqual(await backend.processSyncChanges(quiet()), []);
  t.deepEqual(await backend.processSyncChanges(quiet()), []);
  const ev = { type: "m.room_key" };
  t.deepEqual(await backend.processSyncChanges({ ...quiet(), toDeviceEvents: [ev] }), [ev]);
  t.is(seen.length, 2);
  t.is(filter.skipped, 1);
});

test("when the call passed on fails, the next sync goes through even with the same counts", async (t) => {
  let fail = true;
  let calls = 0;
  const backend = {
    async processSyncChanges(_c: SyncCryptoChanges) {
      calls++;
      if (fail) throw new Error("indexeddb broke");
      return [];
    },
  };
  const filter = quietSyncCrypto({ getCrypto: () => backend } as unknown as MatrixClient, new QuietSyncFilter(() => 0))!;
  await t.throwsAsync(backend.processSyncChanges(quiet()), { message: /indexeddb/ });
  fail = false;
  await backend.processSyncChanges(quiet());
  t.is(calls, 2, "the same counts were passed again after the failure");
  await backend.processSyncChanges(quiet());
  t.is(calls, 2, "and then skipped as before");
  t.is(filter.skipped, 1);
});

test("an SDK without processSyncChanges is left as it is", (t) => {
  t.is(quietSyncCrypto({ getCrypto: () => ({}) } as unknown as MatrixClient), undefined);
  t.is(quietSyncCrypto({ getCrypto: () => undefined } as unknown as MatrixClient), undefined);
});
