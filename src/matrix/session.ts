import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";

/** An OAuth 2.0 session (login_method = oauth_device): its access token expires and is renewed with these. */
export interface SavedOAuth {
  /** The client id the bot registered with the homeserver's authorization server. */
  clientId: string;
  refreshToken: string;
  /** When the access token expires (epoch ms); absent when the server did not say. */
  expiresAt?: number;
}

/** What lets a restart reuse the same device instead of creating a new one on every start. */
export interface SavedSession {
  homeserver: string;
  userId: string;
  deviceId: string;
  accessToken: string;
  savedAt: string;
  oauth?: SavedOAuth;
}

export const sessionPath = (storeDir: string): string => join(storeDir, "session.json");

function validOAuth(o: unknown): o is SavedOAuth {
  const v = o as Partial<SavedOAuth> | undefined;
  return !!v && typeof v.clientId === "string" && typeof v.refreshToken === "string" && (v.expiresAt === undefined || typeof v.expiresAt === "number");
}

export async function loadSession(storeDir: string): Promise<SavedSession | undefined> {
  try {
    const s = JSON.parse(await readFile(sessionPath(storeDir), "utf8")) as Partial<SavedSession>;
    if (typeof s.homeserver === "string" && typeof s.userId === "string" && typeof s.deviceId === "string" && typeof s.accessToken === "string") {
      // A damaged oauth part only costs the refresh: the token is still tried, and a new login follows if it fails.
      if (s.oauth !== undefined && !validOAuth(s.oauth)) delete s.oauth;
      return s as SavedSession;
    }
  } catch { /* absent or unreadable: log in afresh */ }
  return undefined;
}

export async function saveSession(storeDir: string, s: Omit<SavedSession, "savedAt">): Promise<void> {
  await writeFileAtomic(sessionPath(storeDir), JSON.stringify({ ...s, savedAt: new Date().toISOString() }, null, 2));
}
