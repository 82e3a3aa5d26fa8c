import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { errorText } from "../log/logger.js";

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

/**
 * session.json exists but cannot be used. Starting anyway would log in as a new device and leave the old device's
 * encryption keys behind, so the bot refuses to start and says what to do. Never carries the file's content.
 */
export class SessionUnreadable extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(
      `Could not start: the saved Matrix session ${file} cannot be read (${reason}). It names the bot's device, whose encryption keys ` +
        "are in the crypto store next to it; logging in afresh would make a new device. Fix the file (or its permissions), or remove it " +
        "to log in as a new device (the old device's crypto store is then kept as a dated backup).",
    );
    this.name = "SessionUnreadable";
  }
}

const REQUIRED = ["homeserver", "userId", "deviceId", "accessToken"] as const;

/** What is wrong with a parsed session.json, or undefined when it is a usable session. Names fields, never values. */
function shapeProblem(s: unknown): string | undefined {
  if (typeof s !== "object" || s === null || Array.isArray(s)) return "it is not a JSON object";
  const v = s as Record<string, unknown>;
  const bad = REQUIRED.filter((k) => typeof v[k] !== "string" || !v[k]);
  if (bad.length) return `${bad.join(", ")} ${bad.length > 1 ? "are" : "is"} missing, empty or not a string`;
  if (v.oauth === undefined) return undefined;
  const o = v.oauth as Partial<SavedOAuth> | null;
  const oauthOk =
    typeof o === "object" &&
    o !== null &&
    typeof o.clientId === "string" &&
    typeof o.refreshToken === "string" &&
    (o.expiresAt === undefined || typeof o.expiresAt === "number");
  return oauthOk ? undefined : "its oauth part lacks clientId or refreshToken, or has a wrong expiresAt";
}

/** The saved session; undefined when there is none. Throws SessionUnreadable when the file exists but cannot be used. */
export async function loadSession(storeDir: string): Promise<SavedSession | undefined> {
  const file = sessionPath(storeDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SessionUnreadable(file, errorText(e));
  }
  if (!text.trim()) throw new SessionUnreadable(file, "it is empty");
  let parsed: unknown;
  // JSON.parse's message quotes the text around the error, which may be the token: not shown.
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SessionUnreadable(file, "it is not valid JSON");
  }
  const problem = shapeProblem(parsed);
  if (problem) throw new SessionUnreadable(file, problem);
  return parsed as SavedSession;
}

export async function saveSession(storeDir: string, s: Omit<SavedSession, "savedAt">): Promise<void> {
  await writeFileAtomic(sessionPath(storeDir), JSON.stringify({ ...s, savedAt: new Date().toISOString() }, null, 2));
}
