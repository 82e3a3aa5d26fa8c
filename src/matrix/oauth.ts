// OAuth 2.0 ("next-gen auth", MSC3861) login by the device authorization grant (RFC 8628): the bot shows a URL and a
// short code, the operator approves the bot in a browser on any machine, and the bot receives an access token and a
// refresh token. Access tokens from OAuth expire, so sessions carry the refresh token and the client id, and the SDK
// renews the token while running (tokenRefreshOptions); a restart renews an expired one before use.
import { randomInt } from "node:crypto";
import {
  createClient,
  MatrixError,
  HTTPError,
  OAuth2,
  OAuth2Error,
  OAuth2HTTPError,
  OAuthGrantType,
  generateScope,
  isValidDeviceAccessTokenResponse,
  type AccessTokens,
  type DeviceAccessTokenResponse,
  type DeviceAuthorizationResponse,
  type ICreateClientOpts,
  type OAuthRegistrationRequest,
  type ValidatedAuthMetadata,
} from "matrix-js-sdk";
import type { ConfigValues } from "../config/schema.js";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { explainMatrixError, LoginError, loginFlows, type ObtainOptions } from "./login-common.js";
import { saveSession, type SavedOAuth, type SavedSession } from "./session.js";

/** The client's home page, shown by the authorization server on its consent page (must be https). */
export const CLIENT_URI = "https://www.npmjs.com/package/chatrixcd";
/** A saved access token that expires within this is renewed at start, so start-up requests never meet its expiry. */
export const REFRESH_MARGIN_MS = 60_000;

/** Maps the homeserver's /login flows to the login_method that uses them (in order of advice), for "use one of those". */
const FLOW_METHOD: Array<[string, string]> = [
  ["m.login.password", "password"],
  ["m.login.sso", "sso"],
  ["m.login.cas", "sso"],
  ["m.login.token", "login_token"],
];

async function offeredInstead(homeserver: string): Promise<string> {
  // A homeserver with OAuth delegation may not serve /login at all: then there is nothing more to name.
  const flows = await loginFlows(homeserver).catch(() => []);
  const methods = [...new Set(FLOW_METHOD.filter(([flow]) => flows.some((f) => f.type === flow)).map(([, m]) => m))];
  return flows.length ? `it offers ${flows.map((f) => f.type).join(", ")}${methods.length ? `: set [matrix] login_method = ${methods.join(" or ")}` : ""}` : "";
}

/** The homeserver's OAuth 2.0 authorization server metadata, or a LoginError naming what it offers instead. */
export async function authMetadata(homeserver: string): Promise<ValidatedAuthMetadata> {
  try {
    return await createClient({ baseUrl: homeserver }).getAuthMetadata();
  } catch (e) {
    if (e instanceof MatrixError && (e.httpStatus === 404 || e.errcode === "M_UNRECOGNIZED" || e.errcode === "M_NOT_FOUND")) {
      const instead = await offeredInstead(homeserver);
      throw new LoginError(
        `The homeserver does not offer OAuth 2.0 login (next-gen auth: /_matrix/client/v1/auth_metadata answers ${e.errcode ?? e.httpStatus}), which ` +
          `login_method = oauth_device needs; ${instead || "ask its admin which login methods it offers"}${instead ? ", or give an access_token" : ""}.`,
        false,
      );
    }
    if (e instanceof Error && e.message === OAuth2Error.OpSupport) {
      throw new LoginError(
        "The homeserver's OAuth 2.0 metadata (/_matrix/client/v1/auth_metadata) is incomplete: it lacks endpoints or grant types every OAuth client " +
          "needs. Ask the homeserver's admin to check its authorization server (e.g. MAS), or use another login_method.",
        false,
      );
    }
    throw explainMatrixError(e, homeserver, "Asking the homeserver for its OAuth 2.0 metadata failed");
  }
}

/** A device id for a new device: 10 capital letters, like the ones Synapse gives. */
export function newDeviceId(): string {
  return Array.from({ length: 10 }, () => String.fromCharCode(65 + randomInt(26))).join("");
}

function isNetworkError(e: unknown): boolean {
  const err = e as Error & { cause?: { code?: string } };
  return err?.name === "TypeError" || err?.name === "ConnectionError" || !!err?.cause?.code;
}

export interface DeviceLoginResult {
  accessToken: string;
  userId: string;
  deviceId: string;
  oauth: SavedOAuth;
}

/**
 * The whole device authorization grant: discovery, dynamic client registration, device code for `deviceId`, the
 * operator's approval (log at warn level, and the console's login prompt), polling, then whoami.
 */
export async function deviceGrantLogin(cfg: ConfigValues["matrix"], deviceId: string, log: Log, opts: ObtainOptions): Promise<DeviceLoginResult> {
  const homeserver = cfg.homeserver;
  const metadata = await authMetadata(homeserver);
  if (!metadata.device_authorization_endpoint || !metadata.grant_types_supported.includes(OAuthGrantType.DeviceAuthorization)) {
    const instead = await offeredInstead(homeserver);
    throw new LoginError(
      `The homeserver's OAuth 2.0 server (${metadata.issuer}) does not offer the device authorization grant (RFC 8628) that login_method = oauth_device ` +
        `needs; it offers the grants ${metadata.grant_types_supported.join(", ")}. Ask its admin to enable the device code grant` +
        (instead ? `, or use another login method (the homeserver's /login: ${instead}).` : ", or use another login_method."),
      false,
    );
  }

  const clientName = cfg.device_name || "ChatrixCD";
  const registration: OAuthRegistrationRequest = {
    client_name: clientName,
    client_uri: CLIENT_URI,
    application_type: "native",
    grant_types: [OAuthGrantType.DeviceAuthorization, OAuthGrantType.RefreshToken],
    token_endpoint_auth_method: "none",
    // No browser redirect in this grant: no response types (authorization servers such as MAS refuse the SDK's
    // default ["code"] without the authorization_code grant).
    response_types: [] as unknown as OAuthRegistrationRequest["response_types"],
  };
  let clientId: string;
  try {
    clientId = await OAuth2.registerClient(metadata, registration);
  } catch (e) {
    const cause = (e as Error & { cause?: unknown }).cause;
    if (cause && isNetworkError(cause))
      throw new LoginError(
        `Registering the bot as an OAuth client failed: cannot reach ${metadata.registration_endpoint} (${errorText(cause)}); will retry.`,
        true,
      );
    throw new LoginError(
      `Registering the bot as an OAuth client at ${metadata.registration_endpoint} failed (${(e as Error).message}): the authorization server must allow ` +
        `dynamic registration of native clients with the device_code and refresh_token grants. Ask its admin, or use another login_method.`,
      false,
    );
  }

  const oauth = new OAuth2(metadata, { clientId, deviceId });
  let grant: DeviceAuthorizationResponse;
  try {
    grant = await oauth.startDeviceAuthorizationGrant(generateScope(deviceId));
  } catch (e) {
    if (isNetworkError(e))
      throw new LoginError(`Asking for a device code failed: cannot reach ${metadata.device_authorization_endpoint} (${errorText(e)}); will retry.`, true);
    throw new LoginError(
      `The authorization server refused to start the device login at ${metadata.device_authorization_endpoint} (${(e as Error).message}). Ask its admin, ` +
        `or use another login_method.`,
      false,
    );
  }

  const complete = grant.verification_uri_complete;
  const url = complete ?? grant.verification_uri;
  const minutes = Math.max(1, Math.round(grant.expires_in / 60));
  const who = cfg.user_id || "the bot's account";
  const message =
    `Matrix login: open ${complete ? "this URL" : `${grant.verification_uri}`} in a browser, ` +
    `${complete ? `check that it shows the code ${grant.user_code}` : `enter the code ${grant.user_code}`}, sign in as ${who} and approve "${clientName}" ` +
    `(device ${deviceId}). The code expires in ${minutes} min.`;
  log.warn(complete ? `${message} ${url}` : message);

  const ac = new AbortController();
  const onOuterAbort = () => ac.abort();
  opts.signal?.addEventListener("abort", onOuterAbort);
  if (opts.prompt) {
    // Shown until the grant ends; there is nothing to paste, so an answer just shows it again.
    void (async () => {
      while (!ac.signal.aborted) {
        try {
          await opts.prompt!.ask({ message, url, code: grant.user_code }, ac.signal);
        } catch {
          return;
        }
        if (!ac.signal.aborted) log.warn(`nothing to paste for this login: approve it in the browser at ${url} (code ${grant.user_code})`);
      }
    })();
  }
  let tokens: DeviceAccessTokenResponse;
  try {
    tokens = await pollDeviceGrant(metadata, clientId, grant, log, ac.signal);
  } finally {
    ac.abort();
    opts.signal?.removeEventListener("abort", onOuterAbort);
  }
  const expiresAt = tokens.expires_in ? Date.now() + tokens.expires_in * 1000 : undefined;
  opts.redact?.(tokens.access_token);
  if (tokens.refresh_token) opts.redact?.(tokens.refresh_token);
  if (!tokens.refresh_token) log.warn("the authorization server gave no refresh token, so when the access token expires the bot must be approved again");

  let whoami: { user_id: string; device_id?: string };
  try {
    whoami = await createClient({ baseUrl: homeserver, accessToken: tokens.access_token }).whoami();
  } catch (e) {
    throw explainMatrixError(e, homeserver, "Checking the new OAuth access token (whoami) failed");
  }
  if (cfg.user_id && whoami.user_id !== cfg.user_id) {
    // The approval was given as the wrong account: give the tokens back so no stray device stays signed in.
    await Promise.allSettled([
      oauth.revokeToken(tokens.access_token, "access_token"),
      tokens.refresh_token ? oauth.revokeToken(tokens.refresh_token, "refresh_token") : undefined,
    ]);
    throw new LoginError(
      `The device login was approved as ${whoami.user_id}, but [matrix] user_id is ${cfg.user_id}: approve it again signed in as ${cfg.user_id}, or fix ` +
        `user_id. The tokens for ${whoami.user_id} were revoked.`,
      false,
    );
  }
  const device = whoami.device_id ?? deviceId;
  if (device !== deviceId) log.warn(`the homeserver put the OAuth session on device ${device}, not the requested ${deviceId}; using ${device}`);
  return {
    accessToken: tokens.access_token,
    userId: whoami.user_id,
    deviceId: device,
    oauth: { clientId, refreshToken: tokens.refresh_token ?? "", expiresAt },
  };
}

/**
 * Polls the token endpoint (RFC 8628 §3.4-3.5) until the operator approves. Not the SDK's waitForDeviceAuthorization:
 * that one cannot be cancelled, keeps polling on errors it does not know (invalid_client, invalid_grant) until the
 * code expires, and gives up on one network error, which would throw away a code the operator may be typing.
 */
async function pollDeviceGrant(
  metadata: ValidatedAuthMetadata,
  clientId: string,
  grant: DeviceAuthorizationResponse,
  log: Log,
  signal: AbortSignal,
): Promise<DeviceAccessTokenResponse> {
  let interval = Math.max(1, grant.interval ?? 5) * 1000;
  const deadline = Date.now() + grant.expires_in * 1000;
  const body = new URLSearchParams({ grant_type: OAuthGrantType.DeviceAuthorization, device_code: grant.device_code, client_id: clientId }).toString();
  for (;;) {
    await abortableSleep(interval, signal);
    if (Date.now() > deadline) break;
    let status: number;
    let json: Record<string, unknown> | undefined;
    try {
      const res = await fetch(metadata.token_endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
      });
      status = res.status;
      json = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    } catch (e) {
      if (signal.aborted) throw new LoginError("The device login was cancelled.", false);
      log.debug(`polling ${metadata.token_endpoint} failed (${errorText(e)}); trying again`);
      continue;
    }
    if (status >= 200 && status < 300 && isValidDeviceAccessTokenResponse(json)) return json;
    const error = typeof json?.error === "string" ? json.error : undefined;
    const why = error ? `${error}${typeof json?.error_description === "string" ? `: ${json.error_description}` : ""}` : `HTTP ${status}`;
    if (error === "authorization_pending") continue;
    if (error === "slow_down") {
      interval += 5000;
      continue;
    }
    if (error === "access_denied")
      throw new LoginError(
        `The device login was denied at the authorization server (${why}). Restart to get a new code, and approve it signed in as the bot's account.`,
        false,
      );
    if (error === "expired_token")
      throw new LoginError(
        `The device login code expired before it was approved (${why}). Restart to get a new code, and approve it within ` +
          `${Math.round(grant.expires_in / 60)} min.`,
        false,
      );
    if (status >= 500 || !error) {
      log.debug(`polling ${metadata.token_endpoint} answered ${why}; trying again`);
      continue;
    }
    throw new LoginError(
      `The authorization server refused the device login at ${metadata.token_endpoint} (${why}). Restart to try again; if it persists, ask its admin.`,
      false,
    );
  }
  throw new LoginError(
    `The device login code expired before it was approved (no approval within ${Math.round(grant.expires_in / 60)} min). Restart to get a new code.`,
    false,
  );
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new LoginError("The device login was cancelled.", false));
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(new LoginError("The device login was cancelled.", false));
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** The refresh token was refused (revoked, used, or the client is gone): only a new login helps. */
export class RefreshRefused extends Error {}

/**
 * Renews a saved OAuth session's access token (refresh token grant). Throws RefreshRefused when the authorization
 * server says no, and a retryable LoginError when it cannot be reached.
 */
export async function refreshSavedSession(s: SavedSession & { oauth: SavedOAuth }): Promise<SavedSession & { oauth: SavedOAuth }> {
  let metadata: ValidatedAuthMetadata;
  try {
    metadata = await authMetadata(s.homeserver);
  } catch (e) {
    if (e instanceof LoginError && !e.retryable) throw new RefreshRefused(e.message);
    throw e;
  }
  const oauth = new OAuth2(metadata, { clientId: s.oauth.clientId, deviceId: s.deviceId });
  const started = Date.now();
  try {
    const r = await oauth.performRefreshTokenGrant(s.oauth.refreshToken);
    return {
      ...s,
      accessToken: r.access_token,
      oauth: { ...s.oauth, refreshToken: r.refresh_token ?? s.oauth.refreshToken, expiresAt: r.expires_in ? started + r.expires_in * 1000 : undefined },
    };
  } catch (e) {
    if (e instanceof OAuth2HTTPError && (e.httpStatus ?? 0) < 500)
      throw new RefreshRefused(`${e.error}${e.error_description ? `: ${e.error_description}` : ""}`);
    if (e instanceof HTTPError && (e.httpStatus ?? 0) >= 400 && (e.httpStatus ?? 0) < 500) throw new RefreshRefused(`HTTP ${e.httpStatus}`);
    if (e instanceof HTTPError || isNetworkError(e)) {
      throw new LoginError(
        `Renewing the saved OAuth access token failed: ${metadata.token_endpoint} ` +
          `${e instanceof HTTPError ? `answered ${e.httpStatus}` : `cannot be reached (${errorText(e)})`}; will retry.`,
        true,
      );
    }
    throw new LoginError(`Renewing the saved OAuth access token at ${metadata.token_endpoint} failed: ${(e as Error).message}.`, false);
  }
}

/** Whether a saved access token must be renewed before it is used. */
export function refreshDue(o: SavedOAuth, now = Date.now()): boolean {
  return o.expiresAt !== undefined && o.expiresAt - now < REFRESH_MARGIN_MS;
}

/**
 * createClient options that let the SDK renew an OAuth session's access token while running; each new token pair is
 * registered with the redactor and written to session.json (atomically, in order) before the SDK uses it.
 */
export function tokenRefreshOptions(session: SavedSession, storeDir: string, log: Log, redact: (secret: string) => void): Partial<ICreateClientOpts> {
  const o = session.oauth;
  if (!o?.refreshToken) return {};
  redact(o.refreshToken);
  let current: SavedSession = {
    homeserver: session.homeserver,
    userId: session.userId,
    deviceId: session.deviceId,
    accessToken: session.accessToken,
    savedAt: session.savedAt,
    oauth: o,
  };
  let saving = Promise.resolve();
  return {
    refreshToken: o.refreshToken,
    oauthClientId: o.clientId,
    onTokenRefresh: (t: AccessTokens) => {
      redact(t.accessToken);
      if (t.refreshToken) redact(t.refreshToken);
      current = {
        ...current,
        accessToken: t.accessToken,
        oauth: { ...current.oauth!, refreshToken: t.refreshToken ?? current.oauth!.refreshToken, expiresAt: t.expiry?.getTime() },
      };
      const snapshot = current;
      saving = saving
        .then(() => saveSession(storeDir, snapshot))
        .then(
          () =>
            log.debug(
              `access token renewed${snapshot.oauth!.expiresAt ? `, valid until ${new Date(snapshot.oauth!.expiresAt).toISOString()}` : ""}; session saved`,
            ),
          (e) =>
            log.warn(
              `the access token was renewed, but saving it to session.json failed (${errorText(e)}): the old refresh token no longer works, so the next ` +
                `start needs a new device login unless a later save succeeds`,
            ),
        );
    },
  };
}
