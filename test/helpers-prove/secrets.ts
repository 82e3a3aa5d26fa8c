// Searching text for secrets, in the forms they could leak in: as is, JSON-escaped, URL-encoded, and (for long
// ones) any 16-character slice, so a secret cut in the middle or wrapped on a console row is still found.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export interface Secret {
  name: string;
  value: string;
}

export function leaks(text: string, secrets: Secret[], where: string): string[] {
  const out: string[] = [];
  for (const s of secrets) {
    const forms = new Set([s.value, JSON.stringify(s.value).slice(1, -1), encodeURIComponent(s.value)]);
    if (s.value.length >= 24) for (let i = 0; i + 16 <= s.value.length; i += 4) forms.add(s.value.slice(i, i + 16));
    for (const f of forms) {
      const at = text.indexOf(f);
      if (at >= 0) {
        out.push(`${s.name} in ${where}: …${text.slice(Math.max(0, at - 60), at + f.length + 20).replace(/\n/g, "⏎")}…`);
        break;
      }
    }
  }
  return out;
}

/** Every regular file under dir, with its mode. */
export function walk(dir: string): Array<{ path: string; mode: number; isDir: boolean }> {
  const out: Array<{ path: string; mode: number; isDir: boolean }> = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    out.push({ path: p, mode: st.mode & 0o777, isDir: st.isDirectory() });
    if (st.isDirectory()) out.push(...walk(p));
  }
  return out;
}

export const readText = (p: string): string => {
  try {
    return readFileSync(p, "latin1");
  } catch {
    return "";
  }
};
