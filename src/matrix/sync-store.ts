import { readFile } from "node:fs/promises";
import { MemoryStore, SyncAccumulator, type ISyncResponse, type IStoredClientOpts } from "matrix-js-sdk";
import type { ISavedSync } from "matrix-js-sdk/lib/store/index.js";
import { writeFileAtomic, writeFileAtomicSync } from "../util/atomic-write.js";

interface FileShape {
  version: 1;
  userId: string;
  deviceId: string;
  sync: { nextBatch: string; roomsData: unknown; accountData: unknown[] };
  clientOptions?: IStoredClientOpts;
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

  constructor(private readonly file: string, private readonly userId: string, private readonly deviceId: string, private readonly saveEveryMs = 5000) {
    super();
  }

  override async startup(): Promise<void> {
    try {
      const data = JSON.parse(await readFile(this.file, "utf8")) as FileShape;
      if (data.version === 1 && data.userId === this.userId && data.deviceId === this.deviceId && data.sync?.nextBatch) {
        this.acc.accumulate({ next_batch: data.sync.nextBatch, rooms: data.sync.roomsData, account_data: { events: data.sync.accountData } } as unknown as ISyncResponse, true);
        this.savedClientOptions = data.clientOptions;
        this.resumed = true;
      }
    } catch { /* no saved sync: a fresh initial sync */ }
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

  override async getSavedSyncToken(): Promise<string | null> { return this.acc.getNextBatchToken() || null; }

  override wantsSave(): boolean { return this.dirty && Date.now() - this.lastSave >= this.saveEveryMs; }

  override async save(force = false): Promise<void> {
    if (!this.dirty && !force) return;
    this.dirty = false;
    this.lastSave = Date.now();
    await writeFileAtomic(this.file, this.serialize());
  }

  /** For exit paths that cannot await. */
  saveSync(): void { writeFileAtomicSync(this.file, this.serialize()); this.dirty = false; }

  override async getClientOptions(): Promise<IStoredClientOpts | undefined> { return this.savedClientOptions; }
  override async storeClientOptions(options: IStoredClientOpts): Promise<void> { this.savedClientOptions = options; this.dirty = true; }

  override async deleteAllData(): Promise<void> { this.acc = new SyncAccumulator(); this.dirty = true; await super.deleteAllData(); }

  private serialize(): string {
    const d = this.acc.getJSON(true);
    const shape: FileShape = { version: 1, userId: this.userId, deviceId: this.deviceId, sync: { nextBatch: d.nextBatch, roomsData: d.roomsData, accountData: d.accountData }, clientOptions: this.savedClientOptions };
    return JSON.stringify(shape);
  }
}
