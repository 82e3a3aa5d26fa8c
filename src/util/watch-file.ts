import { watch, type FSWatcher } from "chokidar";
import { mkdirSync, existsSync } from "node:fs";
import { dirname, basename, resolve } from "node:path";

/**
 * Calls `onChange` (debounced) whenever `file` is created, changed, replaced (atomic rename) or removed. The parent
 * directory is watched, so a file that does not exist yet is picked up when it appears. Returns a stop function.
 */
export function watchFile(file: string, onChange: () => void, opts: { debounceMs?: number; createDir?: boolean } = {}): () => Promise<void> {
  const full = resolve(file);
  const dir = dirname(full);
  if (!existsSync(dir)) {
    if (!opts.createDir) return async () => undefined;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const name = basename(full);
  let timer: NodeJS.Timeout | undefined;
  const fire = (path: string) => {
    if (basename(path) !== name || resolve(path) !== full) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, opts.debounceMs ?? 100);
  };
  // Only the file itself: chokidar otherwise sets up a watcher for every other file of the directory (the state
  // directory is busy: tracked tasks, audit log, atomic-write temporaries), and one set up while close() runs was
  // left open, keeping the process alive after close.
  const ignored = (path: string) => {
    const p = resolve(path);
    return p !== dir && p !== full;
  };
  const w: FSWatcher = watch(dir, { depth: 0, ignoreInitial: true, ignored, awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 } });
  w.on("add", fire)
    .on("change", fire)
    .on("unlink", fire)
    .on("error", () => undefined);
  // A change made while the watcher was still scanning is not reported: read once more when it is ready.
  w.on("ready", () => fire(full));
  return async () => {
    if (timer) clearTimeout(timer);
    await w.close();
  };
}
