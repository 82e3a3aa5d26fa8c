// The console's end-to-end encryption views, in-process with fake terminal streams: the verification dialog (emoji,
// names, numbers, keys, buttons, auto-close, later/reopen, who may answer), the trust column and encryption info in
// the Rooms panel, starting a verification from the Rooms panel and the : bar, and the SSO login prompt.
import test from "ava";
import { harness, fakeApp, click, KEY, sleep, type Harness, type FakeApp } from "./console-helpers.js";
import { VerificationDialog, emojiGrid } from "../screens/dialogs/verify-dialog.js";
import { KEYMAP } from "../screens/keymap.js";
import type { VerificationState } from "../src/core/store.js";
import type { ChatPort, DeviceTrust, VerificationPort } from "../src/core/operations.js";
import { width } from "../screens/text.js";

const screenRows = (h: { rows(): string[] }) => h.rows().map((r) => r.replace(/\x03/g, ""));
const screenText = (h: Harness) => screenRows(h).join("\n");

const EMOJI: Array<[string, string]> = [
  ["🐶", "Dog"],
  ["☁️", "Cloud"],
  ["🔒", "Lock"],
  ["⏰", "Clock"],
  ["💡", "Light Bulb"],
  ["❤️", "Heart"],
  ["🚀", "Rocket"],
];
const DECIMALS: [number, number, number] = [1234, 5678, 9012];

/** A verification port over the store, as the Matrix bot's VerificationManager would drive it. */
function fakeVerification(app: FakeApp, devices: DeviceTrust[] = []) {
  const calls: string[] = [];
  let next = 1;
  const port: VerificationPort = {
    devices: async (users) => {
      calls.push(`devices ${users.join(",")}`);
      return devices;
    },
    async start(actor, userId, deviceId) {
      calls.push(`start ${userId} ${deviceId}`);
      const v: VerificationState = {
        id: `v${next++}`,
        otherUserId: userId,
        otherDeviceId: deviceId,
        origin: actor.kind === "chat" ? "chat" : "console",
        owner: actor.kind === "chat" ? actor.userId : undefined,
        phase: "requested",
        createdAt: Date.now(),
        updatedAt: Date.now(),
      };
      app.store.upsertVerification(v);
      return v;
    },
    get: (id) => app.store.verifications.get(id),
    async confirm(id, match) {
      calls.push(`confirm ${id} ${match}`);
      const v = app.store.verifications.get(id)!;
      app.store.upsertVerification({
        ...v,
        phase: match ? "confirmed" : "mismatch",
        detail: match ? undefined : "the emoji did not match",
        updatedAt: Date.now(),
      });
    },
    async cancel(id) {
      calls.push(`cancel ${id}`);
    },
  };
  const chat: ChatPort = {
    say: async () => undefined,
    join: async (r) => r,
    leave: async () => undefined,
    aliasesOf: () => [],
    verification: port,
    members: () => ["@alice:x", "@bot:x"],
  };
  app.ops.chat = chat;
  app.store.setConnection({ matrix: "syncing" });
  const sas = (patch: Partial<VerificationState> = {}): VerificationState => {
    const v: VerificationState = {
      id: "v1",
      otherUserId: "@alice:x",
      otherDeviceId: "ALICEPHONE",
      origin: "incoming",
      phase: "sas",
      emoji: EMOJI,
      decimals: DECIMALS,
      createdAt: Date.now(),
      updatedAt: Date.now(),
      ...patch,
    };
    app.store.upsertVerification(v);
    return v;
  };
  const set = (id: string, patch: Partial<VerificationState>) =>
    app.store.upsertVerification({ ...app.store.verifications.get(id)!, ...patch, updatedAt: Date.now() });
  return { calls, port, sas, set };
}

/** The text inside a box, row by row, without what is beside it on the screen. */
function boxText(h: Harness, box: unknown): string {
  const p = (box as { lpos: { xi: number; xl: number; yi: number; yl: number } }).lpos;
  return screenRows(h)
    .slice(p.yi, p.yl)
    .map((r) => [...r].slice(p.xi, p.xl).join(""))
    .join("\n");
}

const dialogOpen = (h: Harness) => () => /Verify a device · v\d/.test(screenText(h));
const dialogClosed = (h: Harness) => () => !/Verify a device · v\d/.test(screenText(h));
/** Past the dialog's guard against keys typed before it appeared. */
const armed = () => sleep(VerificationDialog.ARM_MS + 50);

test.serial("an incoming verification pops up with user, device, the 7 emoji with names and the numbers; y confirms; it closes when done", async (t) => {
  const h = await harness();
  try {
    const f = fakeVerification(h.app);
    f.sas({ phase: "requested", emoji: undefined, decimals: undefined });
    await h.until(() => /asks to verify the bot \(v1\)/.test(h.con.bar.currentMessage ?? ""));
    t.false(dialogOpen(h)(), "nothing to compare before the emoji exist");
    f.set("v1", { phase: "sas", emoji: EMOJI, decimals: DECIMALS });
    await h.until(dialogOpen(h));
    const text = screenText(h);
    t.regex(text, /@alice:x · device ALICEPHONE/);
    t.regex(text, /The other device asked to verify the bot \(v1\)/);
    // Emoji in one row (VS16 dropped: ☁ and ❤ are one cell everywhere), names under them, in order.
    t.regex(text, /🐶\s+☁\s+🔒\s+⏰\s+💡\s+❤\s+🚀/);
    t.regex(text, /Dog\s+Cloud\s+Lock\s+Clock\s+Light Bulb\s+Heart\s+Rocket/);
    t.regex(text, /Or the numbers: 1234 {2}5678 {2}9012/);
    t.regex(text, /\[ They match \] {3}\[ They don't match \] {3}\[ Later \]/);
    // The hint bar shows the dialog's bindings from the keymap table.
    t.regex(screenRows(h)[47]!, /y match\s+n mismatch\s+Esc later/);
    // Each emoji sits over its name (the same centre), and the dialog's borders stay straight.
    const rows = screenRows(h);
    const ey = rows.findIndex((r) => r.includes("🐶"));
    const cells = (h.con.screen as unknown as { lines: Array<Array<[number, string]>> }).lines;
    const col = (y: number, s: string) => {
      let x = 0;
      for (const c of cells[y]!) {
        if (c[1] === s) return x;
        x++;
      }
      return -1;
    };
    // (centres: the emoji's two cells, the name's six)
    t.is(col(ey, "🚀") + 1, rows[ey + 1]!.indexOf("Rocket") + 3, "🚀 centred over Rocket");
    t.is(col(ey, "🐶") + 1, rows[ey + 1]!.indexOf("Dog") + 1, "🐶 centred over Dog");
    const box = h.con.verification.dialog!.box as unknown as { lpos: { xi: number; xl: number; yi: number; yl: number } };
    for (let y = box.lpos.yi + 1; y < box.lpos.yl - 1; y++) t.is(cells[y]![box.lpos.xl - 1]![1], "│", `right border at row ${y}`);

    // Keys typed as it appears are ignored (they were meant for something else).
    await h.keys("y");
    t.deepEqual(f.calls, []);
    await armed();
    await h.keys("y");
    await h.until(() => f.calls.includes("confirm v1 true"));
    await h.until(/You confirmed\. Waiting for the other device/);
    t.regex(screenText(h), /\[ Close \]/, "nothing more to answer");
    f.set("v1", { phase: "done" });
    await h.until(dialogClosed(h));
    t.regex(h.con.bar.currentMessage ?? "", /✔ Verification v1: @alice:x ALICEPHONE is verified\./);
    t.true(
      h.app.logger.ring.toArray().some((e) => e.source === "console" && /Verification v1: @alice:x ALICEPHONE is verified/.test(e.message)),
      "and in the log",
    );
    t.is(h.con.keymap.resolve("y"), undefined, "y does nothing on the panels");
  } finally {
    h.destroy();
  }
});

test.serial("n reports a mismatch; Esc leaves it pending and V shows it again; the buttons are clickable", async (t) => {
  const h = await harness();
  try {
    const f = fakeVerification(h.app);
    f.sas();
    await h.until(dialogOpen(h));
    await h.keys(KEY.esc);
    await h.until(dialogClosed(h));
    t.is(h.app.store.verifications.get("v1")!.phase, "sas", "Esc answers nothing");
    t.regex(h.con.bar.currentMessage ?? "", /stays pending: V shows its emoji again/);
    // Changes of a put-off verification do not pop it up again.
    f.set("v1", { detail: "still comparing" });
    await h.settle(30);
    t.false(dialogOpen(h)());
    await h.keys("V");
    await h.until(dialogOpen(h));
    // Enter presses the chosen button, which starts on Later.
    await armed();
    await h.keys(KEY.enter);
    await h.until(dialogClosed(h));
    t.deepEqual(f.calls, []);
    await h.keys("V");
    await h.until(dialogOpen(h));
    await armed();
    // A click on "They don't match".
    const rows = screenRows(h);
    const y = rows.findIndex((r) => r.includes("[ They don't match ]"));
    const x = rows[y]!.indexOf("[ They don't match ]");
    h.io.input.write(click(x + 3, y));
    await h.until(() => f.calls.includes("confirm v1 false"));
    await h.until(dialogClosed(h));
    t.regex(
      h.con.bar.currentMessage ?? "",
      /✖ Verification v1 with @alice:x ALICEPHONE: the emoji did not match \(the emoji did not match\); nothing is trusted/,
    );
    await h.keys("V");
    t.regex(h.con.bar.currentMessage ?? "", /No verification is waiting for the console/);
  } finally {
    h.destroy();
  }
});

test.serial("Tab moves between the buttons; n on the panels is not a mismatch; keys are in the table once", async (t) => {
  const h = await harness();
  try {
    const f = fakeVerification(h.app);
    f.sas();
    await h.until(dialogOpen(h));
    await armed();
    await h.keys(KEY.tab); // Later → They match
    t.is(h.con.verification.dialog!.chosen, "match");
    await h.keys(KEY.right);
    t.is(h.con.verification.dialog!.chosen, "mismatch");
    await h.keys(KEY.left, KEY.left);
    t.is(h.con.verification.dialog!.chosen, "later");
    await h.keys(KEY.shiftTab);
    t.is(h.con.verification.dialog!.chosen, "mismatch");
    // Panel keys do nothing while it is open.
    await h.keys("1", "q");
    t.is(h.con.focus, "tasks");
    t.false(h.con.destroyed);
    await h.keys(KEY.enter);
    await h.until(() => f.calls.includes("confirm v1 false"));
    await h.until(dialogClosed(h));
    // The help lists the dialog's keys.
    const theme = { text: { key: "", heading: "", warn: "", dim: "" }, name: "mono" } as never;
    const help = h.con.keymap.helpLines(theme, 120, []).join("\n");
    t.regex(help, /Verification dialog/);
    t.regex(help, /y +They match: confirm/);
    t.regex(help, /V +Show the emoji of a verification/);
    const verifyKeys = KEYMAP.filter((b) => b.scope === "verify").flatMap((b) => b.keys);
    t.deepEqual(verifyKeys.sort(), ["S-tab", "enter", "escape", "left", "n", "right", "tab", "y"]);
  } finally {
    h.destroy();
  }
});

test.serial("the dialog closes itself when the verification ends elsewhere, and says how", async (t) => {
  const h = await harness();
  try {
    const f = fakeVerification(h.app);
    f.sas();
    await h.until(dialogOpen(h));
    f.set("v1", { phase: "cancelled", detail: "m.timeout by @alice:x" });
    await h.until(dialogClosed(h));
    t.regex(h.con.bar.currentMessage ?? "", /Verification v1 with @alice:x ALICEPHONE ended: cancelled \(m\.timeout by @alice:x\); nothing is trusted/);
    // The other side reports a mismatch.
    f.sas({ id: "v2" });
    await h.until(/Verify a device · v2/);
    f.set("v2", { phase: "mismatch", detail: "m.mismatched_sas by @alice:x" });
    await h.until(dialogClosed(h));
    t.regex(h.con.bar.currentMessage ?? "", /✖ Verification v2 .*did not match \(m\.mismatched_sas by @alice:x\)/);
    // A put-off one that ends is announced too, and forgotten.
    f.sas({ id: "v3" });
    await h.until(/Verify a device · v3/);
    await h.keys(KEY.esc);
    await h.until(dialogClosed(h));
    f.set("v3", { phase: "done" });
    await h.until(() => /✔ Verification v3/.test(h.con.bar.currentMessage ?? ""));
    t.deepEqual(f.calls, []);
  } finally {
    h.destroy();
  }
});

test.serial("one dialog at a time; it never opens under another dialog or the command bar, but after them", async (t) => {
  const h = await harness();
  try {
    const f = fakeVerification(h.app);
    await h.keys("?");
    await h.until(/Help: keys/);
    f.sas();
    await h.until(() => /v1 with @alice:x: its emoji show when this closes/.test(h.con.bar.currentMessage ?? ""));
    t.false(dialogOpen(h)());
    await h.keys(KEY.esc);
    await h.until(dialogOpen(h));
    // A second one waits for the first.
    f.sas({ id: "v2", otherDeviceId: "ALICELAPTOP" });
    await h.settle(30);
    t.regex(screenText(h), /Verify a device · v1/);
    await h.keys(KEY.esc);
    await h.until(/Verify a device · v2/);
    t.regex(screenText(h), /ALICELAPTOP/);
    await h.keys(KEY.esc);
    await h.until(dialogClosed(h));
    // V goes through the waiting ones in turn.
    await h.keys("V");
    await h.until(/Verify a device · v1/);
    await h.keys(KEY.esc, "V");
    await h.until(/Verify a device · v2/);
    await h.keys(KEY.esc);
    // Typing in the command bar: the emoji wait until it closes.
    await h.keys(":", "p", "i");
    f.sas({ id: "v4" });
    await h.settle(30);
    t.false(dialogOpen(h)());
    await h.keys(KEY.esc);
    await h.until(/Verify a device · v4/);
  } finally {
    h.destroy();
  }
});

test.serial("chat-started verifications are the admin's: no dialog, and the console may not answer them", async (t) => {
  const h = await harness();
  try {
    const f = fakeVerification(h.app);
    f.sas({ origin: "chat", owner: "@admin:x", roomId: "!r:x" });
    await h.settle(50);
    t.false(dialogOpen(h)());
    await h.keys("V");
    t.regex(h.con.bar.currentMessage ?? "", /v1 sas \(answered in chat\)/);
    await t.throwsAsync(h.app.ops.confirmVerification({ kind: "console" }, "v1", true), { message: /Only @admin:x, who started it/ });
  } finally {
    h.destroy();
  }
});

test.serial("read-only: no dialog pops up; V shows the emoji without answers", async (t) => {
  const app = fakeApp({ readOnly: true });
  const h = await harness({ app });
  try {
    const f = fakeVerification(app);
    f.sas();
    await h.until(() => /waits for its emoji comparison \(read-only here; V shows it\)/.test(h.con.bar.currentMessage ?? ""));
    t.false(dialogOpen(h)());
    await h.keys("V");
    await h.until(dialogOpen(h));
    t.regex(screenText(h), /🐶/);
    t.regex(screenText(h), /Read-only console/);
    t.regex(screenText(h), /\[ Close \]/);
    t.notRegex(screenText(h), /They match/);
    await armed();
    await h.keys("y", "n");
    t.deepEqual(f.calls, []);
    await h.keys(KEY.enter);
    await h.until(dialogClosed(h));
  } finally {
    h.destroy();
  }
});

test.serial("80x24: the emoji wrap into two rows and everything fits", async (t) => {
  const h = await harness({ cols: 80, rows: 24 });
  try {
    const f = fakeVerification(h.app);
    f.sas();
    await h.until(dialogOpen(h));
    const text = screenText(h);
    t.regex(text, /🐶\s+☁\s+🔒\s+⏰/);
    t.regex(text, /Dog\s+Cloud\s+Lock\s+Clock/);
    t.regex(text, /💡\s+❤\s+🚀/);
    t.regex(text, /Light Bulb\s+Heart\s+Rocket/);
    t.regex(text, /1234 {2}5678 {2}9012/);
    t.regex(text, /\[ They match \]/);
    t.regex(text, /\[ Later \]/);
    // The layout itself: one row when it fits, four per row when not, each name in its column.
    t.is(emojiGrid(EMOJI, 77).length, 1);
    const two = emojiGrid(EMOJI, 74);
    t.is(two.length, 2);
    for (const r of two) t.true(width(r.names) <= 74 && width(r.symbols) <= 74);
    t.is(emojiGrid(EMOJI, 20).length, 7);
  } finally {
    h.destroy();
  }
});

test.serial("Rooms panel: a lock with verified/devices for encrypted rooms, and the bot's encryption above the list; the header says E2E", async (t) => {
  const h = await harness();
  try {
    const app = h.app;
    await h.keys("1");
    app.store.setConnection({ matrix: "starting" });
    await h.until(/E2E starting…/);
    app.store.setConnection({ matrix: "syncing" });
    app.store.setCrypto({ enabled: true, deviceId: "BOTDEVICE1", ed25519: "abc", crossSigning: false });
    app.store.upsertRoom({ roomId: "!enc:x", name: "ops secret", encrypted: true, members: 3, lastActivity: Date.now(), trust: { devices: 3, verified: 1 } });
    app.store.upsertRoom({
      roomId: "!all:x",
      name: "all verified",
      encrypted: true,
      members: 2,
      lastActivity: Date.now() - 1000,
      trust: { devices: 2, verified: 2 },
    });
    app.store.upsertRoom({ roomId: "!new:x", name: "fresh room", encrypted: true, members: 2, lastActivity: Date.now() - 2000 });
    app.store.upsertRoom({ roomId: "!open:x", name: "open room", encrypted: false, members: 5, lastActivity: Date.now() - 3000 });
    await h.until(/open room/);
    let text = screenText(h);
    t.regex(text, /ops secret\s+🔒 1\/3\s+3/);
    t.regex(text, /all verified\s+🔒 2\/2\s+2/);
    t.regex(text, /fresh room\s+🔒\s+2/);
    t.regex(text, /open room\s+no\s+5/);
    t.regex(text, /E2E on · device BOTDEVICE1 · cross-signing off/);
    t.notRegex(text, /undecryptable/, "no count while nothing failed");
    t.regex(screenRows(h)[0]!, /Matrix ● syncing │ E2E on │ Semaphore/);
    app.store.setCrypto({ crossSigning: true, undecryptable: 3, waitingForKeys: 1 });
    await h.until(/3 undecryptable \(1 waiting for keys\)/);
    text = screenText(h);
    t.regex(text, /cross-signing on/);
    t.regex(screenRows(h)[0]!, /E2E on · 3 undecryptable/);
    // Colour: all verified is green, partly verified is not.
    const rows = screenRows(h);
    const cells = (h.con.screen as unknown as { lines: Array<Array<[number, string]>> }).lines;
    const fgAt = (re: RegExp) => {
      const y = rows.findIndex((r) => re.test(r));
      const x = [...cells[y]!].findIndex((c) => c[1] === "🔒");
      return (cells[y]![x]![0] >> 9) & 0x1ff;
    };
    t.not(fgAt(/all verified/), fgAt(/ops secret/));
    // Borders stay straight with the lock emoji.
    const box = h.con.rooms.box as unknown as { lpos: { xi: number; xl: number; yi: number; yl: number } };
    for (let y = box.lpos.yi + 1; y < box.lpos.yl - 1; y++) t.is(cells[y]![box.lpos.xl - 1]![1], "│", `right border at row ${y}`);
    // A click on a room row still selects that room (the info line is above the list).
    const y = rows.findIndex((r) => /fresh room/.test(r));
    h.io.input.write(click(box.lpos.xi + 3, y));
    await h.until(() => h.con.rooms.selected?.roomId === "!new:x");
    // Details.
    h.con.rooms.list.selectKey("!enc:x");
    await h.keys(KEY.enter);
    await h.until(/the bot verified 1 of 3 member devices/);
    await h.keys(KEY.esc);
    // Encryption off.
    app.store.setCrypto({ enabled: false, detail: "[matrix] encryption = false", deviceId: undefined });
    await h.until(/E2E off: \[matrix\] encryption = false/);
    t.regex(screenRows(h)[0]!, /E2E off/);
  } finally {
    h.destroy();
  }
});

test.serial("Rooms v: choose an unverified device of the room's members; its emoji pop up; confirmed at the console", async (t) => {
  const h = await harness();
  try {
    const f = fakeVerification(h.app, [
      { userId: "@alice:x", deviceId: "ALICEPHONE", displayName: "Alice's phone", verified: false },
      { userId: "@alice:x", deviceId: "ALICEOLD", verified: true },
      { userId: "@bob:x", deviceId: "BOBLAPTOP", verified: false },
    ]);
    h.app.store.upsertRoom({ roomId: "!enc:x", name: "ops secret", encrypted: true, members: 3, lastActivity: Date.now(), trust: { devices: 3, verified: 1 } });
    await h.keys("1");
    await h.until(/ops secret/);
    t.regex(screenRows(h)[47]!, /v verify/);
    await h.keys("v");
    await h.until(/Verify a device in ops secret/);
    t.true(f.calls.includes("devices @alice:x,@bot:x"), "the room's members");
    const text = screenText(h);
    t.regex(text, /1 of 3 devices are verified/);
    t.regex(text, /@alice:x {2}ALICEPHONE {2}\(Alice's phone\)/);
    t.regex(text, /@bob:x {2}BOBLAPTOP/);
    t.notRegex(text, /ALICEOLD/, "verified devices are not offered");
    await h.keys("j", KEY.enter);
    await h.until(() => f.calls.includes("start @bob:x BOBLAPTOP"));
    await h.until(() => /Verification v1 requested with @bob:x BOBLAPTOP/.test(h.con.bar.currentMessage ?? ""));
    t.is(h.app.store.verifications.get("v1")!.origin, "console");
    f.set("v1", { phase: "sas", emoji: EMOJI, decimals: DECIMALS });
    await h.until(dialogOpen(h));
    t.regex(screenText(h), /Started at the console \(v1\)/);
    await armed();
    await h.keys("y");
    await h.until(() => f.calls.includes("confirm v1 true"));
    // Read-only hides the key.
  } finally {
    h.destroy();
  }
});

test.serial(":verify start from the command bar is a console verification: its emoji pop up and are answered here", async (t) => {
  const h = await harness();
  try {
    const f = fakeVerification(h.app);
    await h.keys(":", ..."verify start @carol:x CAROLDEV", KEY.enter);
    await h.until(() => f.calls.includes("start @carol:x CAROLDEV"));
    await h.until(() => /Verification v1 requested with @carol:x CAROLDEV/.test(h.con.bar.currentMessage ?? ""));
    f.set("v1", { phase: "ready" });
    f.set("v1", { phase: "sas", emoji: EMOJI, decimals: DECIMALS });
    await h.until(dialogOpen(h));
    t.regex(screenText(h), /@carol:x · device CAROLDEV/);
    await armed();
    await h.keys("n");
    await h.until(() => f.calls.includes("confirm v1 false"));
    await h.until(dialogClosed(h));
    t.regex(h.con.bar.currentMessage ?? "", /did not match/);
    // The command bar can answer too (the same operation and rule).
    f.sas({ id: "v2" });
    await h.until(/Verify a device · v2/);
    await h.keys(KEY.esc, ":", ..."verify confirm v2", KEY.enter);
    await h.until(() => f.calls.includes("confirm v2 true"));
  } finally {
    h.destroy();
  }
});

test.serial(
  "SSO login: the prompt shows the URL, a wrong paste asks again, the right one goes to the engine; Esc hides it, :login shows it again",
  async (t) => {
    const h = await harness();
    try {
      const app = h.app;
      const answers: string[] = [];
      // As App.loginPrompter does it.
      const ask = () => {
        app.ops.loginPromptHandler = (text) => {
          app.ops.loginPromptHandler = undefined;
          app.store.setLoginPrompt(undefined);
          answers.push(text);
        };
        app.store.setLoginPrompt({
          message: "SSO login: open this URL in a browser and sign in as @bot:x; paste the login token here.",
          url: "https://hs.example/_matrix/client/v3/login/sso/redirect?redirectUrl=http%3A%2F%2F127.0.0.1%2Fchatrixcd-sso-done",
          since: Date.now(),
        });
      };
      ask();
      await h.until(/Matrix login \(SSO\)/);
      let text = screenText(h);
      t.regex(text, /open this URL in a browser and sign in as @bot:x/);
      t.regex(
        boxText(h, h.con.login.dialog!.box).replace(/[│\s]+/g, ""),
        /https:\/\/hs\.example\/_matrix\/client\/v3\/login\/sso\/redirect\?redirectUrl=http%3A%2F%2F127\.0\.0\.1%2Fchatrixcd-sso-done/,
        "the whole URL is shown",
      );
      await h.keys(..."not a token!", KEY.enter);
      await h.until(/That is not a login token or a URL with loginToken=…: paste it again/);
      t.deepEqual(answers, []);
      t.notRegex(screenText(h), /not a token!/, "what is typed is hidden");
      await h.keys("\x15", "http://127.0.0.1/chatrixcd-sso-done?loginToken=syt_abc123", KEY.enter);
      await h.until(() => answers.length === 1);
      t.deepEqual(answers, ["http://127.0.0.1/chatrixcd-sso-done?loginToken=syt_abc123"]);
      await h.until(() => !/Matrix login \(SSO\)/.test(screenText(h)));
      t.regex(h.con.bar.currentMessage ?? "", /Login token sent/);
      // The engine did not take it and asks again: the prompt says so.
      ask();
      await h.until(/That was not accepted: paste the login token/);
      // Esc hides it; the login still waits; :login shows it again.
      await h.keys(KEY.esc);
      await h.until(() => !/Matrix login \(SSO\)/.test(screenText(h)));
      t.regex(h.con.bar.currentMessage ?? "", /still waits: :login shows the prompt again/);
      await h.keys(":", ..."login", KEY.enter);
      await h.until(/Matrix login \(SSO\)/);
      t.notRegex(screenText(h), /not accepted/, "a fresh prompt");
      // Answered elsewhere (stdin, the callback listener): the dialog closes.
      app.ops.answerLoginPrompt({ kind: "console" }, "syt_fromstdin");
      await h.until(() => !/Matrix login \(SSO\)/.test(screenText(h)));
      t.deepEqual(answers, ["http://127.0.0.1/chatrixcd-sso-done?loginToken=syt_abc123", "syt_fromstdin"]);
      t.falsy(h.con.login.dialog);
      await h.keys(":", ..."login", KEY.enter);
      await h.until(() => /No Matrix login is waiting/.test(h.con.bar.currentMessage ?? ""));
    } finally {
      h.destroy();
    }
  },
);

test.serial("device login: the dialog shows the URL and the code, takes no input, and closes when the login is approved", async (t) => {
  const h = await harness();
  try {
    const app = h.app;
    app.store.setLoginPrompt({
      message: "Matrix login: open the URL and enter the code.",
      url: "https://auth.example/device",
      code: "WDJB-MJHT",
      since: Date.now(),
    });
    await h.until(/Matrix login \(device\)/);
    const text = screenText(h);
    t.regex(text, /Open: https:\/\/auth\.example\/device/);
    t.regex(text, /Code: WDJB-MJHT/);
    t.regex(text, /closes by itself once the login is approved/);
    // Esc hides it while the login waits; :login shows it again.
    await h.keys(KEY.esc);
    await h.until(() => !/Matrix login \(device\)/.test(screenText(h)));
    t.regex(h.con.bar.currentMessage ?? "", /still waits for approval/);
    await h.keys(":", ..."login", KEY.enter);
    await h.until(/Code: WDJB-MJHT/);
    // Approved in the browser: the engine withdraws the prompt and the dialog goes.
    app.store.setLoginPrompt(undefined);
    await h.until(() => !/Matrix login \(device\)/.test(screenText(h)));
    t.falsy(h.con.login.dialog);
  } finally {
    h.destroy();
  }
});

test.serial("a login prompt already waiting when the console starts is shown at once", async (t) => {
  const app = fakeApp();
  app.ops.loginPromptHandler = () => undefined;
  app.store.setLoginPrompt({ message: "SSO login: open this URL.", url: "https://hs.example/sso", since: Date.now() });
  const h = await harness({ app });
  try {
    await h.until(/Matrix login \(SSO\)/);
    t.regex(screenText(h), /https:\/\/hs\.example\/sso/);
  } finally {
    h.destroy();
  }
});
