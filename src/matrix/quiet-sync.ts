// The OlmMachine's receive_sync_changes copies the whole device account (re-deriving the public key of each of its
// one-time keys) on every call, about 5 ms of CPU, and matrix-js-sdk calls it for every /sync response — also the
// many that carry nothing for the crypto layer (a room message in an unencrypted room, a read receipt). A sync with
// no to-device events, no device-list change and the same key counts as the last call tells the machine nothing new,
// so it is not passed on. One call a minute goes through regardless, so nothing the machine does on a call waits
// longer than that.
import type { MatrixClient } from "matrix-js-sdk";

/** The encryption part of one /sync response, as matrix-js-sdk hands it to its crypto layer. */
export interface SyncCryptoChanges {
  toDeviceEvents: unknown[];
  deviceLists?: { changed?: string[]; left?: string[] };
  oneTimeKeysCounts?: Record<string, number>;
  unusedFallbackKeys?: string[];
  /** Sliding sync: an absent count means "unchanged" there, so those calls always go through. */
  useMsc4186?: boolean;
}

export class QuietSyncFilter {
  private lastCounts?: string;
  private lastPassedAt = -Infinity;
  skipped = 0;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly maxQuietMs = 60_000,
  ) {}

  /** true: the machine already knows everything in `c`; false: pass it on (and remember its counts). */
  skip(c: SyncCryptoChanges): boolean {
    const counts = JSON.stringify([
      Object.entries(c.oneTimeKeysCounts ?? {}).sort(([a], [b]) => a.localeCompare(b)),
      c.unusedFallbackKeys ? [...c.unusedFallbackKeys].sort() : null,
    ]);
    const news = c.useMsc4186 || c.toDeviceEvents.length > 0 || Boolean(c.deviceLists?.changed?.length) || Boolean(c.deviceLists?.left?.length);
    if (!news && counts === this.lastCounts && this.now() - this.lastPassedAt < this.maxQuietMs) {
      this.skipped++;
      return true;
    }
    this.lastCounts = counts;
    this.lastPassedAt = this.now();
    return false;
  }

  /** The call passed on failed: the machine may not have taken the counts in, so the next sync goes through. */
  failed(): void {
    this.lastCounts = undefined;
  }
}

type SyncCallbacks = { processSyncChanges?: (c: SyncCryptoChanges) => Promise<unknown[]> };

/**
 * Puts the filter in front of the SDK's crypto backend (the object its sync loop calls). Returns undefined when this
 * SDK version has no such method, and then changes nothing.
 */
export function quietSyncCrypto(client: MatrixClient, filter = new QuietSyncFilter()): QuietSyncFilter | undefined {
  const backend = client.getCrypto() as unknown as SyncCallbacks | undefined;
  const original = backend?.processSyncChanges;
  if (!backend || typeof original !== "function") return undefined;
  backend.processSyncChanges = (c) => {
    if (filter.skip(c)) return Promise.resolve([]);
    return original.call(backend, c).catch((e: unknown) => {
      filter.failed();
      throw e;
    });
  };
  return filter;
}
