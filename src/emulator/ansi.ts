// Output formatting of the programs the emulator pretends to run: ansible-playbook's default callback (banners,
// coloured host results, PLAY RECAP) and Terraform's coloured plan/apply text. Colours are forced on, as Semaphore
// sets ANSIBLE_FORCE_COLOR.

const ESC = "\x1b";

const ANSIBLE_COLOR = {
  ok: "0;32",
  changed: "0;33",
  skip: "0;36",
  error: "0;31",
  unreachable: "1;31",
  warn: "1;35",
  debug: "0;90",
} as const;

function stringc(text: string, code: string): string {
  return `${ESC}[${code}m${text}${ESC}[0m`;
}

/** ansible Display.banner: a blank line, then the title padded with stars to 80 columns. */
export function banner(msg: string): string[] {
  const m = msg.trim();
  const stars = "*".repeat(Math.max(3, 79 - m.length));
  return ["", `${m} ${stars}`];
}

export const play = (name: string): string[] => banner(`PLAY [${name}]`);
export const task = (name: string): string[] => banner(`TASK [${name}]`);
export const handler = (name: string): string[] => banner(`RUNNING HANDLER [${name}]`);

export const ok = (host: string, extra = ""): string => stringc(`ok: [${host}]${extra}`, ANSIBLE_COLOR.ok);
export const changed = (host: string, extra = ""): string => stringc(`changed: [${host}]${extra}`, ANSIBLE_COLOR.changed);
export const skipping = (host: string, extra = ""): string => stringc(`skipping: [${host}]${extra}`, ANSIBLE_COLOR.skip);
export const fatal = (host: string, result: Record<string, unknown>): string =>
  stringc(`fatal: [${host}]: FAILED! => ${JSON.stringify(result)}`, ANSIBLE_COLOR.error);
export const warning = (text: string): string => stringc(`[WARNING]: ${text}`, ANSIBLE_COLOR.warn);
export const ansibleError = (text: string): string => stringc(`ERROR! ${text}`, ANSIBLE_COLOR.error);

export interface HostStats {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export function emptyStats(): HostStats {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };
}

function colorize(lead: string, num: number, color: string): string {
  const s = `${lead}=${String(num).padEnd(4)}`;
  return num !== 0 ? stringc(s, color) : s;
}

/** One PLAY RECAP line, byte-compatible with ansible's default callback with colours on. */
function recapLine(host: string, t: HostStats): string {
  const color = t.failed > 0 || t.unreachable > 0 ? ANSIBLE_COLOR.error : t.changed > 0 ? ANSIBLE_COLOR.changed : ANSIBLE_COLOR.ok;
  const h = stringc(host, color).padEnd(37);
  return (
    `${h} : ${colorize("ok", t.ok, ANSIBLE_COLOR.ok)} ${colorize("changed", t.changed, ANSIBLE_COLOR.changed)} ` +
    `${colorize("unreachable", t.unreachable, ANSIBLE_COLOR.unreachable)} ${colorize("failed", t.failed, ANSIBLE_COLOR.error)} ` +
    `${colorize("skipped", t.skipped, ANSIBLE_COLOR.skip)} ${colorize("rescued", t.rescued, ANSIBLE_COLOR.ok)} ` +
    colorize("ignored", t.ignored, ANSIBLE_COLOR.warn)
  );
}

export function recap(stats: Map<string, HostStats>): string[] {
  const lines = banner("PLAY RECAP");
  for (const [h, s] of [...stats].sort((a, b) => a[0].localeCompare(b[0]))) lines.push(recapLine(h, s));
  lines.push("");
  return lines;
}

// ---- terraform ------------------------------------------------------------------------------------------------------

export const tf = {
  bold: (s: string): string => `${ESC}[1m${s}${ESC}[0m`,
  green: (s: string): string => `${ESC}[32m${s}${ESC}[0m`,
  yellow: (s: string): string => `${ESC}[33m${s}${ESC}[0m`,
  red: (s: string): string => `${ESC}[31m${s}${ESC}[0m`,
  boldGreen: (s: string): string => `${ESC}[0m${ESC}[1m${ESC}[32m${s}${ESC}[0m`,
};
