// The one way the bot writes a state file: readers see the old or the new content, never a torn one, and the new
// content survives a power cut once the call returns. The steps are written once (a generator of file-system
// calls) and run by a synchronous runner (exit paths) or an asynchronous one; tests pass their own FsCalls to
// inject failures and watch the fsyncs.
import fs from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";

/** The file-system calls an atomic write makes, in their synchronous form. */
export interface FsCalls {
  /** Creates the directory and its parents (mode 0700) if missing. */
  mkdirp(dir: string): void;
  open(path: string, flags: string, mode: number): number;
  /** Writes from `offset` of `data` at the file position; returns the bytes written. */
  write(fd: number, data: Uint8Array, offset: number): number;
  fchmod(fd: number, mode: number): void;
  fsync(fd: number): void;
  close(fd: number): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
}
export type AsyncFsCalls = { [K in keyof FsCalls]: (...args: Parameters<FsCalls[K]>) => Promise<ReturnType<FsCalls[K]>> };

export const syncFs: FsCalls = {
  mkdirp: (dir) => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  },
  open: (path, flags, mode) => fs.openSync(path, flags, mode),
  write: (fd, data, offset) => fs.writeSync(fd, data, offset),
  fchmod: (fd, mode) => fs.fchmodSync(fd, mode),
  fsync: (fd) => fs.fsyncSync(fd),
  close: (fd) => fs.closeSync(fd),
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (path) => fs.unlinkSync(path),
};

const callback = <T>(call: (done: (e: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => call((e, value) => (e ? reject(e) : resolve(value as T))));

export const asyncFs: AsyncFsCalls = {
  mkdirp: async (dir) => {
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  },
  open: (path, flags, mode) => callback((done) => fs.open(path, flags, mode, done)),
  write: (fd, data, offset) => callback((done) => fs.write(fd, data, offset, data.length - offset, null, done)),
  fchmod: (fd, mode) => callback((done) => fs.fchmod(fd, mode, done)),
  fsync: (fd) => callback((done) => fs.fsync(fd, done)),
  close: (fd) => callback((done) => fs.close(fd, done)),
  rename: (from, to) => fs.promises.rename(from, to),
  unlink: (path) => fs.promises.unlink(path),
};

type Call = { [K in keyof FsCalls]: { op: K; args: Parameters<FsCalls[K]> } }[keyof FsCalls];
/** Each yield is one file-system call; the runner sends back its result or throws its error into the generator. */
type Steps = Generator<Call, void, any>;
const call = <K extends keyof FsCalls>(op: K, ...args: Parameters<FsCalls[K]>) => ({ op, args }) as Call;

/** Platforms and file systems that cannot fsync a directory say so with these; there is nothing more to do there. */
const DIR_SYNC_UNSUPPORTED = new Set(["EISDIR", "EINVAL", "ENOTSUP", "EPERM"]);

/** Makes the directory's entries (a rename) durable. */
function* fsyncDir(dir: string): Steps {
  let fd: number;
  try {
    fd = yield call("open", dir, "r", 0);
  } catch (e) {
    if (DIR_SYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException).code ?? "")) return;
    throw e;
  }
  try {
    yield call("fsync", fd);
  } catch (e) {
    if (!DIR_SYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException).code ?? "")) throw e;
  } finally {
    yield call("close", fd);
  }
}

function* writeSteps(path: string, data: string | Uint8Array, mode: number): Steps {
  const dir = dirname(path);
  yield call("mkdirp", dir);
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  // Same directory, so the rename stays on one file system; "wx" never opens someone else's file.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd: number = yield call("open", tmp, "wx", mode);
  try {
    try {
      for (let offset = 0; offset < bytes.length;) offset += (yield call("write", fd, bytes, offset)) as number;
      yield call("fchmod", fd, mode); // the umask may have narrowed or the caller widened the mode
      yield call("fsync", fd);
    } finally {
      yield call("close", fd);
    }
    yield call("rename", tmp, path);
  } catch (e) {
    try {
      yield call("unlink", tmp);
    } catch {
      /* the write's own error is the one to report */
    }
    throw e;
  }
  yield* fsyncDir(dir);
}

function* renameSteps(from: string, to: string): Steps {
  yield call("rename", from, to);
  yield* fsyncDir(dirname(to));
  if (dirname(from) !== dirname(to)) yield* fsyncDir(dirname(from));
}

function runSync(steps: Steps, calls: FsCalls): void {
  let next = steps.next();
  while (!next.done) {
    const { op, args } = next.value;
    let result: unknown;
    try {
      result = (calls[op] as (...a: unknown[]) => unknown)(...args);
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(result);
  }
}

async function runAsync(steps: Steps, calls: AsyncFsCalls): Promise<void> {
  let next = steps.next();
  while (!next.done) {
    const { op, args } = next.value;
    let result: unknown;
    try {
      result = await (calls[op] as (...a: unknown[]) => Promise<unknown>)(...args);
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(result);
  }
}

/**
 * Writes a file atomically and durably (mode 0600 by default): a temp file in the same directory, fsynced, renamed
 * over the target, then the directory fsynced. On any failure the temp file is removed and the error thrown.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, calls: AsyncFsCalls = asyncFs): Promise<void> {
  return runAsync(writeSteps(path, data, mode), calls);
}

/** Synchronous form, for exit paths (SIGTERM, crash) where awaiting is not possible. Same steps. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o600, calls: FsCalls = syncFs): void {
  runSync(writeSteps(path, data, mode), calls);
}

/** Renames a file and fsyncs the directories involved, so the move survives a power cut. */
export function renameDurable(from: string, to: string, calls: AsyncFsCalls = asyncFs): Promise<void> {
  return runAsync(renameSteps(from, to), calls);
}
