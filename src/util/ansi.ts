// ANSI SGR colours (Ansible, Terraform and shell output) to Matrix HTML: `<span data-mx-color>` / `<b>`, everything
// else escaped. Other escape sequences and control characters are dropped. Tags never span lines, so any line
// boundary is a safe place to split a chunk.
import { escapeHtml } from "./html.js";

/** Tango palette, as ChatrixCD used: 30–37 and bright 90–97. */
const FG: Record<number, string> = {
  30: "#000000",
  31: "#cc0000",
  32: "#4e9a06",
  33: "#c4a000",
  34: "#3465a4",
  35: "#75507b",
  36: "#06989a",
  37: "#d3d7cf",
  90: "#555753",
  91: "#ef2929",
  92: "#8ae234",
  93: "#fce94f",
  94: "#729fcf",
  95: "#ad7fa8",
  96: "#34e2e2",
  97: "#eeeeec",
};

interface SgrState {
  fg?: string;
  bg?: string;
  bold: boolean;
}

const CSI = /\x1b\[([0-9;:?]*)([ -/]*[@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]/g;

function applySgr(state: SgrState, params: string): void {
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) {
      state.fg = undefined;
      state.bg = undefined;
      state.bold = false;
    } else if (c === 1) state.bold = true;
    else if (c === 22) state.bold = false;
    else if (FG[c]) state.fg = FG[c];
    else if (c === 39) state.fg = undefined;
    else if (c >= 40 && c <= 47) state.bg = FG[c - 10];
    else if (c >= 100 && c <= 107) state.bg = FG[c - 10];
    else if (c === 49) state.bg = undefined;
    else if (c === 38 || c === 48) {
      // 38;5;n or 38;2;r;g;b: map truecolour, skip 256-colour indexes beyond the basic 16.
      const mode = codes[i + 1];
      if (mode === 2 && codes.length >= i + 5) {
        const hex =
          "#" +
          codes
            .slice(i + 2, i + 5)
            .map((v) =>
              Math.max(0, Math.min(255, v || 0))
                .toString(16)
                .padStart(2, "0"),
            )
            .join("");
        if (c === 38) state.fg = hex;
        else state.bg = hex;
        i += 4;
      } else if (mode === 5) {
        const n = codes[i + 2] ?? 0;
        const basic = n < 8 ? FG[30 + n] : n < 16 ? FG[90 + n - 8] : undefined;
        if (c === 38) state.fg = basic;
        else state.bg = basic;
        i += 2;
      }
    }
  }
}

function open(s: SgrState): string {
  let out = "";
  if (s.fg || s.bg) out += `<span${s.fg ? ` data-mx-color="${s.fg}"` : ""}${s.bg ? ` data-mx-bg-color="${s.bg}"` : ""}>`;
  if (s.bold) out += "<b>";
  return out;
}

function close(s: SgrState): string {
  return (s.bold ? "</b>" : "") + (s.fg || s.bg ? "</span>" : "");
}

/** Converts lines to HTML lines. Colour state carries from one line to the next, but every line is closed. */
export function ansiLinesToHtml(lines: string[]): string[] {
  const state: SgrState = { bold: false };
  const out: string[] = [];
  for (const line of lines) {
    let html = open(state);
    let last = 0;
    CSI.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = CSI.exec(line))) {
      html += escapeHtml(line.slice(last, m.index));
      last = m.index + m[0].length;
      if (m[2] === "m") {
        html += close(state);
        applySgr(state, m[1] ?? "");
        html += open(state);
      } else if (m[0] === "\t") html += "\t";
    }
    html += escapeHtml(line.slice(last)) + close(state);
    out.push(html.replace(/<span[^>]*><\/span>|<b><\/b>/g, ""));
  }
  return out;
}

/** Removes every escape sequence and control character except tabs. */
export function stripControl(text: string): string {
  return text.replace(CSI, (m) => (m === "\t" ? "\t" : ""));
}
