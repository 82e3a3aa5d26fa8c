// Secrets must never reach a log file, the console's buffers or a chat message. Two layers: exact configured
// secrets, and patterns for token-like strings we may not know in advance (e.g. a token minted at login); then the
// one secret masker for secret-named key=value and JSON pairs (db_password=…, "api_key": …).
import { maskText } from "../core/mask.js";

const PATTERNS: Array<[RegExp, string]> = [
  [/\b(syt_[A-Za-z0-9_]+|mct_[A-Za-z0-9_]+|mat_[A-Za-z0-9_]+)/g, "‹token›"],
  [/(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, "$1‹token›"],
  [/((?:access_token|refresh_token|api_token|password|token|storage_key)["']?\s*[:=]\s*["']?)(?!‹)[^"'\s&,}]+/gi, "$1‹redacted›"],
  [/\b[a-z0-9_-]{43}=/g, "‹token›"], // Semaphore API token ids: 32 bytes, URL-safe base64, lower-cased
];

export class Redactor {
  private exact: string[] = [];

  /** Registers secrets to mask wherever they appear. Very short values are ignored (they would mask ordinary words). */
  add(...secrets: Array<string | undefined>): void {
    for (const s of secrets) if (s && s.length >= 4 && !this.exact.includes(s)) this.exact.push(s);
    this.exact.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.exact) if (out.includes(s)) out = out.split(s).join("‹redacted›");
    for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
    return maskText(out, true);
  }
}
