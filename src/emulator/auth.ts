// Authentication (§2): bearer API tokens (the header is lower-cased; if it contains "bearer", the text after the
// first "bearer " is the token; expired tokens are rejected like SQL backends do), else the `semaphore` session
// cookie set by POST /api/auth/login (sessions unused for more than 7 days expire).

import type { IncomingHttpHeaders } from "node:http";
import { randomBytes } from "node:crypto";
import type { Store } from "./store.js";
import type { SessionRow, UserRow } from "./types.js";

const SESSION_MAX_IDLE_MS = 7 * 24 * 3600 * 1000;
export const COOKIE_NAME = "semaphore";

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export function authenticate(store: Store, headers: IncomingHttpHeaders): UserRow | null {
  const auth = (headers.authorization ?? "").toLowerCase();
  if (auth.length > 0 && auth.includes("bearer")) {
    const tokenId = auth.replace("bearer ", "");
    const token = store.tokens.get(tokenId);
    if (!token || token.expired) return null;
    return store.users.get(token.user_id) ?? null;
  }
  const cookie = parseCookies(headers.cookie)[COOKIE_NAME];
  if (!cookie) return null;
  const session = store.sessions.get(cookie);
  if (!session || session.expired) return null;
  if (Date.now() - session.lastActive > SESSION_MAX_IDLE_MS) {
    session.expired = true;
    return null;
  }
  session.lastActive = Date.now();
  return store.users.get(session.user_id) ?? null;
}

let sessionSeq = 0;

export function createSession(store: Store, userId: number): SessionRow {
  const s: SessionRow = {
    cookie: randomBytes(48).toString("base64url"),
    id: ++sessionSeq,
    user_id: userId,
    lastActive: Date.now(),
    expired: false,
  };
  store.sessions.set(s.cookie, s);
  return s;
}

export function sessionOf(store: Store, headers: IncomingHttpHeaders): SessionRow | undefined {
  const cookie = parseCookies(headers.cookie)[COOKIE_NAME];
  return cookie ? store.sessions.get(cookie) : undefined;
}
