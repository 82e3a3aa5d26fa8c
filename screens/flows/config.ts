// Reloading the configuration file (R): it is a change to the running bot, so it asks first; an invalid file
// changes nothing and says why.
import { CONSOLE_ACTOR } from "../context.js";
import { userMessage } from "../../src/core/operations.js";
import { ConfirmDialog } from "../dialogs/dialogs.js";
import type { ConfigPanel } from "../panels/config-panel.js";
import { promptCancelled, type FlowHost } from "./host.js";

export class ConfigFlow {
  /** `applied`: the console re-reads what it takes from the config (theme, accent) and redraws. */
  constructor(
    private readonly host: FlowHost,
    private readonly panel: ConfigPanel,
    private readonly applied: () => void,
  ) {}

  reload(): void {
    const h = this.host;
    const path = h.app.config.path;
    const d = h.openDialog(
      new ConfirmDialog(h.modals, h.ctx, {
        title: "Reload configuration",
        lines: [
          `Reload the configuration from ${path ?? "the environment (no config file)"}?`,
          "Permissions, rooms and templates change for everyone at once. An invalid file changes nothing and says why.",
        ],
        yes: "Reload",
      }),
    );
    void d.result.then((yes) => {
      if (!yes) {
        promptCancelled(h, "reload config", "Reload cancelled; the running configuration is unchanged.");
        return;
      }
      this.reloadNow();
    });
  }

  private reloadNow(): void {
    const h = this.host;
    try {
      const r = h.app.ops.reloadConfig(CONSOLE_ACTOR);
      const errors = r.problems.filter((p) => p.startsWith("error"));
      this.panel.setReload({ time: Date.now(), ok: r.ok, message: r.ok ? `${r.problems.length} warning(s)` : errors.join("; ") });
      if (r.ok) h.say(`Configuration reloaded${r.problems.length ? ` with ${r.problems.length} warning(s)` : ""}.`, "ok");
      else h.say(`Reload refused, the running config is kept: ${errors[0] ?? "invalid file"}`, "error");
    } catch (e) {
      this.panel.setReload({ time: Date.now(), ok: false, message: userMessage(e) });
      h.say(userMessage(e), "error");
    }
    this.applied();
  }
}
