// Who asks for an operation. Its own module so the services behind Operations can name it without importing
// operations.ts (which imports them).
import type { VerificationState } from "./store.js";

/** Who asked: a Matrix user in a room, or the operator at the console. */
export type Actor = { kind: "chat"; userId: string; roomId: string; eventId?: string } | { kind: "console"; user?: string };

/** Chat-started verifications are answered only by the admin who started them; the others only at the console. */
export function mayAnswerVerification(actor: Actor, v: Pick<VerificationState, "origin" | "owner">): boolean {
  return v.origin === "chat" ? actor.kind === "chat" && actor.userId === v.owner : actor.kind === "console";
}

export const actorName = (a: Actor): string => (a.kind === "chat" ? a.userId : `console${a.user ? `:${a.user}` : ""}`);
