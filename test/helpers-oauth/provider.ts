// A small OAuth 2.0 authorization server that plays Matrix Authentication Service (MAS) for a real Synapse started
// with `matrix_authentication_service: { enabled: true, endpoint, secret }`. It implements what the device
// authorization grant needs, strictly enough that a wrong request from the bot fails the test:
//
//   GET  /.well-known/openid-configuration   discovery (Synapse serves it as /_matrix/client/v1/auth_metadata)
//   POST /oauth2/registration                 dynamic client registration (RFC 7591), validated like MAS does
//   POST /oauth2/device                       device authorization (RFC 8628)
//   POST /oauth2/token                        device_code and refresh_token grants (refresh tokens rotate)
//   POST /oauth2/introspect                   token introspection for Synapse (shared-secret bearer)
//   POST /oauth2/revoke                       revocation (RFC 7009): ends the session and deletes its device
//   GET/POST /device                          the verification page where the "operator" approves or denies
//   GET  /_matrix/client/v1/auth_metadata     as a stand-in homeserver, for tests that never reach Synapse
//
// Users and devices are provisioned in Synapse through its /_synapse/mas/* API with the shared secret, as MAS does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";

export const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const API_SCOPE = "urn:matrix:client:api:*";
const DEVICE_SCOPE_PREFIX = "urn:matrix:client:device:";

export interface OAuthProviderOptions {
  /** Shared with Synapse (matrix_authentication_service.secret). */
  secret: string;
  /** Lifetime of access tokens from the device and refresh grants, in seconds. */
  accessTokenLifetime?: number;
  /** Lifetime of a device code / user code, in seconds. */
  deviceCodeLifetime?: number;
  /** Poll interval the bot is told to keep, in seconds. */
  interval?: number;
  /** Advertise and accept the device authorization grant (false: only authorization_code + refresh_token). */
  deviceGrant?: boolean;
}

interface Client {
  clientId: string;
  metadata: Record<string, unknown>;
}
interface DeviceRequest {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scope: string;
  deviceId: string;
  expiresAt: number;
  state: "pending" | "approved" | "denied" | "used";
  localpart?: string;
  polls: number;
}
/** One login: what refresh tokens renew, and what revocation ends. */
interface Session {
  id: string;
  clientId?: string;
  localpart: string;
  deviceId: string;
  scope: string;
  active: boolean;
}
interface AccessToken {
  session: Session;
  expiresAt?: number;
  active: boolean;
}

export interface Counts {
  registrations: number;
  deviceAuthorizations: number;
  deviceTokens: number;
  refreshes: number;
  refusedRefreshes: number;
  introspections: number;
  revocations: number;
}

export class OAuthProvider {
  url = "";
  homeserver = "";
  readonly clients = new Map<string, Client>();
  readonly deviceRequests = new Map<string, DeviceRequest>();
  readonly sessions = new Map<string, Session>();
  readonly accessTokens = new Map<string, AccessToken>();
  readonly refreshTokens = new Map<string, { session: Session; active: boolean }>();
  readonly counts: Counts = {
    registrations: 0,
    deviceAuthorizations: 0,
    deviceTokens: 0,
    refreshes: 0,
    refusedRefreshes: 0,
    introspections: 0,
    revocations: 0,
  };
  /** Every access and refresh token issued, for "never logged" checks. */
  readonly issued: string[] = [];
  private server?: Server;

  constructor(readonly opts: OAuthProviderOptions) {}

  get accessTokenLifetime(): number {
    return this.opts.accessTokenLifetime ?? 10;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** The metadata Synapse relays to clients. */
  metadata(): Record<string, unknown> {
    const u = this.url;
    const grants = ["authorization_code", "refresh_token", ...(this.opts.deviceGrant === false ? [] : [DEVICE_GRANT])];
    return {
      issuer: `${u}/`,
      authorization_endpoint: `${u}/authorize`,
      token_endpoint: `${u}/oauth2/token`,
      registration_endpoint: `${u}/oauth2/registration`,
      revocation_endpoint: `${u}/oauth2/revoke`,
      introspection_endpoint: `${u}/oauth2/introspect`,
      ...(this.opts.deviceGrant === false ? {} : { device_authorization_endpoint: `${u}/oauth2/device` }),
      account_management_uri: `${u}/account`,
      response_types_supported: ["code"],
      response_modes_supported: ["query", "fragment"],
      grant_types_supported: grants,
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
      scopes_supported: ["openid", API_SCOPE],
    };
  }

  // --- Synapse provisioning (/_synapse/mas/*), as MAS does it ---------------------------------------------

  private async synapse(path: string, body: Record<string, unknown>): Promise<void> {
    if (!this.homeserver) throw new Error("OAuthProvider: homeserver not set");
    const res = await fetch(`${this.homeserver}/_synapse/mas/${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${this.opts.secret}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`Synapse /_synapse/mas/${path}: ${res.status} ${await res.text()}`);
  }

  async provisionUser(localpart: string): Promise<string> {
    await this.synapse("provision_user", { localpart, set_displayname: localpart });
    return `@${localpart}:localhost`;
  }

  /**
   * A user who signs in with some other client (the test's chat partner): provisions user and device and returns a
   * non-expiring access token (as MAS's compatibility sessions have).
   */
  async issueUserToken(localpart: string): Promise<{ userId: string; accessToken: string; deviceId: string }> {
    const userId = await this.provisionUser(localpart);
    const deviceId = randomId(10);
    await this.synapse("upsert_device", { localpart, device_id: deviceId, display_name: "test peer" });
    const session = this.newSession(undefined, localpart, deviceId, `${API_SCOPE} ${DEVICE_SCOPE_PREFIX}${deviceId}`);
    const accessToken = this.newAccessToken(session, undefined);
    return { userId, accessToken, deviceId };
  }

  // --- what the test does as the operator and as the server's admin ---------------------------------------

  /** The operator's browser: submits the verification page for `userCode`. Returns the page's HTTP status. */
  async submitVerification(verificationUrl: string, userCode: string, localpart: string, action: "approve" | "deny"): Promise<number> {
    const page = new URL(verificationUrl);
    const res = await fetch(`${page.origin}${page.pathname}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ user_code: userCode, username: localpart, action }).toString(),
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** Ends every session of a client (an admin signing the bot out): refresh tokens stop working, devices go. */
  async revokeClientSessions(clientId: string): Promise<number> {
    let n = 0;
    for (const s of this.sessions.values())
      if (s.clientId === clientId && s.active) {
        await this.endSession(s);
        n++;
      }
    return n;
  }

  /** Clients registered under a name (the bot registers as its [matrix] device_name). */
  clientsNamed(name: string): Client[] {
    return [...this.clients.values()].filter((c) => c.metadata.client_name === name);
  }

  /** Device codes handed to clients of that name. */
  deviceRequestsOf(name: string): DeviceRequest[] {
    const ids = new Set(this.clientsNamed(name).map((c) => c.clientId));
    return [...this.deviceRequests.values()].filter((r) => ids.has(r.clientId));
  }

  /** Whether an access token is currently accepted (what introspection answers). */
  isActive(token: string): boolean {
    const t = this.accessTokens.get(token);
    return !!t && t.active && t.session.active && (t.expiresAt === undefined || Date.now() < t.expiresAt);
  }

  // --- tokens ---------------------------------------------------------------------------------------------

  private newSession(clientId: string | undefined, localpart: string, deviceId: string, scope: string): Session {
    const s: Session = { id: randomId(12), clientId, localpart, deviceId, scope, active: true };
    this.sessions.set(s.id, s);
    return s;
  }

  private newAccessToken(session: Session, lifetime: number | undefined): string {
    const token = `mat_${randomBytes(18).toString("base64url")}`;
    this.accessTokens.set(token, { session, expiresAt: lifetime === undefined ? undefined : Date.now() + lifetime * 1000, active: true });
    this.issued.push(token);
    return token;
  }

  private newRefreshToken(session: Session): string {
    const token = `mar_${randomBytes(18).toString("base64url")}`;
    this.refreshTokens.set(token, { session, active: true });
    this.issued.push(token);
    return token;
  }

  private tokenResponse(session: Session): Record<string, unknown> {
    return {
      token_type: "Bearer",
      access_token: this.newAccessToken(session, this.accessTokenLifetime),
      refresh_token: this.newRefreshToken(session),
      expires_in: this.accessTokenLifetime,
      scope: session.scope,
    };
  }

  private async endSession(s: Session): Promise<void> {
    s.active = false;
    for (const t of this.accessTokens.values()) if (t.session === s) t.active = false;
    for (const t of this.refreshTokens.values()) if (t.session === s) t.active = false;
    // MAS deletes the device of an ended session, which also invalidates Synapse's introspection cache for it.
    await this.synapse("delete_device", { localpart: s.localpart, device_id: s.deviceId });
  }

  // --- HTTP -----------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? "/", this.url);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers }).end(JSON.stringify(body));
    };
    const oauthError = (status: number, error: string, description: string) => send(status, { error, error_description: description });
    try {
      const raw = await readBody(req);
      const form = () => new URLSearchParams(raw);
      const route = `${req.method} ${u.pathname}`;
      switch (route) {
        case "GET /.well-known/openid-configuration":
        case "GET /.well-known/oauth-authorization-server":
        // Also a stand-in homeserver for tests that end before any Matrix request: it serves the auth metadata
        // the way Synapse relays it, and (like Synapse with OAuth delegation) no /login.
        case "GET /_matrix/client/v1/auth_metadata":
          return send(200, this.metadata());
        case "POST /oauth2/registration": {
          let m: Record<string, unknown>;
          try {
            m = JSON.parse(raw) as Record<string, unknown>;
          } catch {
            return oauthError(400, "invalid_request", "body is not JSON");
          }
          const problem = validateRegistration(m, this.metadata());
          if (problem) return oauthError(400, "invalid_client_metadata", problem);
          const clientId = randomId(26);
          this.clients.set(clientId, { clientId, metadata: m });
          this.counts.registrations++;
          return send(201, { client_id: clientId, client_id_issued_at: Math.floor(Date.now() / 1000), ...m });
        }
        case "POST /oauth2/device": {
          if (this.opts.deviceGrant === false) return send(404, { error: "not_found" });
          const f = form();
          const client = this.clients.get(f.get("client_id") ?? "");
          if (!client) return oauthError(401, "invalid_client", "unknown client_id");
          if (!(client.metadata.grant_types as string[] | undefined)?.includes(DEVICE_GRANT))
            return oauthError(400, "unauthorized_client", "the client did not register the device_code grant");
          const scope = f.get("scope") ?? "";
          const scopes = scope.split(" ").filter(Boolean);
          const devices = scopes.filter((s) => s.startsWith(DEVICE_SCOPE_PREFIX));
          if (!scopes.includes(API_SCOPE) || devices.length !== 1)
            return oauthError(400, "invalid_scope", `the scope must hold ${API_SCOPE} and exactly one ${DEVICE_SCOPE_PREFIX}<id>`);
          const deviceId = devices[0]!.slice(DEVICE_SCOPE_PREFIX.length);
          if (!/^[A-Za-z0-9._~!$&'()*+,;=:@/-]{1,255}$/.test(deviceId)) return oauthError(400, "invalid_scope", "bad device id");
          const lifetime = this.opts.deviceCodeLifetime ?? 300;
          const userCode = `${randomLetters(4)}-${randomLetters(4)}`;
          const r: DeviceRequest = {
            deviceCode: randomBytes(24).toString("base64url"),
            userCode,
            clientId: client.clientId,
            scope,
            deviceId,
            expiresAt: Date.now() + lifetime * 1000,
            state: "pending",
            polls: 0,
          };
          this.deviceRequests.set(r.deviceCode, r);
          this.counts.deviceAuthorizations++;
          return send(200, {
            device_code: r.deviceCode,
            user_code: userCode,
            verification_uri: `${this.url}/device`,
            verification_uri_complete: `${this.url}/device?user_code=${encodeURIComponent(userCode)}`,
            expires_in: lifetime,
            interval: this.opts.interval ?? 1,
          });
        }
        case "GET /device": {
          const code = u.searchParams.get("user_code") ?? "";
          const r = [...this.deviceRequests.values()].find((d) => d.userCode === code);
          const clientName = r && htmlEscape(String(this.clients.get(r.clientId)?.metadata.client_name ?? "a client"));
          const ask = r ? `Allow ${clientName} (device ${htmlEscape(r.deviceId)}) to use your account?` : "Enter the code shown by the device.";
          res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html><title>Approve a device</title><p>${ask}</p>`);
          return;
        }
        case "POST /device": {
          const f = form();
          const r = [...this.deviceRequests.values()].find((d) => d.userCode === f.get("user_code"));
          if (!r || r.state !== "pending" || Date.now() > r.expiresAt) return send(400, { error: "invalid or expired user code" });
          if (f.get("action") === "deny") {
            r.state = "denied";
            return send(200, { denied: true });
          }
          const localpart = f.get("username") ?? "";
          await this.provisionUser(localpart);
          r.localpart = localpart;
          r.state = "approved";
          return send(200, { approved: true });
        }
        case "POST /oauth2/token": {
          const f = form();
          const client = this.clients.get(f.get("client_id") ?? "");
          if (!client) return oauthError(401, "invalid_client", "unknown client_id");
          const grant = f.get("grant_type");
          if (!(client.metadata.grant_types as string[]).includes(grant ?? "")) return oauthError(400, "unauthorized_client", `grant ${grant} not registered`);
          if (grant === DEVICE_GRANT) {
            const r = this.deviceRequests.get(f.get("device_code") ?? "");
            if (!r || r.clientId !== client.clientId || r.state === "used") return oauthError(400, "invalid_grant", "unknown or used device code");
            r.polls++;
            if (Date.now() > r.expiresAt) return oauthError(400, "expired_token", "the device code expired");
            if (r.state === "denied") return oauthError(403, "access_denied", "the user denied the request");
            if (r.state === "pending") return oauthError(400, "authorization_pending", "waiting for the user");
            r.state = "used";
            // The device exists in Synapse before its first token does, as with MAS.
            await this.synapse("upsert_device", {
              localpart: r.localpart!,
              device_id: r.deviceId,
              display_name: String(client.metadata.client_name ?? "") || undefined,
            });
            this.counts.deviceTokens++;
            return send(200, this.tokenResponse(this.newSession(client.clientId, r.localpart!, r.deviceId, r.scope)));
          }
          if (grant === "refresh_token") {
            const rt = this.refreshTokens.get(f.get("refresh_token") ?? "");
            if (!rt || !rt.active || !rt.session.active || rt.session.clientId !== client.clientId) {
              this.counts.refusedRefreshes++;
              return oauthError(400, "invalid_grant", "the refresh token is unknown, used or revoked");
            }
            rt.active = false; // rotation: each refresh token works once
            this.counts.refreshes++;
            return send(200, this.tokenResponse(rt.session));
          }
          return oauthError(400, "unsupported_grant_type", String(grant));
        }
        case "POST /oauth2/introspect": {
          if (req.headers.authorization !== `Bearer ${this.opts.secret}`) return send(401, { error: "invalid_client" });
          this.counts.introspections++;
          const token = form().get("token") ?? "";
          const t = this.accessTokens.get(token);
          if (!t || !this.isActive(token)) return send(200, { active: false });
          return send(200, {
            active: true,
            scope: t.session.scope,
            username: t.session.localpart,
            sub: t.session.localpart,
            ...(t.session.clientId ? { client_id: t.session.clientId } : {}),
            // Whole seconds, rounded down: Synapse must never take a token for valid longer than it is.
            ...(t.expiresAt === undefined ? {} : { expires_in: Math.max(0, Math.floor((t.expiresAt - Date.now()) / 1000)) }),
          });
        }
        case "POST /oauth2/revoke": {
          const f = form();
          const token = f.get("token") ?? "";
          const s = this.accessTokens.get(token)?.session ?? this.refreshTokens.get(token)?.session;
          this.counts.revocations++;
          if (s && s.clientId && s.clientId !== f.get("client_id")) return oauthError(401, "invalid_client", "token of another client");
          if (s?.active) await this.endSession(s);
          return send(200, {});
        }
        default:
          return send(404, { error: "not_found", error_description: route });
      }
    } catch (e) {
      send(500, { error: "server_error", error_description: String(e) });
    }
  }
}

/** What MAS refuses at registration, so the bot's registration request is checked for real. */
function validateRegistration(m: Record<string, unknown>, server: Record<string, unknown>): string | undefined {
  const grants = m.grant_types;
  if (!Array.isArray(grants) || !grants.length) return "grant_types is required";
  const supported = server.grant_types_supported as string[];
  const unknown = grants.filter((g) => !supported.includes(g));
  if (unknown.length) return `unsupported grant types: ${unknown.join(", ")}`;
  const responseTypes = (m.response_types ?? (grants.includes("authorization_code") ? ["code"] : [])) as string[];
  if (responseTypes.includes("code") && !grants.includes("authorization_code")) return "response type code needs the authorization_code grant";
  if (grants.includes("authorization_code") && !Array.isArray(m.redirect_uris)) return "redirect_uris are required for the authorization_code grant";
  if (m.token_endpoint_auth_method !== "none") return "only public clients (token_endpoint_auth_method none) are allowed here";
  if (typeof m.client_uri !== "string" || !m.client_uri.startsWith("https://")) return "client_uri must be an https URL";
  if (m.application_type !== undefined && m.application_type !== "native" && m.application_type !== "web") return "bad application_type";
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function randomId(n: number): string {
  return randomLetters(n);
}

function randomLetters(n: number): string {
  const A = "ABCDEFGHJKLMNPQRSTUVWXYZ";
  return Array.from(randomBytes(n), (b) => A[b % A.length]).join("");
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
