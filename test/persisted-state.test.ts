// The one class behind every state file (issue 13 item 5): typed load through a validator, debounced saves,
// flush and close, atomic mode-0600 writes, and an unreadable file kept aside instead of overwritten.
import test from "ava";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, statSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PersistedState, versionOne } from "../src/util/persisted-state.js";
import { mulberry32 } from "../src/util/random.js";

interface Counts {
  version: 1;
  counts: Record<string, number>;
}

function rig(o: { file?: string; debounceMs?: number; writeFile?: (f: string, text: string) => Promise<void> } = {}) {
  const file = o.file ?? join(mkdtempSync(join(tmpdir(), "chatrixcd-ps-")), "state.json");
  const logged: string[] = [];
  const state = { version: 1 as const, counts: {} as Record<string, number> };
  const ps = new PersistedState<Counts>({
    file,
    log: { warn: (m) => logged.push(`warn ${m}`), error: (m) => logged.push(`error ${m}`) },
    startsEmpty: "starting with no counts",
    debounceMs: o.debounceMs ?? 60_000,
    writeFile: o.writeFile,
    validate: (data) => {
      const d = versionOne(data);
      if (!d.counts || typeof d.counts !== "object") throw new Error("no counts object");
      return d as unknown as Counts;
    },
    snapshot: () => state,
  });
  return { file, logged, state, ps };
}

const onDisk = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Counts;

test("round trip: what is saved loads again, typed; a missing file is no state and no warning", async (t) => {
  const a = rig();
  t.is(a.ps.load(), undefined);
  a.state.counts.x = 3;
  await a.ps.save();
  const b = rig({ file: a.file });
  t.deepEqual(b.ps.load(), { version: 1, counts: { x: 3 } });
  t.deepEqual([...a.logged, ...b.logged], []);
});

test("saveLater is debounced: many calls, one write with the newest state, on flush", async (t) => {
  const a = rig();
  for (let i = 1; i <= 50; i++) {
    a.state.counts.x = i;
    a.ps.saveLater();
  }
  t.is(a.ps.writes, 0, "nothing written before the delay or a flush");
  await a.ps.flush();
  t.is(a.ps.writes, 1);
  t.deepEqual(onDisk(a.file).counts, { x: 50 });
  await a.ps.flush();
  t.is(a.ps.writes, 1, "a flush with nothing pending writes nothing");
});

test("saveLater writes by itself after the delay", async (t) => {
  let written!: () => void;
  const done = new Promise<void>((r) => {
    written = r;
  });
  const a = rig({
    debounceMs: 5,
    writeFile: async (f, text) => {
      writeFileSync(f, text);
      written();
    },
  });
  a.state.counts.y = 1;
  a.ps.saveLater();
  a.ps.saveLater();
  await done;
  t.is(a.ps.writes, 1);
  t.deepEqual(onDisk(a.file).counts, { y: 1 });
});

test("close flushes the pending save and takes no more", async (t) => {
  const a = rig();
  a.state.counts.z = 7;
  a.ps.saveLater();
  await a.ps.close();
  t.deepEqual(onDisk(a.file).counts, { z: 7 });
  const writes = a.ps.writes;
  a.state.counts.z = 8;
  a.ps.saveLater();
  await a.ps.flush();
  t.is(a.ps.writes, writes, "no debounced save after close");
});

test("files are written mode 0600, also over a file that was wider", async (t) => {
  const a = rig();
  writeFileSync(a.file, JSON.stringify({ version: 1, counts: {} }));
  chmodSync(a.file, 0o644);
  a.ps.load();
  await a.ps.save();
  t.is(statSync(a.file).mode & 0o777, 0o600);
});

const UNREADABLE = [
  ["not JSON", "{ half"],
  ["rejected by the validator", JSON.stringify({ version: 1, counts: 3 })],
  ["another version", JSON.stringify({ version: 2 })],
];
for (const [what, text] of UNREADABLE) {
  test(`an unreadable file (${what}) is kept aside with one warning and never overwritten`, async (t) => {
    const a = rig();
    writeFileSync(a.file, text!);
    t.is(a.ps.load(), undefined);
    a.state.counts.n = 1;
    await a.ps.save();
    const dir = join(a.file, "..");
    const kept = readdirSync(dir).filter((f) => f.startsWith("state.json.unreadable-"));
    t.is(kept.length, 1);
    t.is(readFileSync(join(dir, kept[0]!), "utf8"), text!);
    t.is(a.logged.length, 1, a.logged.join("\n"));
    t.regex(a.logged[0]!, /^warn could not read .*state\.json \(.+\); kept it as .*state\.json\.unreadable-\S+ and starting with no counts\. Look at it/);
    t.deepEqual(onDisk(a.file).counts, { n: 1 });
  });
}

test("a failed write is logged by save() (what and where), thrown by write(), and the next save tries again", async (t) => {
  let fail = true;
  const a = rig({
    writeFile: async (f, text) => {
      if (fail) throw new Error("disk full");
      writeFileSync(f, text);
    },
  });
  await a.ps.save();
  t.is(a.logged.length, 1);
  t.regex(a.logged[0]!, /^error could not save .*state\.json: disk full/);
  await t.throwsAsync(a.ps.write(), { message: "disk full" });
  fail = false;
  a.state.counts.ok = 1;
  await a.ps.save();
  t.deepEqual(onDisk(a.file).counts, { ok: 1 });
});

// Many actors change the state and save, debounce-save or flush in seeded random interleavings, with writes that
// take random turns to finish. Writes never overlap, and once an actor's save() returns, the file holds its change.
for (let seed = 1; seed <= 20; seed++) {
  test(`seeded interleavings (seed ${seed}): writes never overlap and an awaited save is on disk`, async (t) => {
    const random = mulberry32(seed);
    const turns = async () => {
      for (let i = Math.floor(random() * 4); i > 0; i--) await Promise.resolve();
    };
    let inFlight = 0;
    let maxInFlight = 0;
    const a = rig({
      writeFile: async (f, text) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await turns();
        writeFileSync(f, text);
        inFlight--;
      },
    });
    const actor = async (name: string) => {
      for (let step = 0; step < 10; step++) {
        await turns();
        a.state.counts[name] = step;
        const pick = random();
        if (pick < 0.4) {
          await a.ps.save();
          t.true((onDisk(a.file).counts[name] ?? -1) >= step, `${name}'s step ${step} is on disk after save()`);
        } else if (pick < 0.8) a.ps.saveLater();
        else await a.ps.flush();
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => actor(`actor${i}`)));
    await a.ps.close();
    t.is(maxInFlight, 1);
    t.deepEqual(onDisk(a.file), a.state);
  });
}
