// Who gets a key: the top dialog, then the input bar, then the keymap table (whose screen-level handlers run after
// this router and act only while it leaves them enabled).
import type { Modal, Modals } from "./dialogs/dialogs.js";
import type { Keymap } from "./keymap.js";
import type { BottomBar } from "./widgets/command-bar.js";
import type { KeyLike } from "./widgets/line-editor.js";

export interface KeyRouterHost {
  readonly destroyed: boolean;
  readonly modals: Modals;
  readonly bar: BottomBar;
  readonly keymap: Keymap;
  /** The verification dialog, whose keys are bindings of the table (scope "verify"). */
  readonly verifyDialog: Modal | undefined;
  reportError(e: unknown): void;
  redraw(force: boolean): void;
}

export function routeKey(h: KeyRouterHost, ch: string | undefined, key: KeyLike | undefined): void {
  if (h.destroyed) return;
  const seq = key?.sequence ?? "";
  // Enter arrives twice (enter, then return); mouse reports are not keys.
  if (!key || key.full === "return" || key.full === "linefeed" || seq.startsWith("\x1b[<") || seq.startsWith("\x1b[M") || key.full === "undefined") {
    h.keymap.enabled = false;
    return;
  }
  const top = h.modals.top;
  if (top && top === h.verifyDialog) {
    // The only scope in force while it is on top.
    h.keymap.enabled = true;
  } else if (top) {
    h.keymap.enabled = false;
    try {
      top.key(ch, key);
    } catch (e) {
      h.reportError(e);
    }
  } else if (h.bar.active) {
    h.keymap.enabled = false;
    h.bar.key(ch, key);
  } else if (key.meta && !key.ctrl && key.full && /^M-(S-)?[a-z0-9]$|^M-[^a-zA-Z]$/.test(key.full) && !h.keymap.resolve(key.full)) {
    // Escape then a key arriving in one read looks like Alt+key: treat it as the two keys it was.
    h.keymap.enabled = false;
    h.keymap.dispatch("escape", (e) => h.reportError(e));
    h.keymap.dispatch(key.full.slice(2), (e) => h.reportError(e));
  } else {
    h.keymap.enabled = true;
  }
  h.redraw(true);
}
