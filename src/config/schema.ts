// Every configuration key is declared here once. Validation, environment overrides, chatrixcd.ini.example
// and the console's Config panel are all derived from this table.

export type KeyKind = "string" | "url" | "bool" | "int" | "list" | "path" | "enum" | "mxid" | "listen";

export interface KeyDef<T = unknown> {
  kind: KeyKind;
  default: T;
  doc: string;
  /** Secrets are masked in errors, logs and the Config panel, and registered with the log redactor. */
  secret?: boolean;
  /** For enum keys. */
  values?: readonly string[];
  min?: number;
  max?: number;
  /** A `<key>_file` companion exists whose file content supplies this secret. */
  fileVariant?: boolean;
  /** Placeholder shown in the example file instead of the default. */
  example?: string;
  /** A reload cannot apply it to the running bot (a connection or file opened at start): it needs a restart. */
  restart?: boolean;
}

const str = (doc: string, def = "", extra: Partial<KeyDef<string>> = {}): KeyDef<string> => ({ kind: "string", default: def, doc, ...extra });
const url = (doc: string, def = "", extra: Partial<KeyDef<string>> = {}): KeyDef<string> => ({ kind: "url", default: def, doc, ...extra });
const path = (doc: string, def = "", extra: Partial<KeyDef<string>> = {}): KeyDef<string> => ({ kind: "path", default: def, doc, ...extra });
const bool = (doc: string, def: boolean): KeyDef<boolean> => ({ kind: "bool", default: def, doc });
const int = (doc: string, def: number, min: number, max: number): KeyDef<number> => ({ kind: "int", default: def, doc, min, max });
const list = (doc: string, def: string[] = [], extra: Partial<KeyDef<string[]>> = {}): KeyDef<string[]> => ({ kind: "list", default: def, doc, ...extra });
const oneOf = <V extends string>(doc: string, values: readonly V[], def: V): KeyDef<V> => ({ kind: "enum", default: def, doc, values });
const secret = (doc: string): KeyDef<string> => ({ kind: "string", default: "", doc, secret: true, fileVariant: true });
const atStart = <T>(def: KeyDef<T>): KeyDef<T> => ({ ...def, restart: true });

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export const SCHEMA = {
  matrix: {
    homeserver: atStart(
      url("Base URL of the Matrix homeserver. Leave empty to run without Matrix (console only).", "", { example: "https://matrix.example.org" }),
    ),
    user_id: atStart({ kind: "mxid", default: "", doc: "The bot's full Matrix ID.", example: "@chatrixcd:example.org" } as KeyDef<string>),
    password: atStart(secret("Password for m.login.password. Use password_file to keep it out of this file.")),
    access_token: atStart(secret("An existing access token (then device_id is required). Use access_token_file to keep it out of this file.")),
    login_method: oneOf(
      "How the bot logs in when it has no saved session: auto (access_token if set, else password, else login_token), password, access_token, " +
        "login_token (a single-use m.login.token), sso (prints the homeserver's SSO URL; the login token comes back through sso_callback_listen, or is " +
        "pasted in the console or on stdin), or oauth_device (OAuth 2.0 device authorization, for homeservers with next-gen auth such as MAS: prints a URL " +
        "and a code to approve in a browser; the access token is renewed with its refresh token). The session is saved, so a restart does not log in again.",
      ["auto", "password", "access_token", "login_token", "sso", "oauth_device"] as const,
      "auto",
    ),
    login_token: secret(
      "A single-use login token (m.login.token) from an SSO redirect or from another session (e.g. Synapse's login_via_existing_session). Used once, " +
        "when there is no saved session; it expires within minutes. Use login_token_file to keep it out of this file.",
    ),
    sso_idp: str("With login_method = sso: the identity provider id to go straight to (the homeserver lists them). Empty: the homeserver's own choice page."),
    sso_callback_listen: {
      kind: "listen",
      default: "",
      doc:
        "With login_method = sso: host:port of a loopback HTTP listener that catches the browser's redirect with the login token (port 0 picks a free " +
        "one). Empty: paste the token or the redirect URL in the console or on stdin.",
      example: "127.0.0.1:8765",
    } as KeyDef<string>,
    device_id: atStart(str("Device ID to log in as. Empty: reuse the saved session's device, or let the server choose one.")),
    device_name: str("Display name of the bot's device.", "ChatrixCD"),
    store_path: atStart(path("Where the Matrix session and sync token are kept. Empty: <state_dir>/matrix.")),
    max_command_age: int("Commands older than this many seconds are ignored (after downtime or a stale sync).", 300, 5, 86400),
    encryption: atStart(
      bool(
        "Take part in end-to-end encrypted rooms. The device's keys are kept in <store_path>/crypto-store.bin (mode 0600), saved with the sync token, so " +
          "a restart keeps the same device and keys. Off: encrypted rooms are listed but cannot be read.",
        true,
      ),
    ),
    storage_key: atStart(
      secret(
        "Encrypts the crypto store at rest: 32 random bytes as base64 or hex (e.g. from `openssl rand -base64 32`); any other text is used as a " +
          "passphrase (slower to open). Empty: the store is protected by its file mode only. It must not change for the life of the device. Use " +
          "storage_key_file to keep it out of this file.",
      ),
    ),
    cross_signing: bool(
      "On start, set up cross-signing for the bot's account if it has none, and sign this device with it (needs password, which the homeserver asks for " +
        "again). Other users then verify the bot once, not each of its devices.",
      false,
    ),
  },
  semaphore: {
    url: atStart(url("Base URL of Semaphore UI (the part before /api).", "", { example: "https://semaphore.example.org" })),
    api_token: secret("Semaphore API token (Bearer). Use api_token_file to keep it out of this file."),
    ca_file: atStart(path("PEM file with extra CA certificates for Semaphore's TLS certificate.")),
    tls_verify: atStart(bool("Verify Semaphore's TLS certificate. Turn off only for testing.", true)),
    max_concurrent_requests: atStart(int("Requests to Semaphore in flight at once.", 4, 1, 64)),
    poll_interval: atStart(int("Seconds between polls when the websocket is unavailable.", 5, 1, 3600)),
    timeout: atStart(int("Seconds before a Semaphore request is abandoned.", 15, 1, 600)),
    web_url: url("Public URL of Semaphore's web UI, for the links on status cards. Empty: the url above.", "", { example: "https://semaphore.example.org" }),
  },
  bot: {
    command_prefix: str("Prefix that marks a chat message as a command.", "!cd"),
    admin_users: list("Matrix IDs with every permission in every room.", [], { example: "@alice:example.org, @bob:example.org" }),
    allowed_users: list("Matrix IDs that may use the bot and invite it to rooms. Empty: only admin_users (both empty: nobody, only the console)."),
    default_room_access: oneOf(
      "What allowed users may do in rooms without a [room] section (a new room, a DM): none (denied; admins only), or read (status, logs, tasks, ...) " +
        "within default_room_projects.",
      ["none", "read"] as const,
      "none",
    ),
    default_room_projects: list(
      "Projects (id or name, `*` for all) that rooms without a [room] section may see. Empty: none, so inviting the bot to a new room or a DM shows no " +
        "project to non-admins.",
    ),
    allowed_rooms: list(
      "Room IDs or aliases the bot answers in and accepts invites to. Aliases count once the homeserver's directory resolves them (at start and on " +
        "reload). Empty: every room it has joined.",
    ),
    greeting_rooms: list("Rooms that get a message when the bot starts and stops."),
    messages_file: path("JSON file with personality lines (greetings, pet, scold, ...). Reloaded on change."),
    aliases_file: path("JSON file with command aliases. Empty: <state_dir>/aliases.json. Reloaded on change."),
    state_dir: atStart(path("Directory for state that must survive restarts (session, tracked tasks, audit log).", "./.chatrixcd-state")),
    log_file: atStart(path("Log file (appended, mode 0600). Empty: no log file.")),
    log_level: oneOf("Least severe level that is logged.", LOG_LEVELS, "info"),
    confirm_timeout: int("Seconds a run, stop or exit waits for the requester's yes/no (reply or 👍/👎 reaction) before it is cancelled.", 300, 10, 3600),
    show_host_info: bool("Let the info command show this machine's host name and IP addresses.", false),
    task_output_threads: bool("Post task output into the status card's thread in rooms that have not said `log on` or `log off`.", true),
    http_listen: atStart({
      kind: "listen",
      default: "",
      doc:
        "host:port of the HTTP endpoint for health checks (/healthz: 200 or 503) and Prometheus metrics (/metrics). Empty: off. It has no authentication, " +
        "so keep it on a loopback address (127.0.0.1, [::1]) unless a firewall or proxy guards it. Port 0 picks a free port (logged).",
      example: "127.0.0.1:9464",
    } as KeyDef<string>),
    metrics_names: bool(
      "Put project and template names in /metrics labels (project, template) besides their ids (project_id, template_id). Off: ids only, so whoever can " +
        "scrape the endpoint learns no names.",
      false,
    ),
  },
  console: {
    mouse: bool("Mouse clicks and wheel in the console. Turn off to select text with the mouse natively.", true),
    theme: oneOf("Console colour theme.", ["dark", "light", "mono"] as const, "dark"),
    read_only: bool("Hide every action that changes something (run, stop, approve, say, join, leave).", false),
    environment: str("Name of the environment this bot serves, shown in the console header; production (or prod, live) turns the header red.", "", {
      example: "production",
    }),
  },
} as const satisfies Record<string, Record<string, KeyDef>>;

/** Keys allowed in a `[room "<room id or alias>"]` section: who may do what in that room. */
export const ROOM_SCHEMA = {
  projects: list("Projects (id or name) this room may see and run. `*` means all. Empty: none.", ["*"]),
  templates: list("Templates (id or name) this room may run. `*` means all.", ["*"]),
  run: list("Users who may run tasks here. `*` means every member.", []),
  stop: list("Users who may stop tasks here. `*` means every member.", []),
  approve: list("Users who may approve or deny runs here.", []),
  read: list("Users who may use read-only commands here (status, logs, tasks, ...). `*` means every member.", ["*"]),
} as const satisfies Record<string, KeyDef>;

/**
 * Keys allowed in a `[template "<project>/<template>"]` section: the approval policy of a template. `<project>` and
 * `<template>` are ids or names (case-insensitive); `<template>` may be `*` for every template of the project.
 */
export const TEMPLATE_SCHEMA = {
  approvals_required: int("Distinct approvals needed before a run of this template starts. 0: no approval (the requester's yes is enough).", 1, 0, 10),
  approvers: list(
    "Users who may approve runs of this template. Empty: users with approve permission in the room where the run was asked for. Nobody approves their own run.",
    [],
    { example: "@lead:example.org, @oncall:example.org" },
  ),
  approval_expiry: int("Seconds an approval request stays open; after that it expires and nothing runs.", 3600, 60, 7 * 86400),
} as const satisfies Record<string, KeyDef>;

export type Schema = typeof SCHEMA;
export type SectionName = keyof Schema;
type ValueOf<D> = D extends KeyDef<infer T> ? (T extends readonly string[] ? string[] : T) : never;
export type SectionValues<S extends Record<string, KeyDef>> = { -readonly [K in keyof S]: ValueOf<S[K]> };
export type ConfigValues = { -readonly [S in SectionName]: SectionValues<Schema[S]> };
export type RoomPolicy = SectionValues<typeof ROOM_SCHEMA> & { room: string };
export type TemplatePolicy = SectionValues<typeof TEMPLATE_SCHEMA> & { project: string; template: string };

export function sectionNames(): SectionName[] {
  return Object.keys(SCHEMA) as SectionName[];
}

/** The definition of `[section] key`. Own properties only: a user's key such as `constructor` must not find Object's. */
export function keyDef(section: string, key: string): KeyDef | undefined {
  const keys: Record<string, KeyDef> | undefined = Object.hasOwn(SCHEMA, section) ? (SCHEMA as Record<string, Record<string, KeyDef>>)[section] : undefined;
  return keys && Object.hasOwn(keys, key) ? keys[key] : undefined;
}

/** Name of the environment variable that overrides a key. */
export function envName(section: string, key: string): string {
  return `CHATRIXCD_${section.toUpperCase()}_${key.toUpperCase()}`;
}
