// What the login methods share (login.ts, oauth.ts, sso.ts): the login error, its explanation of a failed homeserver
// request, the homeserver's login flows and the options of a login. Kept apart so the methods do not import each other.
import { createClient, MatrixError } from "matrix-js-sdk";

export class LoginError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Turns a failed request to the homeserver into one clear sentence with what to do. */
export function explainMatrixError(e: unknown, homeserver: string, what: string): LoginError {
  if (e instanceof MatrixError) {
    const code = e.errcode ?? `HTTP ${e.httpStatus}`;
    if (e.errcode === "M_FORBIDDEN")
      return new LoginError(`${what}: the homeserver refused the credentials (${code}: ${e.data?.error ?? ""}). Check [matrix] user_id and password.`, false);
    if (e.errcode === "M_UNKNOWN_TOKEN" || e.httpStatus === 401)
      return new LoginError(`${what}: the access token is unknown, expired or revoked (${code}). Set a new [matrix] access_token, or use a password.`, false);
    if (e.errcode === "M_USER_DEACTIVATED") return new LoginError(`${what}: the bot's account is deactivated (${code}).`, false);
    if (e.errcode === "M_LIMIT_EXCEEDED") return new LoginError(`${what}: rate-limited by the homeserver (${code}); will retry.`, true);
    if (e.errcode === "M_UNKNOWN" && /login type/i.test(e.data?.error ?? ""))
      return new LoginError(`${what}: the homeserver does not offer this login method (${e.data?.error}).`, false);
    if ((e.httpStatus ?? 0) >= 500) return new LoginError(`${what}: the homeserver answered ${e.httpStatus}; will retry.`, true);
    return new LoginError(`${what}: ${code} ${e.data?.error ?? e.message}`, false);
  }
  const err = e as Error & { cause?: { code?: string } };
  const cause = err?.cause?.code ?? (err as NodeJS.ErrnoException)?.code;
  if (err?.name === "ConnectionError" || err?.name === "TypeError" || cause) {
    return new LoginError(
      `${what}: cannot reach the homeserver at ${homeserver}${cause ? ` (${cause})` : ""}. Check [matrix] homeserver and that the server is up; will retry.`,
      true,
    );
  }
  return new LoginError(`${what}: ${err?.message ?? String(e)}`, false);
}

export interface ObtainOptions {
  /** Only a new login will do (the existing device cannot be used, e.g. its crypto store is gone). */
  fresh?: boolean;
  /** Asks the operator for an SSO login token (console or stdin). */
  prompt?: LoginPrompter;
  /** Registers secrets (login tokens) with the log redactor before anything could log them. */
  redact?: (secret: string) => void;
  signal?: AbortSignal;
}

/**
 * The operator side of an interactive login: show a URL, get back what they paste. With `code` (the OAuth device
 * grant) there is nothing to paste: the operator approves `code` at `url`, and the prompt is withdrawn (signal) when
 * the login ends.
 */
export interface LoginPrompter {
  ask(req: { message: string; url: string; code?: string }, signal: AbortSignal): Promise<string>;
}

/** The login flows the homeserver offers, e.g. ["m.login.password", "m.login.token"]. */
export async function loginFlows(homeserver: string): Promise<Array<{ type: string; identity_providers?: Array<{ id: string; name?: string }> }>> {
  try {
    return (await createClient({ baseUrl: homeserver }).loginFlows()).flows as never;
  } catch (e) {
    throw explainMatrixError(e, homeserver, "Asking the homeserver for its login methods failed");
  }
}
