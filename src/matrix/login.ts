import { createClient, MatrixError } from "matrix-js-sdk";
import type { ConfigValues } from "../config/schema.js";
import type { Log } from "../log/logger.js";
import { loadSession, saveSession, type SavedSession } from "./session.js";

export class LoginError extends Error {
  constructor(message: string, readonly retryable: boolean) { super(message); }
}

/** Turns a failed request to the homeserver into one clear sentence with what to do. */
export function explainMatrixError(e: unknown, homeserver: string, what: string): LoginError {
  if (e instanceof MatrixError) {
    const code = e.errcode ?? `HTTP ${e.httpStatus}`;
    if (e.errcode === "M_FORBIDDEN") return new LoginError(`${what}: the homeserver refused the credentials (${code}: ${e.data?.error ?? ""}). Check [matrix] user_id and password.`, false);
    if (e.errcode === "M_UNKNOWN_TOKEN" || e.httpStatus === 401) return new LoginError(`${what}: the access token is unknown, expired or revoked (${code}). Set a new [matrix] access_token, or use a password.`, false);
    if (e.errcode === "M_USER_DEACTIVATED") return new LoginError(`${what}: the bot's account is deactivated (${code}).`, false);
    if (e.errcode === "M_LIMIT_EXCEEDED") return new LoginError(`${what}: rate-limited by the homeserver (${code}); will retry.`, true);
    if (e.errcode === "M_UNKNOWN" && /login type/i.test(e.data?.error ?? "")) return new LoginError(`${what}: the homeserver does not offer this login method (${e.data?.error}).`, false);
    if ((e.httpStatus ?? 0) >= 500) return new LoginError(`${what}: the homeserver answered ${e.httpStatus}; will retry.`, true);
    return new LoginError(`${what}: ${code} ${e.data?.error ?? e.message}`, false);
  }
  const err = e as Error & { cause?: { code?: string } };
  const cause = err?.cause?.code ?? (err as NodeJS.ErrnoException)?.code;
  if (err?.name === "ConnectionError" || err?.name === "TypeError" || cause) {
    return new LoginError(`${what}: cannot reach the homeserver at ${homeserver}${cause ? ` (${cause})` : ""}. Check [matrix] homeserver and that the server is up; will retry.`, true);
  }
  return new LoginError(`${what}: ${err?.message ?? String(e)}`, false);
}

/**
 * Resolves credentials in this order: a configured access token; the saved session if its token still works;
 * a password login (whose session is then saved, so the next start reuses the same device).
 */
export async function obtainSession(cfg: ConfigValues["matrix"], storeDir: string, log: Log): Promise<SavedSession & { fresh: boolean }> {
  const homeserver = cfg.homeserver;
  if (cfg.access_token) {
    const probe = createClient({ baseUrl: homeserver, accessToken: cfg.access_token, userId: cfg.user_id });
    let who: { user_id: string; device_id?: string };
    try { who = await probe.whoami(); } catch (e) { throw explainMatrixError(e, homeserver, "Access token check failed"); }
    if (cfg.user_id && who.user_id !== cfg.user_id) throw new LoginError(`The access token belongs to ${who.user_id}, not to [matrix] user_id ${cfg.user_id}. Fix one of them.`, false);
    const deviceId = cfg.device_id || who.device_id;
    if (!deviceId) throw new LoginError("The homeserver did not say which device the access token belongs to: set [matrix] device_id.", false);
    return { homeserver, userId: who.user_id, deviceId, accessToken: cfg.access_token, savedAt: "", fresh: false };
  }
  const saved = await loadSession(storeDir);
  if (saved && saved.homeserver === homeserver && saved.userId === cfg.user_id && (!cfg.device_id || cfg.device_id === saved.deviceId)) {
    const probe = createClient({ baseUrl: homeserver, accessToken: saved.accessToken, userId: saved.userId, deviceId: saved.deviceId });
    try {
      await probe.whoami();
      log.info(`reusing saved session: device ${saved.deviceId}`);
      return { ...saved, fresh: false };
    } catch (e) {
      const err = explainMatrixError(e, homeserver, "Saved session check failed");
      if (err.retryable) throw err;
      log.warn(`saved session for device ${saved.deviceId} is no longer valid (${err.message}); logging in again with the password`);
    }
  }
  if (!cfg.password) throw new LoginError("No usable session and no password: set [matrix] password (or password_file), or access_token.", false);
  const client = createClient({ baseUrl: homeserver });
  let res: { access_token: string; user_id: string; device_id: string };
  try {
    res = await client.loginRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: cfg.user_id },
      password: cfg.password,
      device_id: cfg.device_id || saved?.deviceId || undefined,
      initial_device_display_name: cfg.device_name,
    }) as typeof res;
  } catch (e) {
    throw explainMatrixError(e, homeserver, `Password login as ${cfg.user_id} failed`);
  }
  const session = { homeserver, userId: res.user_id, deviceId: res.device_id, accessToken: res.access_token };
  await saveSession(storeDir, session);
  log.info(`logged in as ${res.user_id}, device ${res.device_id}; session saved`);
  return { ...session, savedAt: new Date().toISOString(), fresh: true };
}
