// The Matrix login the engine waits for: an SSO token to paste (hidden), or an OAuth device code to approve in a
// browser. The dialog opens by itself when the engine asks, and again with :login.
import { CONSOLE_ACTOR } from "../context.js";
import type { LoginPromptState } from "../../src/core/store.js";
import { userMessage } from "../../src/core/operations.js";
import { tokenFromPaste } from "../../src/matrix/sso.js";
import { PromptDialog, TextDialog } from "../dialogs/dialogs.js";
import { sanitize } from "../text.js";
import type { FlowHost } from "./host.js";

export class LoginFlow {
  dialog?: PromptDialog | TextDialog;
  /** When the operator last sent a login answer: a prompt right after it means the answer was not accepted. */
  private answeredAt = 0;
  private readonly onPrompt = (p: LoginPromptState | undefined) => this.changed(p);

  constructor(private readonly host: FlowHost) {
    host.app.store.on("loginPrompt", this.onPrompt);
    if (host.app.store.loginPrompt) this.changed(host.app.store.loginPrompt);
  }

  close(): void {
    this.host.app.store.removeListener("loginPrompt", this.onPrompt);
  }

  private changed(p: LoginPromptState | undefined): void {
    if (this.host.destroyed) return;
    if (!p) {
      const d = this.dialog;
      this.dialog = undefined;
      d?.cancel();
      return;
    }
    // Asked again right after an answer: the engine did not take it.
    const retry = Date.now() - this.answeredAt < 10_000;
    this.answeredAt = 0;
    if (!this.dialog) this.open(retry ? "That was not accepted: paste the login token, or the whole URL the browser ended on, again." : undefined);
  }

  open(error?: string): void {
    const h = this.host;
    const p = h.app.store.loginPrompt;
    if (!p) {
      h.say("No Matrix login is waiting.", "warn");
      return;
    }
    if (this.dialog) return;
    if (p.code) {
      this.openDevice(p);
      return;
    }
    const d = new PromptDialog(h.modals, h.ctx, {
      title: "Matrix login (SSO)",
      lines: [
        sanitize(p.message),
        "",
        sanitize(p.url),
        "",
        "m turns the mouse off so the terminal can select the URL (it is in the log too). What you paste is hidden.",
      ],
      validate: (v) => (tokenFromPaste(v) ? undefined : "That is not a login token or a URL with loginToken=…: paste it again."),
      secret: true,
      error,
    });
    this.dialog = d;
    h.openDialog(d);
    void d.result.then((text) => {
      if (this.dialog === d) this.dialog = undefined;
      if (text === undefined) {
        if (h.app.store.loginPrompt && !h.destroyed) h.say("The Matrix login still waits: :login shows the prompt again.", "warn", 15_000);
        return;
      }
      try {
        this.answeredAt = Date.now();
        const ok = h.app.ops.answerLoginPrompt(CONSOLE_ACTOR, text);
        h.say(ok ? "Login token sent; logging in…" : "No Matrix login is waiting any more.", ok ? "ok" : "warn");
      } catch (e) {
        h.say(userMessage(e), "error");
      }
    });
  }

  /** The OAuth device grant: nothing to paste; the operator approves the code in a browser and the prompt goes away. */
  private openDevice(p: LoginPromptState): void {
    const h = this.host;
    const d = new TextDialog(h.modals, h.ctx, {
      title: "Matrix login (device)",
      lines: [
        sanitize(p.message),
        "",
        `Open: ${sanitize(p.url)}`,
        `Code: ${sanitize(p.code ?? "")}`,
        "",
        "This closes by itself once the login is approved. m turns the mouse off so the terminal can select the URL (it is in the log too).",
      ],
      plain: true,
    });
    this.dialog = d;
    h.openDialog(d);
    void d.result.then(() => {
      if (this.dialog === d) this.dialog = undefined;
      if (h.app.store.loginPrompt && !h.destroyed) h.say("The Matrix login still waits for approval: :login shows the code again.", "warn", 15_000);
    });
  }
}
