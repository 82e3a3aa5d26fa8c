// The Rust crypto store can only live in IndexedDB (or memory), and Node has no IndexedDB. fake-indexeddb provides
// one in memory; this module makes it survive restarts by snapshotting the crypto databases of one client into a
// file (v8-serialized, so Uint8Arrays and other structured-clone values survive) and restoring them before
// initRustCrypto. The file holds the device's private keys (encrypted with the storage key when one is configured),
// so it is written atomically with mode 0600 and never logged.
import { access, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import v8 from "node:v8";
import { renameDurable, writeFileAtomic, writeFileAtomicSync } from "../util/atomic-write.js";

// Minimal IndexedDB typings (the project compiles without the DOM lib).
type IDBValidKey = number | string | Date | BufferSource | IDBValidKey[];
type BufferSource = ArrayBuffer | ArrayBufferView;
interface IDBRequest<T = unknown> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IDBOpenDBRequest extends IDBRequest<IDBDatabase> {
  transaction: IDBTransaction | null;
  onupgradeneeded: (() => void) | null;
  onblocked: (() => void) | null;
}
interface IDBIndex {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
}
interface IDBObjectStore {
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexNames: Iterable<string>;
  index(name: string): IDBIndex;
  put(value: unknown, key?: IDBValidKey): IDBRequest;
  createIndex(name: string, keyPath: string | string[], opts: { unique: boolean; multiEntry: boolean }): IDBIndex;
  getAllKeys(): IDBRequest<IDBValidKey[]>;
  getAll(): IDBRequest<unknown[]>;
}
interface IDBTransaction {
  objectStore(name: string): IDBObjectStore;
  abort(): void;
  error: unknown;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
interface IDBDatabase {
  version: number;
  objectStoreNames: Iterable<string>;
  close(): void;
  transaction(names: string[], mode: "readonly" | "readwrite"): IDBTransaction;
  createObjectStore(name: string, opts: { keyPath?: string | string[]; autoIncrement: boolean }): IDBObjectStore;
}
interface IDBFactory {
  open(name: string, version?: number): IDBOpenDBRequest;
  deleteDatabase(name: string): IDBOpenDBRequest;
  databases(): Promise<Array<{ name?: string; version?: number }>>;
}
const idb = (): IDBFactory => (globalThis as unknown as { indexedDB: IDBFactory }).indexedDB;

interface IndexDef {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
}
interface StoreSnap {
  name: string;
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexes: IndexDef[];
  keys: IDBValidKey[];
  values: unknown[];
}
interface DbSnap {
  /** The database name without the per-instance prefix, e.g. "matrix-sdk-crypto". */ name: string;
  version: number;
  stores: StoreSnap[];
}

export interface CryptoSnapshotFile {
  format: "chatrixcd-crypto-snapshot";
  version: 1;
  userId: string;
  deviceId: string;
  /** Changes on every write; sync.json records the generation it was saved with. */
  generation: string;
  savedAt: string;
  dbs: DbSnap[];
}

let loaded: Promise<void> | undefined;
/** Every connection opened through the global indexedDB, by database name (see dropCryptoDatabases). */
const connections = new Map<string, Set<IDBDatabase>>();

/**
 * Installs fake-indexeddb's globals (indexedDB, IDBKeyRange, IDBDatabase, ...) once, on first use, and records the
 * connections opened through it: the Rust store never closes its own, and deleting a database with a connection
 * open makes fake-indexeddb retry on every event-loop turn forever (a busy loop that keeps the process alive).
 */
export function ensureIndexedDb(): Promise<void> {
  // @ts-ignore -- the package's typings need the DOM lib; only its side effect (the globals) is used.
  loaded ??= import("fake-indexeddb/auto").then(() => {
    const factory = idb();
    const open = factory.open.bind(factory);
    factory.open = (name: string, version?: number) => {
      const r = version === undefined ? open(name) : open(name, version);
      (r as unknown as { addEventListener(type: string, fn: () => void): void }).addEventListener("success", () => {
        const handle = r.result;
        let set = connections.get(name);
        if (!set) connections.set(name, (set = new Set()));
        set.add(handle);
        // Closed connections are forgotten (the snapshot opens and closes one per save).
        const close = handle.close.bind(handle);
        handle.close = () => {
          connections.get(name)?.delete(handle);
          close();
        };
      });
      return r;
    };
  });
  return loaded;
}

const req = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
const done = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });

/** Reads a snapshot file; undefined when it is absent. Throws when it exists but cannot be read. */
export async function readCryptoSnapshot(file: string): Promise<CryptoSnapshotFile | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const data = v8.deserialize(buf) as CryptoSnapshotFile;
  if (data?.format !== "chatrixcd-crypto-snapshot" || data.version !== 1 || !Array.isArray(data.dbs))
    throw new Error(`${file} is not a ChatrixCD crypto snapshot`);
  return data;
}

/** Recreates the snapshot's databases under `prefix` (which must not exist yet in this process). */
export async function restoreCryptoSnapshot(snap: CryptoSnapshotFile, prefix: string): Promise<void> {
  await ensureIndexedDb();
  for (const db of snap.dbs) {
    const open = idb().open(`${prefix}::${db.name}`, db.version);
    let failure: unknown;
    open.onupgradeneeded = () => {
      try {
        const handle = open.result;
        for (const s of db.stores) {
          const store = handle.createObjectStore(s.name, { keyPath: s.keyPath ?? undefined, autoIncrement: s.autoIncrement });
          for (const ix of s.indexes) store.createIndex(ix.name, ix.keyPath, { unique: ix.unique, multiEntry: ix.multiEntry });
          for (let i = 0; i < s.values.length; i++) {
            if (s.keyPath === null) store.put(s.values[i], s.keys[i]);
            else store.put(s.values[i]);
          }
        }
      } catch (e) {
        failure = e;
        open.transaction?.abort();
      }
    };
    const handle = await req(open).catch((e) => {
      throw failure ?? e;
    });
    handle.close();
  }
}

/** Names of the IndexedDB databases that belong to `prefix`. */
async function databasesOf(prefix: string): Promise<string[]> {
  const all = await idb().databases();
  return all.map((d) => d.name!).filter((n) => n?.startsWith(`${prefix}::`));
}

/** Reads every record of the client's crypto databases, one read-only transaction per database (consistent). */
export async function takeCryptoSnapshot(prefix: string, userId: string, deviceId: string): Promise<CryptoSnapshotFile> {
  await ensureIndexedDb();
  const dbs: DbSnap[] = [];
  for (const name of (await databasesOf(prefix)).sort()) {
    const handle = await req(idb().open(name));
    try {
      const storeNames = [...handle.objectStoreNames];
      const stores: StoreSnap[] = [];
      if (storeNames.length) {
        const tx = handle.transaction(storeNames, "readonly");
        const finished = done(tx);
        await Promise.all(
          storeNames.map(async (sn) => {
            const store = tx.objectStore(sn);
            const [keys, values] = await Promise.all([req(store.getAllKeys()), req(store.getAll())]);
            const indexes = [...store.indexNames].map((ixName) => {
              const ix = store.index(ixName);
              return { name: ix.name, keyPath: ix.keyPath, unique: ix.unique, multiEntry: ix.multiEntry };
            });
            stores.push({ name: sn, keyPath: store.keyPath as string | string[] | null, autoIncrement: store.autoIncrement, indexes, keys, values });
          }),
        );
        await finished;
      }
      stores.sort((a, b) => a.name.localeCompare(b.name));
      dbs.push({ name: name.slice(prefix.length + 2), version: handle.version, stores });
    } finally {
      handle.close();
    }
  }
  return {
    format: "chatrixcd-crypto-snapshot",
    version: 1,
    userId,
    deviceId,
    generation: randomBytes(8).toString("hex"),
    savedAt: new Date().toISOString(),
    dbs,
  };
}

export async function writeCryptoSnapshot(file: string, snap: CryptoSnapshotFile): Promise<void> {
  await writeFileAtomic(file, v8.serialize(snap), 0o600);
}

export function writeCryptoSnapshotSync(file: string, snap: CryptoSnapshotFile): void {
  writeFileAtomicSync(file, v8.serialize(snap), 0o600);
}

/** Another device's store that was moved aside: whose it was (or why that is unknown) and where it went. */
export interface SetAside {
  owner: string;
  backup: string;
}

/**
 * Before a device writes its first snapshot: when `file` holds another user's or device's store, or one that cannot be
 * identified, it is renamed to `<name>.<its device>.<ISO time>.bin` next to it, so no device's keys are ever overwritten.
 */
export async function setAsideForeignSnapshot(file: string, userId: string, deviceId: string): Promise<SetAside | undefined> {
  let owner: string, ownerDevice: string;
  try {
    const snap = await readCryptoSnapshot(file);
    if (!snap || (snap.userId === userId && snap.deviceId === deviceId)) return undefined;
    owner = `${snap.userId} device ${snap.deviceId}`;
    ownerDevice = snap.deviceId;
  } catch (e) {
    owner = `an unidentified owner (${e instanceof Error ? e.message : String(e)})`;
    ownerDevice = "unknown";
  }
  const stem = join(dirname(file), basename(file, ".bin"));
  const stamp = new Date().toISOString().replace(/:/g, "-");
  const safeDevice = ownerDevice.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "unknown";
  let backup = `${stem}.${safeDevice}.${stamp}.bin`;
  for (
    let n = 2;
    await access(backup).then(
      () => true,
      () => false,
    );
    n++
  )
    backup = `${stem}.${safeDevice}.${stamp}.${n}.bin`;
  await renameDurable(file, backup);
  return { owner, backup };
}

/** Drops the client's databases from memory. Only after its client stopped: their connections are closed first. */
export async function dropCryptoDatabases(prefix: string): Promise<void> {
  await ensureIndexedDb();
  for (const name of await databasesOf(prefix)) {
    for (const handle of connections.get(name) ?? []) handle.close();
    connections.delete(name);
    await new Promise<void>((resolve) => {
      const r = idb().deleteDatabase(name);
      r.onsuccess = () => resolve();
      r.onerror = () => resolve();
      r.onblocked = () => resolve();
    });
  }
}
