// Typed failures of the Semaphore REST client. Every failure the client can produce is a SemaphoreError with a
// `kind` a caller can switch on, and a userMessage() that is safe to show in chat: one line, says what happened and
// what to do. Messages are built from the method, the API path, the status and the server's own short message;
// the API token is never part of them (and is scrubbed from anything the server echoes back).

export type SemaphoreErrorKind =
  | "unreachable" // connection refused / DNS / reset / TLS failure: no HTTP answer at all
  | "timeout" // no complete answer within timeoutMs
  | "unauthorized" // 401: token unknown, expired or revoked
  | "forbidden" // 403: authenticated, but the user's project role lacks the permission
  | "not_found" // 404: unknown id, or a project the user is not a member of (Semaphore hides existence)
  | "bad_request" // 400 and other 4xx: Semaphore refused the request (message shown when it gave one)
  | "server" // 5xx with a Semaphore (JSON/empty) body
  | "not_json" // an HTML page, a redirect, or unparseable text where JSON was expected (proxy, wrong URL)
  | "bad_reply" // valid JSON of the wrong shape
  | "unsupported" // the server version has no such feature (e.g. task reject on v2.10)
  | "too_large"; // the reply was larger than the client reads for its kind (JSON or task output): never retried

export interface SemaphoreErrorInit {
  kind: SemaphoreErrorKind;
  method: string;
  /** API path relative to the base URL, e.g. "/api/project/1/tasks" (never contains credentials). */
  path: string;
  status?: number;
  /** Semaphore's own `{"error": ...}` text, or a short snippet of a non-JSON body (an HTML page's <title>). */
  serverMessage?: string;
  /** Technical detail for logs: the socket error code, the parse failure, the expected shape... */
  detail?: string;
  /** Where the client was talking to (origin + path prefix, credentials stripped). For unreachable/TLS messages. */
  target?: string;
  /** Request timeout in ms, for timeout messages. */
  timeoutMs?: number;
  /** The size cap a too_large reply passed, in bytes. */
  limitBytes?: number;
  /** Whether repeating an idempotent request might help (used by the client's retry loop). */
  retryable?: boolean;
  /** Pre-built user message (used for "unsupported" and client-side validation). */
  userText?: string;
  cause?: unknown;
}

/** `detail` of a 404 whose body isn't JSON: Semaphore's router has no such route (older server, wrong path prefix). */
export const NO_ROUTE = "no such API route";

const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "EPROTO",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

/** True for socket error codes that mean "the TLS handshake failed" rather than "nobody answered". */
export function isTlsErrorCode(code: string | undefined): boolean {
  return !!code && (TLS_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_"));
}

export class SemaphoreError extends Error {
  readonly kind: SemaphoreErrorKind;
  readonly status?: number;
  readonly method: string;
  readonly path: string;
  readonly serverMessage?: string;
  readonly detail?: string;
  readonly target?: string;
  readonly timeoutMs?: number;
  readonly limitBytes?: number;
  readonly retryable: boolean;
  private readonly userText?: string;

  constructor(init: SemaphoreErrorInit) {
    super(technicalMessage(init), init.cause !== undefined ? { cause: init.cause } : undefined);
    this.name = "SemaphoreError";
    this.kind = init.kind;
    this.method = init.method;
    this.path = init.path;
    if (init.status !== undefined) this.status = init.status;
    if (init.serverMessage !== undefined) this.serverMessage = init.serverMessage;
    if (init.detail !== undefined) this.detail = init.detail;
    if (init.target !== undefined) this.target = init.target;
    if (init.timeoutMs !== undefined) this.timeoutMs = init.timeoutMs;
    if (init.limitBytes !== undefined) this.limitBytes = init.limitBytes;
    if (init.userText !== undefined) this.userText = init.userText;
    this.retryable = init.retryable ?? defaultRetryable(init.kind, init.status);
  }

  /** Same error, attributed to a request (normalisers throw bad_reply without knowing which request it was). */
  withRequest(method: string, path: string): SemaphoreError {
    return new SemaphoreError({ ...this.init(), method, path });
  }

  private init(): SemaphoreErrorInit {
    const i: SemaphoreErrorInit = { kind: this.kind, method: this.method, path: this.path, retryable: this.retryable };
    if (this.status !== undefined) i.status = this.status;
    if (this.serverMessage !== undefined) i.serverMessage = this.serverMessage;
    if (this.detail !== undefined) i.detail = this.detail;
    if (this.target !== undefined) i.target = this.target;
    if (this.timeoutMs !== undefined) i.timeoutMs = this.timeoutMs;
    if (this.limitBytes !== undefined) i.limitBytes = this.limitBytes;
    if (this.userText !== undefined) i.userText = this.userText;
    if (this.cause !== undefined) i.cause = this.cause;
    return i;
  }

  /** One line for a chat reply or a console status bar: what happened and what to do about it. */
  userMessage(): string {
    if (this.userText) return this.userText;
    const req = this.method && this.path ? `${this.method} ${this.path}` : "the request";
    const where = this.target ? ` at ${this.target}` : "";
    const srv = this.serverMessage ? `: "${this.serverMessage}"` : "";
    switch (this.kind) {
      case "unreachable":
        if (isTlsErrorCode(this.detail)) {
          return (
            `TLS handshake with Semaphore${where} failed (${this.detail}). Set [semaphore] ca_file to the CA that signed its certificate (or tls_verify = ` +
            `false, for testing only).`
          );
        }
        return `Can't reach Semaphore${where}${this.detail ? ` (${this.detail})` : ""}. Check [semaphore] url and that the server is running.`;
      case "timeout": {
        const t = this.timeoutMs;
        const secs = t === undefined ? " in time" : t < 1000 ? ` within ${Math.round(t)} ms` : ` within ${Math.round(t / 100) / 10} s`;
        const maybeDone = this.method === "POST" ? " The action may still have happened — check before repeating it." : "";
        return `Semaphore did not answer ${req}${secs}.${maybeDone} If it is just slow, raise [semaphore] timeout.`;
      }
      case "unauthorized":
        return "Semaphore rejected the API token (401). Check [semaphore] api_token (it may be expired or deleted).";
      case "forbidden":
        return this.serverMessage
          ? `Semaphore refused ${req} (403)${srv}.`
          : `Semaphore refused ${req} (403): the token's user lacks the permission in that ` +
              `project (its role is too low). Ask a project owner to raise the role.`;
      case "not_found":
        if (this.detail === NO_ROUTE) {
          return (
            `Semaphore has no API route ${req} (404${this.serverMessage ? ` "${this.serverMessage}"` : ""}) — the server is older than this feature, or ` +
            `[semaphore] url has a wrong path prefix.`
          );
        }
        return isTaskPath(this.path)
          ? `Semaphore answered 404 for ${req}: no such task, or the token's user is not a member of that project.`
          : `Semaphore answered 404 for ${req}: it doesn't exist, or the token's user is not a member of that project.`;
      case "bad_request":
        if (this.serverMessage) return `Semaphore rejected ${req} (${this.status ?? 400})${srv}.`;
        if (isTaskPath(this.path)) {
          return (
            `Semaphore rejected ${req} (${this.status ?? 400}) without a reason — usually the task doesn't exist in that project or is not in a state that ` +
            `allows this.`
          );
        }
        return `Semaphore rejected ${req} (${this.status ?? 400}) without a reason — check the ids and values sent.`;
      case "server":
        if (this.method === "POST" && /\/tasks$/.test(this.path)) {
          return (
            `Semaphore failed with HTTP ${this.status ?? 500} starting the task${srv} — often an unknown template or invalid extra variables; see the ` +
            `Semaphore server log.`
          );
        }
        return `Semaphore failed with HTTP ${this.status ?? 500} on ${req}${srv}. See the Semaphore server log; try again later.`;
      case "not_json":
        if (this.status !== undefined && this.status >= 300 && this.status < 400) {
          return (
            `Semaphore's address redirects (HTTP ` +
            `${this.status}${this.serverMessage ? ` to ${this.serverMessage}` : ""}). Set ` +
            `[semaphore] url to the final address.`
          );
        }
        if (this.detail === "html") {
          const facts = [this.status !== undefined ? `HTTP ${this.status}` : "", this.serverMessage ? `"${this.serverMessage}"` : ""]
            .filter(Boolean)
            .join(", ");
          return (
            `Got an HTML page instead of Semaphore's JSON for ${req}${facts ? ` (${facts})` : ""} — a proxy in front of Semaphore is failing, or ` +
            `[semaphore] url points at the wrong place.`
          );
        }
        return (
          `Semaphore's reply to ${req} was not valid ` +
          `JSON${this.status !== undefined ? ` (HTTP ${this.status})` : ""}${this.serverMessage ? `: "${this.serverMessage}"` : ""}. Is [semaphore] url ` +
          `really Semaphore's address?`
        );
      case "bad_reply":
        return (
          `Semaphore's reply to ${req} didn't have the expected ` +
          `shape${this.detail ? ` (${this.detail})` : ""}. This Semaphore version may ` +
          `not be supported.`
        );
      case "unsupported":
        return `This Semaphore server doesn't support ${req}.`;
      case "too_large": {
        const cap = `larger than ${formatBytes(this.limitBytes)}; ChatrixCD stopped reading it`;
        if (/\/tasks\/\d+\/output$/.test(this.path)) return `Semaphore's reply to ${req} (the task's log) was ${cap}. Read this log in Semaphore's web UI.`;
        return (
          `Semaphore's reply to ${req} was ${cap}. A reply that large is not normal: check that [semaphore] url is ` +
          "Semaphore's own address (not a proxy or file server), and see the Semaphore server log."
        );
      }
    }
  }
}

export function isSemaphoreError(e: unknown, kind?: SemaphoreErrorKind): e is SemaphoreError {
  return e instanceof SemaphoreError && (kind === undefined || e.kind === kind);
}

/** "16 MiB", "512 KiB", "100 bytes". */
function formatBytes(n: number | undefined): string {
  if (n === undefined) return "the size limit";
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function isTaskPath(path: string): boolean {
  return /\/tasks\/\d+(\/|$)/.test(path);
}

function defaultRetryable(kind: SemaphoreErrorKind, status: number | undefined): boolean {
  if (kind === "unreachable" || kind === "timeout" || kind === "server") return true;
  if (kind === "not_json") return !(status !== undefined && status >= 300 && status < 400);
  return false;
}

function technicalMessage(i: SemaphoreErrorInit): string {
  const req = i.method && i.path ? `${i.method} ${i.path}` : "semaphore";
  const parts = [`${req}: ${i.kind}`];
  if (i.status !== undefined) parts.push(`HTTP ${i.status}`);
  if (i.detail) parts.push(i.detail);
  if (i.serverMessage) parts.push(JSON.stringify(i.serverMessage));
  return i.userText ? `${parts.join(", ")} — ${i.userText}` : parts.join(", ");
}
