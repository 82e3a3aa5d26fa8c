// Reaction keys and text answers that mean yes or no.
const YES_KEYS = ["👍", "✅", "✔", "☑", "🆗", "👌", "yes", "y"];
const NO_KEYS = ["👎", "❌", "✖", "⛔", "🚫", "no", "n"];
const YES_WORDS = ["y", "yes", "yeah", "yep", "yup", "ok", "okay", "sure", "go", "confirm", "confirmed", "do it", "👍", "✅", "✔", "☑", "🆗", "👌"];
const NO_WORDS = ["n", "no", "nope", "nah", "cancel", "abort", "stop", "don't", "dont", "👎", "❌", "✖", "⛔", "🚫"];

/** Strips variation selectors and skin-tone modifiers, so 👍🏽 and ✔️ count like 👍 and ✔. */
export function normalizeKey(key: string): string {
  return key
    .replace(/[\uFE0E\uFE0F]|\u{1F3FB}|\u{1F3FC}|\u{1F3FD}|\u{1F3FE}|\u{1F3FF}/gu, "")
    .trim()
    .toLowerCase();
}

export function reactionAnswer(key: string): "yes" | "no" | undefined {
  const k = normalizeKey(key);
  if (YES_KEYS.includes(k)) return "yes";
  if (NO_KEYS.includes(k)) return "no";
  return undefined;
}

/** Removes the quoted reply fallback ("> <@a:b> ...\n\n") some clients put before a reply's text. */
export function stripReplyFallback(body: string): string {
  const lines = body.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith(">")) i++;
  if (i > 0 && lines[i] === "") i++;
  return lines.slice(i).join("\n");
}

/** A whole message that answers a yes/no prompt; undefined for anything else. */
export function textAnswer(body: string, prefix?: string): "yes" | "no" | undefined {
  let t = stripReplyFallback(body).trim();
  if (prefix && t.toLowerCase().startsWith(prefix.toLowerCase() + " ")) t = t.slice(prefix.length).trim();
  t = normalizeKey(t)
    .replace(/[.!]+$/, "")
    .trim();
  if (YES_WORDS.includes(t)) return "yes";
  if (NO_WORDS.includes(t)) return "no";
  return undefined;
}
