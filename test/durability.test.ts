// Durability of the bot's state files (issue 12, items 16 and 17): an unreadable session.json stops the start instead
// of silently making a new device; a new device never overwrites another device's crypto store (kept as a dated
// backup); the one atomic-write helper fsyncs file and directory and leaves no temp file behind when it fails.
import { createServer, type Server } from "node:http";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import "../src/polyfill.js";
import { loadSession, sessionPath, SessionUnreadable } from "../src/matrix/session.js";
import { BotCrypto, CRYPTO_FILE } from "../src/matrix/crypto.js";
import { readCryptoSnapshot, restoreCryptoSnapshot, writeCryptoSnapshot, type CryptoSnapshotFile } from "../src/matrix/crypto-store.js";
import { asyncFs, renameDurable, syncFs, writeFileAtomic, writeFileAtomicSync, type AsyncFsCalls, type FsCalls } from "../src/util/atomic-write.js";
import { runCli } from "../src/cli/main.js";
import type { Log } from "../src/log/logger.js";

const tempDir = (what: string) => mkdtempSync(join(tmpdir(), `chatrixcd-${what}-`));
const TOKEN = "syt_secret_token_that_must_never_be_printed";

// ---- 16: an unreadable session is an error, never a new device ----------------------------------------------

const session = (fields: Record<string, unknown>) => JSON.stringify({ homeserver: "http://hs", userId: "@bot:hs", accessToken: TOKEN, ...fields });
const unreadable: Array<[string, (file: string) => void, RegExp]> = [
  ["corrupt JSON", (f) => writeFileSync(f, `{"homeserver": "http://hs", "accessToken": "${TOKEN}", `), /not valid JSON/],
  ["an empty file", (f) => writeFileSync(f, ""), /empty/],
  ["not an object", (f) => writeFileSync(f, `["${TOKEN}"]`), /not a JSON object/],
  ["fields missing", (f) => writeFileSync(f, session({})), /deviceId/],
  ["a field of the wrong type", (f) => writeFileSync(f, session({ deviceId: 7 })), /deviceId/],
  ["a damaged oauth part", (f) => writeFileSync(f, session({ deviceId: "D", oauth: { clientId: 1 } })), /oauth/],
  ["a read error (a directory in its place)", (f) => mkdirSync(f), /EISDIR/],
];

for (const [what, make, why] of unreadable) {
  test(`loadSession: ${what} is a clear error naming the file and what to do, without the token`, async (t) => {
    const dir = tempDir("session");
    make(sessionPath(dir));
    const e = await t.throwsAsync(loadSession(dir), { instanceOf: SessionUnreadable });
    t.true(e!.message.includes(sessionPath(dir)), e!.message);
    t.regex(e!.message, why);
    t.regex(e!.message, /remove it/);
    t.false(e!.message.includes(TOKEN), "the token is never shown");
  });
}

test("loadSession: an absent file is no session, a valid one is read", async (t) => {
  const dir = tempDir("session");
  t.is(await loadSession(dir), undefined);
  writeFileSync(sessionPath(dir), JSON.stringify({ homeserver: "http://hs", userId: "@bot:hs", deviceId: "D", accessToken: TOKEN, savedAt: "x" }));
  t.like(await loadSession(dir), { deviceId: "D", accessToken: TOKEN });
});

/** A homeserver that refuses everything and counts what it was asked. */
async function refusingHomeserver(): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(403, { "Content-Type": "application/json" }).end(JSON.stringify({ errcode: "M_FORBIDDEN", error: "no" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, requests, server };
}

test("headless start with an unreadable session.json exits 1 naming the file, and never logs in as a new device", async (t) => {
  const hs = await refusingHomeserver();
  const dir = tempDir("start");
  mkdirSync(join(dir, "matrix"));
  writeFileSync(join(dir, "matrix", "session.json"), "{ truncated");
  const ini = join(dir, "chatrixcd.ini");
  writeFileSync(
    ini,
    `[matrix]\nhomeserver = ${hs.url}\nuser_id = @bot:test\npassword = pw\n\n[bot]\nstate_dir = ${dir}\nlog_file = ${join(dir, "bot.log")}\n` +
      "admin_users = @admin:test\n",
    { mode: 0o600 },
  );
  const err: string[] = [];
  try {
    const code = await runCli(["--headless", "--demo", "--config", ini], {}, { out: () => undefined, err: (s) => err.push(s) });
    t.is(code, 1, err.join(""));
  } finally {
    hs.server.close();
  }
  t.regex(err.join(""), /session\.json cannot be read/);
  t.deepEqual(
    hs.requests.filter((r) => r.includes("/login")),
    [],
    "no login was attempted",
  );
});

// ---- 16: another device's crypto store is kept -------------------------------------------------------------

function snapshotOf(userId: string, deviceId: string, value: string): CryptoSnapshotFile {
  return {
    format: "chatrixcd-crypto-snapshot",
    version: 1,
    userId,
    deviceId,
    generation: `gen-${deviceId}-${value}`,
    savedAt: new Date().toISOString(),
    dbs: [
      {
        name: "matrix-sdk-crypto",
        version: 1,
        stores: [{ name: "core", keyPath: null, autoIncrement: false, indexes: [], keys: ["k"], values: [value] }],
      },
    ],
  };
}

function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => {
    lines.push(`${level} ${m}`);
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A BotCrypto for device `deviceId` with a new (empty) crypto store, over a stand-in client; its databases hold one record. */
async function newDeviceCrypto(storeDir: string, userId: string, deviceId: string) {
  const log = recordingLog();
  const client = {
    initRustCrypto: async () => undefined,
    getCrypto: () => ({ getOwnDeviceKeys: async () => ({ ed25519: "ed", curve25519: "cu" }) }),
    on: () => undefined,
  };
  const ops = { store: { setCrypto: () => undefined } };
  const crypto = new BotCrypto({ client: client as never, ops: ops as never, log, storeDir, storageKey: "", userId, deviceId });
  await crypto.init(undefined);
  await restoreCryptoSnapshot(snapshotOf(userId, deviceId, "new keys"), crypto.prefix);
  return { crypto, log };
}

const backups = (dir: string) => readdirSync(dir).filter((f) => f !== CRYPTO_FILE && f.startsWith("crypto-store."));

for (const [what, owner] of [
  ["another device", ["@bot:hs", "OLDDEVICE"]],
  ["another user", ["@other:hs", "NEWDEVICE"]],
] as const) {
  test(`a new device's first save keeps the crypto store of ${what} as a dated backup and warns`, async (t) => {
    const dir = tempDir("crypto");
    const file = join(dir, CRYPTO_FILE);
    const old = snapshotOf(owner[0], owner[1], "old keys");
    await writeCryptoSnapshot(file, old);
    const { crypto, log } = await newDeviceCrypto(dir, "@bot:hs", "NEWDEVICE");
    try {
      await crypto.save();
      t.is((await readCryptoSnapshot(file))!.deviceId, "NEWDEVICE", "the new device's store is saved");
      const kept = backups(dir);
      t.is(kept.length, 1, `one backup: ${kept.join(", ")}`);
      t.regex(kept[0]!, new RegExp(`^crypto-store\\.${owner[1]}\\.\\d{4}-\\d\\d-\\d\\dT[\\d-]+(\\.\\d+)?Z\\.bin$`));
      const backup = await readCryptoSnapshot(join(dir, kept[0]!));
      t.is(backup!.generation, old.generation, "the backup is the old store, unchanged");
      t.true(
        log.lines.some((l) => l.startsWith("warn ") && l.includes(owner[1]) && l.includes(kept[0]!)),
        log.lines.join("\n"),
      );
      await crypto.save();
      t.is(backups(dir).length, 1, "later saves make no more backups");
    } finally {
      await crypto.close();
    }
  });
}

test("a crypto store that cannot be identified is kept as a backup too; the device's own store is simply replaced", async (t) => {
  const dir = tempDir("crypto");
  const file = join(dir, CRYPTO_FILE);
  writeFileSync(file, "not a snapshot");
  const { crypto, log } = await newDeviceCrypto(dir, "@bot:hs", "NEWDEVICE");
  try {
    await crypto.save();
    const kept = backups(dir);
    t.is(kept.length, 1, log.lines.join("\n"));
    t.is(readFileSync(join(dir, kept[0]!), "utf8"), "not a snapshot");
  } finally {
    await crypto.close();
  }
  const again = await newDeviceCrypto(dir, "@bot:hs", "NEWDEVICE");
  try {
    await again.crypto.save();
    t.is(backups(dir).length, 1, "the device's own store is not backed up");
  } finally {
    await again.crypto.close();
  }
});

// ---- 17: one atomic write --------------------------------------------------------------------------------

const temps = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".tmp"));

test("a write whose rename fails leaves no temp file (async and sync)", async (t) => {
  const dir = tempDir("atomic");
  const target = join(dir, "state.json");
  mkdirSync(target);
  writeFileSync(join(target, "inside"), "x"); // a non-empty directory in the way: rename fails
  await t.throwsAsync(writeFileAtomic(target, "new"));
  t.throws(() => writeFileAtomicSync(target, "new"));
  t.deepEqual(temps(dir), []);
});

/** The node file-system calls, recorded (op and the file or directory it touched), with one op made to fail. */
function spyFs(failOn?: keyof FsCalls) {
  const log: string[] = [];
  const fdPath = new Map<number, string>();
  const where = (op: string, args: unknown[]) => (typeof args[0] === "number" ? fdPath.get(args[0]) : String(args[0]));
  const note = (op: string, args: unknown[], result?: unknown) => {
    if (op === "open") fdPath.set(result as number, String(args[0]));
    log.push(`${op} ${where(op, args)}`);
  };
  const enospc = () => Object.assign(new Error("ENOSPC: no space left on device (injected)"), { code: "ENOSPC" });
  const sync = Object.fromEntries(
    Object.entries(syncFs).map(([op, f]) => [
      op,
      (...args: unknown[]) => {
        if (op === failOn) {
          note(op, args);
          throw enospc();
        }
        const r = (f as (...a: unknown[]) => unknown)(...args);
        note(op, args, r);
        return r;
      },
    ]),
  ) as unknown as FsCalls;
  const async = Object.fromEntries(
    Object.entries(asyncFs).map(([op, f]) => [
      op,
      async (...args: unknown[]) => {
        if (op === failOn) {
          note(op, args);
          throw enospc();
        }
        const r = await (f as (...a: unknown[]) => Promise<unknown>)(...args);
        note(op, args, r);
        return r;
      },
    ]),
  ) as unknown as AsyncFsCalls;
  return { log, sync, async };
}

const forms = {
  async: (path: string, data: string, fs: ReturnType<typeof spyFs>) => writeFileAtomic(path, data, 0o600, fs.async),
  sync: async (path: string, data: string, fs: ReturnType<typeof spyFs>) => writeFileAtomicSync(path, data, 0o600, fs.sync),
};

for (const [form, write] of Object.entries(forms)) {
  test(`${form} atomic write: the temp file is fsynced before the rename, the directory after it`, async (t) => {
    const dir = tempDir("atomic");
    const target = join(dir, "state.json");
    const fs = spyFs();
    await write(target, "content", fs);
    t.is(readFileSync(target, "utf8"), "content");
    const steps = fs.log.map((l) => l.replace(/state\.json\.\d+\.[0-9a-f]+\.tmp/, "TMP").replace(dir, "DIR"));
    const at = (step: string) => {
      const i = steps.indexOf(step);
      t.not(i, -1, `${step} in ${steps.join(", ")}`);
      return i;
    };
    t.true(at("fsync DIR/TMP") < at("close DIR/TMP") && at("close DIR/TMP") < steps.findIndex((s) => s.startsWith("rename DIR/TMP")), steps.join(", "));
    t.true(steps.findIndex((s) => s.startsWith("rename DIR/TMP")) < at("fsync DIR"), steps.join(", "));
    t.deepEqual(temps(dir), []);
  });

  for (const failOn of ["write", "fsync", "rename"] as const) {
    test(`${form} atomic write: a failing ${failOn} leaves no temp file and the old content in place`, async (t) => {
      const dir = tempDir("atomic");
      const target = join(dir, "state.json");
      writeFileSync(target, "old");
      const e = await t.throwsAsync(write(target, "new", spyFs(failOn)));
      t.is((e as NodeJS.ErrnoException).code, "ENOSPC", "the write's own error is reported");
      t.deepEqual(temps(dir), []);
      t.is(readFileSync(target, "utf8"), "old");
    });
  }
}

test("renameDurable moves the file and fsyncs the directory", async (t) => {
  const dir = tempDir("atomic");
  writeFileSync(join(dir, "a"), "x");
  const fs = spyFs();
  await renameDurable(join(dir, "a"), join(dir, "b"), fs.async);
  t.is(readFileSync(join(dir, "b"), "utf8"), "x");
  t.deepEqual(fs.log, [`rename ${join(dir, "a")}`, `open ${dir}`, `fsync ${dir}`, `close ${dir}`]);
});
