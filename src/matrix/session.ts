import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";

/** What lets a restart reuse the same device instead of creating a new one on every start. */
export interface SavedSession {
  homeserver: string;
  userId: string;
  deviceId: string;
  accessToken: string;
  savedAt: string;
}

export const sessionPath = (storeDir: string): string => join(storeDir, "session.json");

export async function loadSession(storeDir: string): Promise<SavedSession | undefined> {
  try {
    const s = JSON.parse(await readFile(sessionPath(storeDir), "utf8")) as Partial<SavedSession>;
    if (typeof s.homeserver === "string" && typeof s.userId === "string" && typeof s.deviceId === "string" && typeof s.accessToken === "string") return s as SavedSession;
  } catch { /* absent or unreadable: log in afresh */ }
  return undefined;
}

export async function saveSession(storeDir: string, s: Omit<SavedSession, "savedAt">): Promise<void> {
  await writeFileAtomic(sessionPath(storeDir), JSON.stringify({ ...s, savedAt: new Date().toISOString() }, null, 2));
}
