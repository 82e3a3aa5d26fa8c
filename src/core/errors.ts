// The error an operation refuses or fails with, and the one sentence shown for any error.
import { errorText } from "../log/logger.js";

export class OperationError extends Error {
  constructor(
    message: string,
    readonly code: "denied" | "bad_input" | "unavailable" | "failed",
  ) {
    super(message);
  }
}

export function userMessage(e: unknown): string {
  const maybe = e as { userMessage?: () => string };
  if (maybe && typeof maybe.userMessage === "function") return maybe.userMessage();
  return errorText(e);
}
