/**
 * Joins INI texts section by section, a later key replacing an earlier one: tests add to a base config without
 * repeating a section or a key, which the loader refuses (issue 12). Lines before any header belong to the section
 * open at the end of the previous text, as if the texts were concatenated.
 */
export function mergeIni(...texts: string[]): string {
  const sections = new Map<string, Map<string, string>>();
  let current = "";
  for (const text of texts) {
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith(";") || line.startsWith("#")) continue;
      if (line.startsWith("[")) current = line;
      if (!sections.has(current)) sections.set(current, new Map());
      if (!line.startsWith("[")) sections.get(current)!.set(line.split("=")[0]!.trim(), line);
    }
  }
  return [...sections].map(([header, keys]) => [header, ...keys.values()].filter(Boolean).join("\n")).join("\n\n") + "\n";
}
