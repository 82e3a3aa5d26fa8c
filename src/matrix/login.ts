import { createClient, MatrixError } from "matrix-js-sdk";
import type { ConfigValues } from "../config/schema.js";
import type { Log } from "../log/logger.js";
import { rm } from "node:fs/promises";
import { loadSession, saveSession, sessionPath, SessionUnreadable, type SavedSession } from "./session.js";
import { errorText } from "../log/logger.js";
import { ssoLoginToken } from "./sso.js";
import { deviceGrantLogin, newDeviceId, refreshDue, refreshSavedSession, RefreshRefused } from "./oauth.js";
import { LoginError, explainMatrixError, loginFlows, type ObtainOptions } from "./login-common.js";

export { LoginError, explainMatrixError, loginFlows };
export type { ObtainOptions, LoginPrompter } from "./login-common.js";

export type LoginSource = "config" | "saved" | "password" | "login_token" | "sso" | "oauth_device";

export interface ObtainedSession extends SavedSession {
  /** A login made just now: a new device, with no keys on the server yet. */
  fresh: boolean;
  /** Where the credentials came from. */
  source: LoginSource;
}

/**
 * Resolves credentials in this order: a configured access token; the saved session if its token still works;
 * a new login by [matrix] login_method (whose session is then saved, so the next start reuses the same device).
 */
export async function obtainSession(cfg: ConfigValues["matrix"], storeDir: string, log: Log, opts: ObtainOptions = {}): Promise<ObtainedSession> {
  const homeserver = cfg.homeserver;
  const method = cfg.login_method;
  if (method === "access_token" && !cfg.access_token)
    throw new LoginError("[matrix] login_method = access_token, but access_token (or access_token_file) is empty.", false);
  if (cfg.access_token && (method === "auto" || method === "access_token")) {
    if (opts.fresh) {
      if (method === "access_token")
        throw new LoginError(
          "A new device is needed, but [matrix] login_method = access_token allows no new login: give the access token of a new device.",
          false,
        );
    } else {
      const probe = createClient({ baseUrl: homeserver, accessToken: cfg.access_token, userId: cfg.user_id });
      let who: { user_id: string; device_id?: string };
      try {
        who = await probe.whoami();
      } catch (e) {
        throw explainMatrixError(e, homeserver, "Access token check failed");
      }
      if (cfg.user_id && who.user_id !== cfg.user_id)
        throw new LoginError(`The access token belongs to ${who.user_id}, not to [matrix] user_id ${cfg.user_id}. Fix one of them.`, false);
      const deviceId = cfg.device_id || who.device_id;
      if (!deviceId) throw new LoginError("The homeserver did not say which device the access token belongs to: set [matrix] device_id.", false);
      if (cfg.device_id && who.device_id && cfg.device_id !== who.device_id)
        throw new LoginError(`The access token belongs to device ${who.device_id}, not to [matrix] device_id ${cfg.device_id}. Fix one of them.`, false);
      log.info(`using the configured access token: ${who.user_id}, device ${deviceId}`);
      return { homeserver, userId: who.user_id, deviceId, accessToken: cfg.access_token, savedAt: "", fresh: false, source: "config" };
    }
  }
  const usable = (s: SavedSession | undefined): s is SavedSession =>
    !!s && s.homeserver === homeserver && (!cfg.user_id || s.userId === cfg.user_id) && (!cfg.device_id || cfg.device_id === s.deviceId);
  let saved = opts.fresh ? undefined : await loadSavedSession(storeDir);
  // An OAuth access token lives minutes: an expired (or nearly expired) one is renewed before anything uses it.
  if (usable(saved) && saved.oauth?.refreshToken && refreshDue(saved.oauth)) {
    const old = saved;
    const was = old.oauth!.expiresAt!;
    try {
      const renewed = await refreshSavedSession({ ...old, oauth: old.oauth! });
      opts.redact?.(renewed.accessToken);
      opts.redact?.(renewed.oauth.refreshToken);
      await saveSession(storeDir, renewed);
      log.info(
        `the saved access token of device ${old.deviceId} ` +
          `${was <= Date.now() ? `expired ${Math.round((Date.now() - was) / 1000)} s ago` : `expires in ${Math.round((was - Date.now()) / 1000)} s`}; ` +
          `renewed it with the refresh token`,
      );
      saved = renewed;
    } catch (e) {
      if (!(e instanceof RefreshRefused)) throw e;
      log.warn(
        `the saved OAuth session of device ${old.deviceId} cannot be renewed: the authorization server refused its refresh token (${e.message}), so it ` +
          `was revoked or signed out; logging in again${method === "oauth_device" ? " with a new device authorization" : ""}`,
      );
      saved = undefined;
    }
  }
  if (usable(saved)) {
    const probe = createClient({ baseUrl: homeserver, accessToken: saved.accessToken, userId: saved.userId, deviceId: saved.deviceId });
    try {
      await probe.whoami();
      log.info(`reusing saved session: device ${saved.deviceId}`);
      return { ...saved, fresh: false, source: "saved" };
    } catch (e) {
      const err = explainMatrixError(e, homeserver, "Saved session check failed");
      if (err.retryable) throw err;
      log.warn(`saved session for device ${saved.deviceId} is no longer valid (${err.message}); logging in again`);
    }
  }
  // A new device when asked for one; otherwise the configured or saved device, so a re-login keeps it.
  const deviceId = opts.fresh ? undefined : cfg.device_id || saved?.deviceId || undefined;
  let res: LoginResult;
  let source: LoginSource;
  let oauth: SavedSession["oauth"];
  if (method === "oauth_device") {
    // Always a new device (or the configured one): a device grant asks for the device in its scope, and an old
    // device's keys would be of no use to a new session.
    const r = await deviceGrantLogin(cfg, (opts.fresh ? undefined : cfg.device_id) || newDeviceId(), log, opts);
    res = { access_token: r.accessToken, user_id: r.userId, device_id: r.deviceId };
    oauth = r.oauth.refreshToken ? r.oauth : undefined;
    source = "oauth_device";
  } else if (method === "password" || (method === "auto" && cfg.password)) {
    if (!cfg.password) throw new LoginError("[matrix] login_method = password, but password (or password_file) is empty.", false);
    res = await login(
      homeserver,
      {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: cfg.user_id },
        password: cfg.password,
        device_id: deviceId,
        initial_device_display_name: cfg.device_name,
      },
      `Password login as ${cfg.user_id} failed`,
    );
    source = "password";
  } else if (cfg.login_token && (method === "auto" || method === "login_token" || method === "sso")) {
    opts.redact?.(cfg.login_token);
    res = await tokenLogin(homeserver, cfg.login_token, deviceId, cfg.device_name, "[matrix] login_token");
    source = "login_token";
  } else if (method === "sso") {
    const token = await ssoLoginToken(cfg, log, opts);
    res = await tokenLogin(homeserver, token, deviceId, cfg.device_name, "The SSO login token");
    source = "sso";
  } else if (method === "login_token") {
    throw new LoginError(
      `No usable session${opts.fresh ? " (a new device is needed)" : ""} and [matrix] login_token is empty: get a new login token (SSO, or another ` +
        `session's "sign in another device"), or use a password.`,
      false,
    );
  } else {
    throw new LoginError(
      `No usable session${opts.fresh ? " (a new device is needed)" : ""} and no password: set [matrix] password (or ` +
        `password_file)${opts.fresh ? "" : ", or access_token"}, or another login_method.`,
      false,
    );
  }
  if (cfg.user_id && res.user_id !== cfg.user_id)
    throw new LoginError(`Logged in as ${res.user_id}, but [matrix] user_id is ${cfg.user_id}: sign in as the bot's account, or fix user_id.`, false);
  opts.redact?.(res.access_token);
  const session = { homeserver, userId: res.user_id, deviceId: res.device_id, accessToken: res.access_token, ...(oauth ? { oauth } : {}) };
  await saveSession(storeDir, session);
  log.info(`logged in as ${res.user_id} (${source.replace("_", " ")}), device ${res.device_id}; session saved`);
  return { ...session, savedAt: new Date().toISOString(), fresh: true, source };
}

/** An unreadable session.json stops the start (not retried): a new login would silently make a new device. */
async function loadSavedSession(storeDir: string): Promise<SavedSession | undefined> {
  try {
    return await loadSession(storeDir);
  } catch (e) {
    if (e instanceof SessionUnreadable) throw new LoginError(e.message, false);
    throw e;
  }
}

interface LoginResult {
  access_token: string;
  user_id: string;
  device_id: string;
}

async function login(homeserver: string, body: Record<string, unknown>, what: string): Promise<LoginResult> {
  try {
    return (await createClient({ baseUrl: homeserver }).loginRequest(body as never)) as LoginResult;
  } catch (e) {
    throw explainMatrixError(e, homeserver, what);
  }
}

/** m.login.token: a single-use token from an SSO redirect or from another session (login_via_existing_session). */
async function tokenLogin(homeserver: string, token: string, deviceId: string | undefined, deviceName: string, what: string): Promise<LoginResult> {
  const flows = await loginFlows(homeserver);
  if (!flows.some((f) => f.type === "m.login.token"))
    throw new LoginError(
      `The homeserver does not offer token login (m.login.token); it offers ${flows.map((f) => f.type).join(", ") || "nothing"}. Use one of those.`,
      false,
    );
  try {
    return (await createClient({ baseUrl: homeserver }).loginRequest({
      type: "m.login.token",
      token,
      device_id: deviceId,
      initial_device_display_name: deviceName,
    } as never)) as LoginResult;
  } catch (e) {
    if (e instanceof MatrixError && e.errcode === "M_FORBIDDEN") {
      throw new LoginError(
        `${what} was refused (${e.errcode}: ${e.data?.error ?? ""}): login tokens work once and expire after a few minutes. Get a new one, or use ` +
          `another login method.`,
        false,
      );
    }
    throw explainMatrixError(e, homeserver, "Token login failed");
  }
}

/**
 * Gives up a saved session that cannot be used any more: logs its token out (which removes the old device and its
 * keys from the server, so members stop encrypting to it) and deletes session.json. Best effort.
 */
export async function discardSession(session: SavedSession, storeDir: string, log: Log): Promise<void> {
  try {
    // An OAuth session is ended at the authorization server (both tokens revoked, which removes the device there).
    const oauth = session.oauth?.refreshToken ? { refreshToken: session.oauth.refreshToken, oauthClientId: session.oauth.clientId } : {};
    await createClient({
      baseUrl: session.homeserver,
      accessToken: session.accessToken,
      userId: session.userId,
      deviceId: session.deviceId,
      ...oauth,
    }).logout();
    log.info(`logged out the old device ${session.deviceId}`);
  } catch (e) {
    log.warn(`logging out the old device ${session.deviceId} failed: ${errorText(e)}`);
  }
  await rm(sessionPath(storeDir), { force: true });
}
