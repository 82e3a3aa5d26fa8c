// blessed tags to the SGR escape codes blessed itself would emit, for lines the console builds with ANSI (the log):
// one conversion per distinct opening tag string, kept.
export class SgrCache {
  private readonly cache = new Map<string, string>();

  /** `attr`: blessed's program._attr ("red fg" → "\x1b[31m"; null for what it does not know). */
  constructor(private readonly attr: (param: string) => string | null) {}

  /** The SGR for the opening tags in `open` ("{bold}{red-fg}"); closing tags and text are ignored. */
  convert(open: string): string {
    const hit = this.cache.get(open);
    if (hit !== undefined) return hit;
    let out = "";
    for (const m of open.matchAll(/\{([^/{}][^{}]*)\}/g)) out += this.attr(m[1]!.replace(/-/g, " ")) ?? "";
    this.cache.set(open, out);
    return out;
  }
}
