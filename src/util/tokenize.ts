/** Shell-like splitting: "double" and 'single' quotes group words, backslash escapes inside double quotes and bare words. */
export type Tokens = { ok: true; tokens: string[] } | { ok: false; error: string };

export function tokenize(input: string): Tokens {
  const tokens: string[] = [];
  let cur = "";
  let inToken = false;
  let quote: '"' | "'" | null = null;
  let quoteStart = -1;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quote) {
      if (c === quote) {
        quote = null;
        continue;
      }
      if (c === "\\" && quote === '"' && (input[i + 1] === '"' || input[i + 1] === "\\")) {
        cur += input[++i];
        continue;
      }
      cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      quoteStart = i;
      inToken = true;
      continue;
    }
    if (c === "\\" && i + 1 < input.length) {
      cur += input[++i];
      inToken = true;
      continue;
    }
    if (/\s/.test(c)) {
      if (inToken) {
        tokens.push(cur);
        cur = "";
        inToken = false;
      }
      continue;
    }
    cur += c;
    inToken = true;
  }
  if (quote) {
    return {
      ok: false,
      error: `unbalanced ${quote === '"' ? "double" : "single"} quote at character ${quoteStart + 1}: close it with ${quote}, or escape it as \\${quote}`,
    };
  }
  if (inToken) tokens.push(cur);
  return { ok: true, tokens };
}

/**
 * The one way run arguments are split ("Extra arguments" in the console wizard, `--args` in chat): shell-style, so
 * `-e "x=1 2"` is two words, ["-e", "x=1 2"]. Throws an Error saying where an unbalanced quote is.
 */
export function splitArgs(text: string): string[] {
  const toks = tokenize(text);
  if (!toks.ok) throw new Error(toks.error);
  return toks.tokens;
}
