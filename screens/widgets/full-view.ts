// What the full-width views over the panels (task output, History) share: their box, the dirty flag, and handing
// blessed the content and the title only when they changed (blessed parses the tags again on every set).
import type blessed from "blessed";
import type { ViewContext } from "../context.js";
import { viewBox } from "./view-box.js";

export abstract class FullView {
  readonly box: blessed.Widgets.BoxElement;
  dirty = true;
  private lastContent = "";
  private lastLabel = "";

  constructor(
    protected readonly ctx: ViewContext,
    parent: blessed.Widgets.Node,
  ) {
    this.box = viewBox(ctx, parent);
  }

  markDirty(): void {
    this.dirty = true;
    this.ctx.render();
  }

  /** Sets the content lines and the title where they changed; true when something changed on screen. */
  protected present(lines: string[], label: string): boolean {
    const content = lines.join("\n");
    let changed = false;
    if (content !== this.lastContent) {
      this.lastContent = content;
      this.box.setContent(content);
      changed = true;
    }
    if (label !== this.lastLabel) {
      this.lastLabel = label;
      this.box.setLabel(label);
      changed = true;
    }
    return changed;
  }

  /** Forces the next update to redraw (after a resize). */
  invalidate(): void {
    this.lastContent = "";
    this.dirty = true;
  }
}
