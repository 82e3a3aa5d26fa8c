import { readFile } from "node:fs/promises";
import { MemoryStore, SyncAccumulator, type ISyncResponse, type IStoredClientOpts } from "matrix-js-sdk";
import type { ISavedSync } from "matrix-js-sdk/lib/store/index.js";
import { writeFileAtomic } from "../util/atomic-write.js";

interface FileShape {
  version: 1;
  userId: string;
  deviceId: string;
  sync: { nextBatch: string; roomsData: unknown; accountData: unknown[] };
  clientOptions?: IStoredClientOpts;
  /** The generation of the crypto store written at the same save point (crypto first, then this file). */
  cryptoGeneration?: string;
}

/**
 * A MemoryStore that also keeps the accumulated sync on disk, so a restart resumes from the saved `since` token:
 * no full initial sync, and no stale cached initial sync from Synapse that would replay old commands.
 */
export class FileSyncStore extends MemoryStore {
  private acc = new SyncAccumulator();
  private dirty = false;
  private lastSave = 0;
  private savedClientOptions?: IStoredClientOpts;
  /** True when startup() found a saved sync for this user and device. */
  resumed = false;
  /** The crypto generation recorded by the last save (from the file at startup). */
  cryptoGeneration?: string;
  /**
   * Runs at every save before the sync file is written, e.g. the crypto store snapshot, so both are saved at the
   * same point. Returns the generation to record. If it fails, the sync file is not written either.
   */
  beforeSave?: () => Promise<string | undefined>;
  /** Receives save failures (otherwise save() rejects). */
  onSaveError?: (e: unknown) => void;

  constructor(
    private readonly file: string,
    private readonly userId: string,
    private readonly deviceId: string,
    private readonly saveEveryMs = 5000,
  ) {
    super();
  }

  override async startup(): Promise<void> {
    try {
      const data = JSON.parse(await readFile(this.file, "utf8")) as FileShape;
      if (data.version === 1 && data.userId === this.userId && data.deviceId === this.deviceId && data.sync?.nextBatch) {
        this.acc.accumulate(
          { next_batch: data.sync.nextBatch, rooms: data.sync.roomsData, account_data: { events: data.sync.accountData } } as unknown as ISyncResponse,
          true,
        );
        this.savedClientOptions = data.clientOptions;
        this.cryptoGeneration = data.cryptoGeneration;
        this.resumed = true;
      }
    } catch {
      /* no saved sync: a fresh initial sync */
    }
  }

  override async setSyncData(syncData: ISyncResponse): Promise<void> {
    this.acc.accumulate(syncData);
    this.dirty = true;
  }

  override async getSavedSync(): Promise<ISavedSync | null> {
    const d = this.acc.getJSON();
    if (!d.nextBatch) return null;
    return structuredClone({ nextBatch: d.nextBatch, roomsData: d.roomsData, accountData: d.accountData });
  }

  override async getSavedSyncToken(): Promise<string | null> {
    return this.acc.getNextBatchToken() || null;
  }

  override wantsSave(): boolean {
    return this.dirty && Date.now() - this.lastSave >= this.saveEveryMs;
  }

  override async save(force = false): Promise<void> {
    if (!this.dirty && !force) return;
    this.dirty = false;
    this.lastSave = Date.now();
    // The SDK's sync loop awaits this without a catch, so a failure must not escape: it is reported, and the next
    // save tries again.
    try {
      if (this.beforeSave) this.cryptoGeneration = await this.beforeSave();
      await writeFileAtomic(this.file, this.serialize());
    } catch (e) {
      this.dirty = true;
      if (this.onSaveError) this.onSaveError(e);
      else throw e;
    }
  }

  override async getClientOptions(): Promise<IStoredClientOpts | undefined> {
    return this.savedClientOptions;
  }
  override async storeClientOptions(options: IStoredClientOpts): Promise<void> {
    this.savedClientOptions = options;
    this.dirty = true;
  }

  override async deleteAllData(): Promise<void> {
    this.acc = new SyncAccumulator();
    this.dirty = true;
    await super.deleteAllData();
  }

  private serialize(): string {
    const d = this.acc.getJSON(true);
    const shape: FileShape = {
      version: 1,
      userId: this.userId,
      deviceId: this.deviceId,
      sync: { nextBatch: d.nextBatch, roomsData: d.roomsData, accountData: d.accountData },
      clientOptions: this.savedClientOptions,
      cryptoGeneration: this.cryptoGeneration,
    };
    return JSON.stringify(shape);
  }
}
