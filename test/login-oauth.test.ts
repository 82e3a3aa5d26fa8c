// login_method = oauth_device (OAuth 2.0 device authorization grant, RFC 8628) against a real Synapse that delegates
// authentication to an OAuth server (matrix_authentication_service), played by test/helpers-oauth/provider.ts:
// headless login end to end, access-token expiry and renewal while running and across a restart, a revoked session
// on restart, denial, and the clear errors when the homeserver or its OAuth server does not offer the grant.
import test from "ava";
import { spawn } from "node:child_process";
import { readFileSync, statSync, existsSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { startSynapse, type SynapseHandle } from "./harness/synapse.js";
import { startTestBot, writeBotConfig, type TestBot } from "./harness/bot.js";
import { RawClient, isReplyTo } from "./harness/cs-client.js";
import { OAuthProvider, DEVICE_GRANT } from "./helpers-oauth/provider.js";

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TOKEN_LIFETIME = 10;

async function waitUntil<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// One Synapse with OAuth delegation and its provider, shared by the tests that need them; started on first use.
let mas: Promise<{ hs: SynapseHandle; provider: OAuthProvider }> | undefined;
function masHomeserver(): Promise<{ hs: SynapseHandle; provider: OAuthProvider }> {
  mas ??= (async () => {
    const secret = randomBytes(16).toString("hex");
    const provider = await new OAuthProvider({ secret, accessTokenLifetime: TOKEN_LIFETIME, interval: 1, deviceCodeLifetime: 90 }).start();
    const hs = await startSynapse({
      extraConfig: {
        matrix_authentication_service: { enabled: true, endpoint: `${provider.url}/`, secret },
        // What Synapse refuses next to OAuth delegation.
        password_config: { enabled: false },
        login_via_existing_session: { enabled: false },
      },
    });
    provider.homeserver = hs.url;
    return { hs, provider };
  })();
  return mas;
}

/** The bot's device-login line: code, user, client name, device id and URL. */
const DEVICE_LOGIN_LINE = new RegExp(
  String.raw`WARN +\[matrix\] Matrix login: open this URL in a browser, check that it shows the code ([A-Z]{4}-[A-Z]{4}), ` +
    String.raw`sign in as (\S+) and approve "([^"]+)" \(device ([A-Z]{10})\)\. The code expires in \d+ min\. (http\S+)`,
);

test.after.always(async () => {
  if (!mas) return;
  const { hs, provider } = await mas.catch(() => ({ hs: undefined, provider: undefined }));
  await hs?.stop();
  await provider?.close();
});

interface Session {
  homeserver: string;
  userId: string;
  deviceId: string;
  accessToken: string;
  oauth?: { clientId: string; refreshToken: string; expiresAt?: number };
}
const readSession = (stateDir: string): Session => JSON.parse(readFileSync(join(stateDir, "matrix", "session.json"), "utf8")) as Session;

/** A chat partner signed in through the OAuth server (a token it issued; the bot must list them), in a room with the bot. */
async function partnerWithBot(hs: SynapseHandle, botUserId: string, a: { accessToken: string; userId: string }): Promise<{ alice: RawClient; roomId: string }> {
  const alice = new RawClient(hs.url, a.accessToken, a.userId);
  const roomId = await alice.createRoom({ invite: [botUserId] });
  await alice.waitForMembership(roomId, botUserId, "join");
  return { alice, roomId };
}

async function ping(alice: RawClient, roomId: string, what: string): Promise<void> {
  const id = await alice.send(roomId, "!cd ping");
  await alice.waitFor(roomId, isReplyTo(id), 20_000, what);
}

function botOptions(hs: SynapseHandle, userId: string, name: string, admins: string[] = [], stateDir?: string) {
  return { homeserver: hs.url, userId, password: "", admins, stateDir, start: false, extra: `[matrix]\nlogin_method = oauth_device\ndevice_name = ${name}\n` };
}

/** The operator: waits for the console's login prompt, opens its URL, and approves (or denies) the code. */
async function answerPrompt(bot: TestBot, provider: OAuthProvider, localpart: string, action: "approve" | "deny" = "approve") {
  const prompt = await waitUntil("the login prompt", () => bot.app.store.loginPrompt);
  const page = await fetch(prompt.url);
  if (page.status !== 200) throw new Error(`verification page: ${page.status}`);
  await page.arrayBuffer();
  const status = await provider.submitVerification(prompt.url, prompt.code!, localpart, action);
  if (status !== 200) throw new Error(`verification: ${status}`);
  return prompt;
}

/** Starts the bot and fails at once if it asks for a new device login (it must reuse its saved session). */
async function startWithoutPrompt(bot: TestBot): Promise<void> {
  let done = false;
  const started = bot.app.start().finally(() => {
    done = true;
  });
  const prompted = waitUntil("the start or a login prompt", () => done || bot.app.store.loginPrompt, 60_000).then((p) => {
    if (typeof p === "object") throw new Error(`the bot asked for a new device login: ${p.message}`);
  });
  await Promise.all([started, prompted]);
}

function checkNoTokensLogged(t: { false: (v: boolean, m?: string) => void }, text: string, provider: OAuthProvider): void {
  const leaked = provider.issued.filter((tok) => text.includes(tok));
  t.false(leaked.length > 0, `tokens in the log: ${leaked.length}`);
}

synapseTest(
  "oauth_device headless: the URL and code are on stdout, the operator approves, the bot answers !cd ping and saves the session (0600) with refresh " +
    "token, client id and expiry",
  async (t) => {
    const { hs, provider } = await masHomeserver();
    const localpart = uniqueLocalpart("bot");
    const botUserId = `@${localpart}:localhost`;
    const name = `ChatrixCD ${localpart}`;
    const a = await provider.issueUserToken(uniqueLocalpart("alice"));
    const { path, stateDir } = writeBotConfig({ ...botOptions(hs, botUserId, name, [a.userId]) });
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CHATRIXCD_")) env[k] = v;
    const child = spawn(process.execPath, [join(ROOT, "dist/screens/main.js"), "--headless", "--demo", "--config", path], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const m = await waitUntil("the device login line on stdout", () => {
        if (child.exitCode !== null) throw new Error(`the bot exited (${child.exitCode}):\n${stdout}${stderr}`);
        return DEVICE_LOGIN_LINE.exec(stdout) ?? undefined;
      });
      const [, code, who, client, deviceId, url] = m;
      t.is(who, botUserId);
      t.is(client, name);
      t.is(new URL(url!).searchParams.get("user_code"), code ?? null, "verification_uri_complete carries the code");
      // What the bot registered: a public native client with exactly the grants it uses.
      const [registered] = provider.clientsNamed(name);
      t.like(registered!.metadata, { application_type: "native", token_endpoint_auth_method: "none", grant_types: [DEVICE_GRANT, "refresh_token"] });
      const page = await fetch(url!);
      t.is(page.status, 200);
      t.regex(await page.text(), new RegExp(`Allow ${name} \\(device ${deviceId}\\)`));
      t.is(await provider.submitVerification(url!, code!, localpart, "approve"), 200);
      await waitUntil(
        "the bot to run",
        () => {
          if (child.exitCode !== null) throw new Error(`the bot exited (${child.exitCode}):\n${stdout}${stderr}`);
          return /running headless/.test(stdout);
        },
        60_000,
      );
      t.regex(stdout, new RegExp(`logged in as ${botUserId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(oauth device\\), device ${deviceId}; session saved`));

      const alice = new RawClient(hs.url, a.accessToken, a.userId);
      const roomId = await alice.createRoom({ invite: [botUserId] });
      await alice.waitForMembership(roomId, botUserId, "join");
      await ping(alice, roomId, "pong");

      const file = join(stateDir, "matrix", "session.json");
      t.is(statSync(file).mode & 0o777, 0o600);
      const s = readSession(stateDir);
      t.is(s.userId, botUserId);
      t.is(s.deviceId, deviceId!);
      t.is(s.oauth?.clientId, registered!.clientId);
      t.truthy(s.oauth?.refreshToken);
      t.true(provider.issued.includes(s.accessToken) && provider.issued.includes(s.oauth!.refreshToken), "the saved tokens are the provider's");
      t.true(s.oauth!.expiresAt! > Date.now() - 60_000 && s.oauth!.expiresAt! <= Date.now() + TOKEN_LIFETIME * 1000, "the expiry is saved");
      const devices = await new RawClient(hs.url, s.accessToken, s.userId).call<{ devices: Array<{ device_id: string; display_name?: string }> }>(
        "GET",
        "/devices",
      );
      t.deepEqual(
        devices.devices.map((d) => [d.device_id, d.display_name]),
        [[deviceId, name]],
      );
    } finally {
      if (child.exitCode === null) child.kill("SIGTERM");
      t.is(await exited, 0, `clean exit:\n${stderr.slice(-2000)}`);
    }
    checkNoTokensLogged(t, stdout + stderr + readFileSync(join(stateDir, "bot.log"), "utf8"), provider);
  },
);

synapseTest(
  "oauth_device: the access token expires and is renewed while running; a restart renews the expired saved token and reuses the device without a new " +
    "device login",
  async (t) => {
    const { hs, provider } = await masHomeserver();
    const localpart = uniqueLocalpart("bot");
    const botUserId = `@${localpart}:localhost`;
    const name = `ChatrixCD ${localpart}`;
    const a = await provider.issueUserToken(uniqueLocalpart("alice"));
    const bot = await startTestBot(botOptions(hs, botUserId, name, [a.userId]));
    let again: TestBot | undefined;
    try {
      const started = bot.app.start();
      const prompt = await answerPrompt(bot, provider, localpart);
      t.regex(prompt.code!, /^[A-Z]{4}-[A-Z]{4}$/, "the console's prompt has the code");
      t.true(prompt.message.includes(prompt.code!));
      t.is(new URL(prompt.url).searchParams.get("user_code"), prompt.code!);
      await started;
      t.is(bot.app.store.loginPrompt, undefined, "the prompt is withdrawn once logged in");
      const deviceId = bot.app.matrix!.client!.getDeviceId()!;
      const alice = new RawClient(hs.url, a.accessToken, a.userId);
      const roomId = await alice.createRoom({ invite: [botUserId] });
      await alice.waitForMembership(roomId, botUserId, "join");
      await ping(alice, roomId, "pong");

      const first = readSession(bot.stateDir);
      await waitUntil("the first access token to expire", () => !provider.isActive(first.accessToken), (TOKEN_LIFETIME + 5) * 1000, 200);
      await ping(alice, roomId, "pong after the first access token expired");
      const renewed = await waitUntil("session.json with a renewed token", () => {
        const s = readSession(bot.stateDir);
        return s.accessToken !== first.accessToken && s;
      });
      t.true(provider.isActive(renewed.accessToken) || renewed.oauth!.expiresAt! <= Date.now(), "the saved token is the one in use");
      t.not(renewed.oauth!.refreshToken, first.oauth!.refreshToken, "the rotated refresh token is saved");
      t.is(renewed.deviceId, deviceId);
      t.is(statSync(join(bot.stateDir, "matrix", "session.json")).mode & 0o777, 0o600);
      await bot.stop();

      const last = readSession(bot.stateDir);
      await waitUntil("the saved access token to expire", () => last.oauth!.expiresAt! < Date.now() - 1000, (TOKEN_LIFETIME + 5) * 1000, 200);
      again = await startTestBot(botOptions(hs, botUserId, name, [a.userId], bot.stateDir));
      await startWithoutPrompt(again);
      t.is(again.app.matrix!.client!.getDeviceId(), deviceId, "same device");
      t.is(provider.clientsNamed(name).length, 1, "no new client registration");
      t.is(provider.deviceRequestsOf(name).length, 1, "no new device code");
      await ping(alice, roomId, "pong after the restart");
      const log = readFileSync(join(bot.stateDir, "bot.log"), "utf8");
      t.regex(log, new RegExp(`the saved access token of device ${deviceId} expired \\d+ s ago; renewed it with the refresh token`));
      t.regex(log, new RegExp(`reusing saved session: device ${deviceId}`));
      checkNoTokensLogged(t, log, provider);
    } finally {
      await again?.stop();
      await bot.stop();
    }
  },
);

/** A bot that logged in through the device grant on a fresh OAuth-delegating Synapse, and its saved session. */
async function loggedInByDeviceGrant() {
  const { hs, provider } = await masHomeserver();
  const localpart = uniqueLocalpart("bot");
  const botUserId = `@${localpart}:localhost`;
  const name = `ChatrixCD ${localpart}`;
  const bot = await startTestBot(botOptions(hs, botUserId, name));
  try {
    const started = bot.app.start();
    await answerPrompt(bot, provider, localpart);
    await started;
  } catch (e) {
    await bot.stop();
    throw e;
  }
  return { hs, provider, localpart, botUserId, name, bot, old: readSession(bot.stateDir) };
}

synapseTest("oauth_device: a saved session whose refresh token was revoked leads, on restart, to a new device login, and the log says why", async (t) => {
  const { hs, provider, localpart, botUserId, name, bot, old } = await loggedInByDeviceGrant();
  let again: TestBot | undefined;
  try {
    await bot.stop();
    t.is(await provider.revokeClientSessions(old.oauth!.clientId), 1, "an admin signs the bot's session out");

    // The partner must be an allowed user (empty lists mean nobody), so they are known before the bot starts.
    const partner = await provider.issueUserToken(uniqueLocalpart("alice"));
    again = await startTestBot(botOptions(hs, botUserId, name, [partner.userId], bot.stateDir));
    const restarted = again.app.start();
    await answerPrompt(again, provider, localpart);
    await restarted;
    const now = readSession(bot.stateDir);
    t.not(now.deviceId, old.deviceId, "a new device");
    t.not(now.oauth!.clientId, old.oauth!.clientId);
    t.is(again.app.matrix!.client!.getDeviceId(), now.deviceId);
    const log = readFileSync(join(bot.stateDir, "bot.log"), "utf8");
    t.regex(
      log,
      new RegExp(
        `the saved OAuth session of device ${old.deviceId} cannot be renewed: the authorization server refused its refresh token \\(invalid_grant: ` +
          `[^)]*\\), so it was revoked or signed out; logging in again with a new device authorization`,
      ),
    );
    const { alice, roomId } = await partnerWithBot(hs, botUserId, partner);
    await ping(alice, roomId, "pong from the new device");
  } finally {
    await again?.stop();
    await bot.stop();
  }
});

synapseTest(
  "oauth_device: without its crypto store the old device's OAuth session is revoked at the authorization server, and a new device is approved",
  async (t) => {
    const { hs, provider, localpart, botUserId, name, bot, old } = await loggedInByDeviceGrant();
    let again: TestBot | undefined;
    try {
      // The device's keys must be on the server for the "no crypto store" rule to apply.
      await waitUntil(
        "the device keys on the server",
        async () => {
          const r = await new RawClient(hs.url, readSession(bot.stateDir).accessToken, botUserId).call<{
            device_keys: Record<string, Record<string, unknown>>;
          }>("POST", "/keys/query", { device_keys: { [botUserId]: [] } });
          return !!r.device_keys[botUserId]?.[old.deviceId];
        },
        20_000,
        200,
      );
      await bot.stop();
      rmSync(join(bot.stateDir, "matrix", "crypto-store.bin"));
      const revocationsBefore = provider.counts.revocations;

      again = await startTestBot(botOptions(hs, botUserId, name, [], bot.stateDir));
      const restarted = again.app.start();
      await answerPrompt(again, provider, localpart);
      await restarted;
      const now = readSession(bot.stateDir);
      t.not(now.deviceId, old.deviceId);
      t.true(provider.counts.revocations > revocationsBefore, "the old tokens were revoked");
      t.false(
        [...provider.sessions.values()].some((s) => s.deviceId === old.deviceId && s.active),
        "the old session is over",
      );
      const devices = await new RawClient(hs.url, now.accessToken, botUserId).call<{ devices: Array<{ device_id: string }> }>("GET", "/devices");
      t.deepEqual(
        devices.devices.map((d) => d.device_id),
        [now.deviceId],
        "the old device is gone from the homeserver",
      );
      const log = readFileSync(join(bot.stateDir, "bot.log"), "utf8");
      t.regex(log, new RegExp(`logged out the old device ${old.deviceId}`));
    } finally {
      await again?.stop();
      await bot.stop();
    }
  },
);

synapseTest("oauth_device on a homeserver without OAuth: a clear error naming the login methods it offers", async (t) => {
  const hs = requireSynapse();
  const botU = await hs.registerUser(uniqueLocalpart("bot"), "correct horse battery staple");
  const err = await t.throwsAsync(startTestBot({ homeserver: hs.url, userId: botU.userId, password: "", extra: "[matrix]\nlogin_method = oauth_device\n" }));
  t.regex(
    err!.message,
    new RegExp(
      String.raw`^The homeserver does not offer OAuth 2\.0 login \(next-gen auth: /_matrix/client/v1/auth_metadata answers M_UNRECOGNIZED\), ` +
        String.raw`which login_method = oauth_device needs; it offers [^;]*m\.login\.password[^;]*: ` +
        String.raw`set \[matrix\] login_method = password or login_token, or give an access_token\.$`,
    ),
  );
});

synapseTest("oauth_device: approval denied in the browser is a clear, non-retryable error", async (t) => {
  const { hs, provider } = await masHomeserver();
  const localpart = uniqueLocalpart("bot");
  const name = `ChatrixCD ${localpart}`;
  const bot = await startTestBot(botOptions(hs, `@${localpart}:localhost`, name));
  try {
    const started = bot.app.start();
    await answerPrompt(bot, provider, localpart, "deny");
    const err = await t.throwsAsync(started);
    t.regex(
      err!.message,
      /^The device login was denied at the authorization server \(access_denied: the user denied the request\)\. Restart to get a new code/,
    );
    t.is(bot.app.store.loginPrompt, undefined, "the prompt is withdrawn");
    t.is(provider.deviceRequestsOf(name).length, 1, "not retried");
    t.false(existsSync(join(bot.stateDir, "matrix", "session.json")));
  } finally {
    await bot.stop();
  }
});

test("oauth_device when the OAuth server does not offer the device grant: a clear error naming the grants it offers", async (t) => {
  const provider = await new OAuthProvider({ secret: "x", deviceGrant: false }).start();
  try {
    const err = await t.throwsAsync(
      startTestBot({ homeserver: provider.url, userId: "@bot:localhost", password: "", extra: "[matrix]\nlogin_method = oauth_device\n" }),
    );
    t.is(
      err!.message,
      `The homeserver's OAuth 2.0 server (${provider.url}/) does not offer the device authorization grant (RFC 8628) that login_method = oauth_device ` +
        `needs; it offers the grants authorization_code, refresh_token. Ask its admin to enable the device code grant, or use another login_method.`,
    );
    t.is(provider.counts.registrations, 0);
  } finally {
    await provider.close();
  }
});

test("oauth_device: a code nobody approves expires with a clear error", async (t) => {
  const provider = await new OAuthProvider({ secret: "x", deviceCodeLifetime: 2, interval: 1 }).start();
  const bot = await startTestBot({
    homeserver: provider.url,
    userId: "@bot:localhost",
    password: "",
    start: false,
    extra: "[matrix]\nlogin_method = oauth_device\n",
  });
  try {
    const err = await t.throwsAsync(bot.app.start());
    t.regex(err!.message, /^The device login code expired before it was approved/);
    const [req] = [...provider.deviceRequests.values()];
    t.true(req!.polls >= 1, "the bot polled");
    t.is(bot.app.store.loginPrompt, undefined);
  } finally {
    await bot.stop();
    await provider.close();
  }
});
