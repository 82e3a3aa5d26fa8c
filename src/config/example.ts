import { SCHEMA, ROOM_SCHEMA, TEMPLATE_SCHEMA, envName, sectionNames, type KeyDef } from "./schema.js";

function render(def: KeyDef): string {
  if (def.example !== undefined) return def.example;
  const v = def.default;
  if (Array.isArray(v)) return v.join(", ");
  return String(v);
}

function wrap(text: string, width = 100): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.map((l) => `; ${l}`);
}

/** The text of chatrixcd.ini.example, generated from the schema so the two never disagree. */
export function exampleConfig(): string {
  const out: string[] = [
    "; ChatrixCD configuration. Every key is shown with its default (or an example value) and commented out.",
    "; Any key can be overridden by an environment variable CHATRIXCD_<SECTION>_<KEY>, e.g. CHATRIXCD_MATRIX_PASSWORD.",
    "; Secrets (password, access_token, api_token) can be read from a file instead: <key>_file = /path/to/file.",
    "; Check a file with: chatrixcd check-config --config PATH",
    "",
  ];
  for (const s of sectionNames()) {
    out.push(`[${s}]`);
    for (const [key, def] of Object.entries(SCHEMA[s] as Record<string, KeyDef>)) {
      out.push(
        ...wrap(
          `${def.doc}${def.kind === "enum" ? ` One of: ${def.values!.join(", ")}.` : ""}${def.kind === "list" ? " Comma-separated." : ""} ` +
            `Environment: ${envName(s, key)}.`,
        ),
      );
      out.push(`;${key} =${def.secret || render(def) === "" ? "" : ` ${render(def)}`}`);
      if (def.fileVariant) out.push(`;${key}_file = /etc/chatrixcd/${key}`);
      out.push("");
    }
  }
  out.push(
    ...wrap(
      'Per-room permissions: one section per room, named [room "<room id or alias>"] (an alias counts once the homeserver directory resolves it). Rooms ' +
        "without a section get [bot] default_room_access (none by default) and see only [bot] default_room_projects (none by default); admin_users may do " +
        "everything everywhere.",
    ),
  );
  out.push(';[room "!abcdefghijklmnop:example.org"]');
  for (const [key, def] of Object.entries(ROOM_SCHEMA as Record<string, KeyDef>)) {
    out.push(...wrap(`${def.doc} Comma-separated.`));
    out.push(`;${key} =${render(def) === "" ? "" : ` ${render(def)}`}`);
  }
  out.push("");
  out.push(
    ...wrap(
      'Approval policies: one section per template, named [template "<project>/<template>"] (ids or names; the template may be * for every template of ' +
        "the project). A run of such a template starts only after the requester confirmed it and enough distinct approvers approved it (reply `approve " +
        "<request>` or react 👍 on its card).",
    ),
  );
  out.push(';[template "Infrastructure/Deploy production"]');
  for (const [key, def] of Object.entries(TEMPLATE_SCHEMA as Record<string, KeyDef>)) {
    out.push(...wrap(`${def.doc}${def.kind === "list" ? " Comma-separated." : ""}`));
    out.push(`;${key} =${render(def) === "" ? "" : ` ${render(def)}`}`);
  }
  return out.join("\n") + "\n";
}
