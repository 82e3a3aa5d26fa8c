// End to end: the real program (`chatrixcd --config …`) in a pseudo-terminal, logged in to the real Synapse with
// encryption, and a matrix-js-sdk client with Rust crypto as the other side. The peer asks the bot's device for a
// SAS verification; the emoji are read off the rendered screen and compared with the peer's; the operator presses
// the confirm key, the peer confirms, and both sides end up verified. Then the console starts one itself with
// `:verify start`, and the operator reports a mismatch: nothing is trusted.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { writeBotConfig } from "./harness/bot.js";
import { startSemaphoreServer } from "../src/emulator/index.js";
import { JsPeer, type PeerEvent } from "./helpers-e2ee/js-peer.js";
import { startPty, exitedWithin, dialogRows, type PtySession } from "./helpers-console-e2ee/pty.js";

const PASSWORD = "console e2ee pty";
const COLS = 160;
const ROWS = 48;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const replyTo = (id: string) => (e: PeerEvent) => e.relation?.["m.in_reply_to"]?.event_id === id;
const re = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
/** The console's keys are ignored for a moment after the dialog appears (VerificationDialog.ARM_MS). */
const ARM = 700;

/** What the verification dialog shows, read cell by cell from the terminal. */
function readDialog(s: PtySession, id: string): { emoji: string[]; names: string; text: string } {
  const rows = dialogRows(s, `Verify a device · ${id}`).map((r) => r.join(""));
  const text = rows.join("\n");
  // The emoji row is the one above the names; both come after "Compare with what the other device shows".
  const start = rows.findIndex((r) => /Compare with what the other device shows/.test(r));
  const emojiRow = rows.slice(start + 1).find((r) => r.trim() !== "") ?? "";
  const namesRow = rows[rows.indexOf(emojiRow) + 1] ?? "";
  return { emoji: [...emojiRow].filter((c) => c.trim() !== ""), names: namesRow.trim().replace(/\s+/g, " "), text };
}

const bar = (s: PtySession) => s.row(ROWS - 1);

synapseTest(
  "the console answers a SAS verification: the emoji on screen are the peer's, confirm → both verified; :verify start → mismatch → nothing trusted",
  async (t) => {
    const hs = requireSynapse();
    const [botU, a] = await Promise.all(["bot", "alice"].map((p) => hs.registerUser(uniqueLocalpart(p), PASSWORD)));
    const sem = await startSemaphoreServer({ seed: "demo", schedules: false });
    const { path, stateDir } = writeBotConfig({
      homeserver: hs.url,
      userId: botU!.userId,
      password: PASSWORD,
      admins: [a!.userId],
      semaphore: { url: sem.url, token: sem.adminToken },
    });
    const s = startPty(["--config", path, "--log-level", "info"], { cols: COLS, rows: ROWS });
    let alice: JsPeer | undefined;
    let alice2: JsPeer | undefined;
    const t0 = Date.now();
    try {
      // The bot logs in; the Rooms panel shows its encryption and device.
      await s.until(/Matrix ● syncing/);
      await s.until(/E2E on · device [A-Z0-9]+/);
      const botDevice = /E2E on · device ([A-Z0-9]+)/.exec(s.text())![1]!;
      t.is(botDevice, JSON.parse(readFileSync(join(stateDir, "matrix", "session.json"), "utf8")).deviceId, "the device shown is the bot's");
      t.regex(s.row(0), /Matrix ● syncing │ E2E on │/);

      // Alice shares an encrypted room with the bot (then each side knows the other's device).
      alice = await JsPeer.login(hs.url, a!.userId, PASSWORD);
      const roomId = await alice.createRoom({ invite: [botU!.userId], encrypted: true, name: "e2ee console" });
      await alice.waitForJoin(roomId, botU!.userId);
      const ping = await alice.send(roomId, "!cd ping");
      await alice.waitFor(replyTo(ping), 20_000, "pong");
      await s.until(/e2ee console\s+🔒 0\/1/);

      // 1. Alice asks the bot's device to verify: the dialog pops up with the same emoji.
      const peer = await alice.startSas(botU!.userId, botDevice);
      await s.until(/Verify a device · v1/);
      await s.until(/Or the numbers: \d+ {2}\d+ {2}\d+/);
      const shown = readDialog(s, "v1");
      const theirs = peer.sas.sas.emoji!;
      t.deepEqual(
        shown.emoji,
        theirs.map(([e]) => e.replace(/\uFE0F/g, "")),
        `the emoji on screen: ${shown.emoji.join(" ")}`,
      );
      t.is(shown.names, theirs.map(([, n]) => n).join(" "));
      t.regex(shown.text, re(`Or the numbers: ${peer.sas.sas.decimal!.join("  ")}`));
      t.regex(shown.text, re(`${a!.userId} · device ${alice.deviceId}`));
      t.regex(bar(s), /y match\s+n mismatch\s+Esc later/);
      t.false(await alice.isVerified(botU!.userId, botDevice), "nothing trusted before both confirmed");

      await sleep(ARM);
      s.send("y");
      await s.until(/You confirmed\. Waiting for the other device to confirm too/);
      await peer.sas.confirm();
      await peer.done;
      await s.until(() => /✔ Verification v1: .* is verified\./.test(bar(s)));
      t.notRegex(s.text(), /Verify a device · v1/, "the dialog closed itself");
      t.true(await alice.isVerified(botU!.userId, botDevice), "the peer trusts the bot's device");
      // The bot's side, through ops.verificationDevices (the verify command): alice's device is verified.
      s.send(`:verify list ${a!.userId}\r`);
      await s.until(() => /0 unverified devices, 1 verified\./.test(bar(s)));
      await s.until(/e2ee console\s+🔒 1\/1/);

      // 2. A second device of alice's; the console starts the verification and reports a mismatch.
      alice2 = await JsPeer.login(hs.url, a!.userId, PASSWORD, { deviceName: "second" });
      await s.until(/e2ee console\s+🔒 1\/2/);
      const accepted = alice2.acceptSas();
      s.send(`:verify start ${a!.userId} ${alice2.deviceId}\r`);
      const peer2 = await accepted;
      await s.until(/Verify a device · v2/);
      await s.until(/Or the numbers: \d+/);
      const shown2 = readDialog(s, "v2");
      t.deepEqual(
        shown2.emoji,
        peer2.sas.sas.emoji!.map(([e]) => e.replace(/\uFE0F/g, "")),
      );
      t.regex(shown2.text, /Started at the console \(v2\)/);
      await sleep(ARM);
      s.send("n");
      await t.throwsAsync(peer2.done, undefined, "the peer sees the verification cancelled");
      await s.until(() => /✖ Verification v2 .*did not match.*nothing is trusted/.test(bar(s)));
      t.notRegex(s.text(), /Verify a device · v2/);
      t.false(await alice2.isVerified(botU!.userId, botDevice));
      s.send(`:verify list ${a!.userId}\r`);
      await s.until(/1 unverified device, 1 verified\./);
      t.regex(s.text(), re(`${a!.userId} ${alice2.deviceId}`));
      s.send("\x1b");
      await s.until(() => !/1 unverified device, 1 verified/.test(s.text()));

      // The answers are in the audit log, as the console's.
      const audit = readFileSync(join(stateDir, "audit.jsonl"), "utf8");
      t.regex(audit, /"verify confirm"/);
      t.regex(audit, /"verify mismatch"/);

      // Quit (asks first: Matrix is connected).
      s.send("q");
      await s.until(/Quit ChatrixCD\?/);
      s.send("y");
      t.is((await exitedWithin(s)).exitCode, 0);
      t.log(`flow took ${Date.now() - t0} ms`);
    } finally {
      s.cleanup();
      await Promise.all([alice?.stop(), alice2?.stop()]);
      await sem.stop();
    }
  },
);
