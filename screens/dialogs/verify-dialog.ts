// The emoji comparison of a SAS verification that the console answers (incoming requests and ones started at the
// console; chat-started ones belong to the admin who started them). It shows the other user and device, the seven
// emoji with their names and the three numbers, and three buttons: they match, they don't, later. Its keys are in
// the keymap table (scope "verify"); this class draws, tracks the chosen button and maps clicks to buttons.
import type { VerificationState } from "../../src/core/store.js";
import { CONSOLE_ACTOR, type ViewContext } from "../context.js";
import { mayAnswerVerification } from "../../src/core/operations.js";
import type { MouseEvent } from "../widgets/input.js";
import type { KeyLike } from "../widgets/line-editor.js";
import { Dialog, type Modals } from "./dialogs.js";
import { esc, sanitize, truncate, width as strWidth, wrapPlain } from "../text.js";
import { tag } from "../theme.js";

/** Whether the console may answer this verification (the rule ops.confirmVerification enforces). */
export const consoleAnswers = (v: VerificationState): boolean => mayAnswerVerification(CONSOLE_ACTOR, v);

export const ENDED_PHASES: ReadonlyArray<VerificationState["phase"]> = ["done", "cancelled", "mismatch"];

export type VerifyButton = "match" | "mismatch" | "later";

export interface VerificationDialogHost {
  /** The verification as the store has it now. */
  state(id: string): VerificationState | undefined;
  readOnly(): boolean;
  /** A button was pressed (keys and clicks both end here). */
  press(button: VerifyButton): void;
}

/** Cells per emoji column: the longest SAS emoji name ("Light Bulb", "Headphones") is 10. */
const COL = 11;

/**
 * The emoji in columns, each centred over its name. Emoji go through sanitize(), which drops VS16 (☁️ → ☁): a
 * text-presentation character is then one cell for blessed and every terminal alike, so columns stay aligned.
 */
export function emojiGrid(emoji: Array<[string, string]>, width: number): Array<{ symbols: string; names: string }> {
  const perRow = width >= COL * emoji.length ? emoji.length : width >= COL * 4 ? 4 : Math.max(1, Math.floor(width / COL));
  const centre = (s: string) => {
    const w = strWidth(s);
    const left = Math.max(0, Math.floor((COL - w) / 2));
    return " ".repeat(left) + s + " ".repeat(Math.max(0, COL - w - left));
  };
  const rows: Array<{ symbols: string; names: string }> = [];
  for (let i = 0; i < emoji.length; i += perRow) {
    const part = emoji.slice(i, i + perRow);
    rows.push({
      symbols: part
        .map(([e]) => centre(sanitize(e)))
        .join("")
        .trimEnd(),
      names: part
        .map(([, n]) => centre(truncate(sanitize(n), COL - 1)))
        .join("")
        .trimEnd(),
    });
  }
  return rows;
}

export class VerificationDialog extends Dialog<void> {
  /** Index into buttons(); starts on Later so a stray Enter answers nothing. */
  choice: number;
  /** Set while an answer is on its way, and the last error. */
  sending?: VerifyButton;
  error?: string;
  /** Keys and clicks in the first moments are ignored: the dialog pops up while the operator may be typing. */
  readonly openedAt: number;
  private buttonRow = -1;
  private buttonRanges: Array<{ from: number; to: number; button: VerifyButton }> = [];

  static ARM_MS = 400;

  constructor(
    modals: Modals,
    ctx: ViewContext,
    readonly id: string,
    private readonly host: VerificationDialogHost,
  ) {
    super(modals, ctx, `Verify a device · ${id}`, undefined);
    this.openedAt = ctx.now();
    this.choice = this.buttons().length - 1;
  }

  get state(): VerificationState | undefined {
    return this.host.state(this.id);
  }

  /** Whether the emoji can be answered now (not read-only, still comparing, nothing on its way). */
  get answerable(): boolean {
    return !this.host.readOnly() && this.state?.phase === "sas" && !this.sending;
  }

  get armed(): boolean {
    return this.ctx.now() - this.openedAt >= VerificationDialog.ARM_MS;
  }

  buttons(): Array<{ button: VerifyButton; label: string }> {
    if (!this.answerable) return [{ button: "later", label: "Close" }];
    return [
      { button: "match", label: "They match" },
      { button: "mismatch", label: "They don't match" },
      { button: "later", label: "Later" },
    ];
  }

  choose(dir: 1 | -1): void {
    const n = this.buttons().length;
    this.choice = (Math.min(this.choice, n - 1) + dir + n) % n;
    this.redraw();
  }

  get chosen(): VerifyButton {
    const b = this.buttons();
    return b[Math.min(this.choice, b.length - 1)]!.button;
  }

  refresh(): void {
    this.choice = Math.min(this.choice, this.buttons().length - 1);
    this.redraw();
  }

  protected preferredWidth(): number {
    return COL * 7 + 2;
  }

  protected lines(width: number): string[] {
    const t = this.ctx.theme();
    const v = this.state;
    const out: string[] = [];
    const para = (s: string, style?: string) => {
      for (const l of wrapPlain(sanitize(s), width)) out.push(style ? tag(style, esc(l)) : esc(l));
    };
    if (!v) {
      para("This verification is gone.");
      return out;
    }
    const user = tag(t.text.title, esc(truncate(sanitize(v.otherUserId), Math.max(10, width - 24))));
    out.push(`${user}${tag(t.text.dim, " · device ")}${tag(t.text.key, esc(sanitize(v.otherDeviceId ?? "?")))}`);
    para(v.origin === "console" ? `Started at the console (${v.id}).` : `The other device asked to verify the bot (${v.id}).`, t.text.dim);
    out.push("");
    if (v.emoji?.length) {
      para("Compare with what the other device shows: the same emoji in the same order.");
      out.push("");
      for (const r of emojiGrid(v.emoji, width)) {
        out.push(tag(t.text.title, esc(r.symbols)));
        out.push(esc(r.names));
      }
      out.push("");
    }
    if (v.decimals) {
      para(`${v.emoji?.length ? "Or the numbers" : "Compare the numbers"}: ${v.decimals.join("  ")}`);
      out.push("");
    }
    if (v.phase === "confirmed") para("✔ You confirmed. Waiting for the other device to confirm too…", t.text.ok);
    else if (this.sending) para(this.sending === "match" ? "Confirming…" : "Reporting the mismatch…", t.text.dim);
    else if (this.host.readOnly() && v.phase === "sas") para("Read-only console: answer with a console that may change things.", t.text.warn);
    else if (v.phase !== "sas") para(`This verification is ${v.phase}${v.detail ? ` (${v.detail})` : ""}.`, t.text.dim);
    if (this.error) para(this.error, t.text.bad);
    if (out[out.length - 1] !== "") out.push("");
    // Buttons: the chosen one inverse; "they don't match" in the danger colour.
    const bs = this.buttons();
    const choice = Math.min(this.choice, bs.length - 1);
    let x = 0;
    this.buttonRanges = [];
    const parts = bs.map((b, i) => {
      const label = `[ ${b.label} ]`;
      this.buttonRanges.push({ from: x, to: x + strWidth(label), button: b.button });
      x += strWidth(label) + 3;
      const body = b.button === "mismatch" ? tag(t.text.bad, esc(label)) : b.button === "match" ? tag(t.text.ok, esc(label)) : esc(label);
      return i === choice ? `{inverse}${body}{/inverse}` : body;
    });
    this.buttonRow = out.length;
    out.push(parts.join("   "));
    const help =
      bs.length > 1 ? "y they match · n they don't · Esc later (V shows it again) · Tab/←→ Enter" : "Esc close · V shows a waiting verification again";
    out.push(tag(t.text.dim, esc(truncate(help, width))));
    return out;
  }

  /** Hints come from the keymap (scope "verify"); the console draws them. */
  hints(): string {
    return "";
  }

  /** Keys reach this dialog through the keymap, never directly. */
  key(_ch: string | undefined, _key: KeyLike): void {
    /* see KEYMAP scope "verify" */
  }

  override mouse(ev: MouseEvent, x: number, y: number): void {
    if (ev.action !== "mousedown" || y !== this.buttonRow || !this.armed) return;
    const hit = this.buttonRanges.find((b) => x >= b.from && x < b.to);
    if (hit) this.host.press(hit.button);
  }
}
