// Matrix refuses events over 65536 bytes (the whole signed event). Everything the bot sends is cut to a budget well
// below that, measured as the JSON the homeserver will see.

/** Budget for the `content` of one event, leaving room for the envelope, signatures and escaping differences. */
export const MAX_CONTENT_BYTES = 48_000;

export const byteLength = (s: string): number => Buffer.byteLength(s, "utf8");

/** JSON-encoded size of a string value (quotes and escapes included). */
export const jsonBytes = (s: string): number => byteLength(JSON.stringify(s));

/** The longest prefix of `s` whose JSON encoding fits `maxBytes`, never splitting a surrogate pair. */
export function cutToBytes(s: string, maxBytes: number): string {
  if (jsonBytes(s) <= maxBytes) return s;
  let lo = 0,
    hi = s.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(s.slice(0, mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  let end = lo;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return s.slice(0, end);
}

/** Splits text into chunks of whole lines each within `maxBytes` (a single over-long line is cut). */
export function splitLines(text: string, maxBytes: number): string[] {
  const chunks: string[] = [];
  let cur: string[] = [];
  let curBytes = 2;
  for (let line of text.split("\n")) {
    if (jsonBytes(line) + 2 > maxBytes) line = cutToBytes(line, maxBytes - 16) + " …";
    const b = jsonBytes(line) - 2 + 2; // content + "\n" (escaped as two bytes)
    if (cur.length && curBytes + b > maxBytes) {
      chunks.push(cur.join("\n"));
      cur = [];
      curBytes = 2;
    }
    cur.push(line);
    curBytes += b;
  }
  if (cur.length) chunks.push(cur.join("\n"));
  return chunks;
}
