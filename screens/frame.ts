// Partial frames. blessed redraws every element on every render (about a millisecond at 160x48); boxes that did not
// change keep their cells from the last frame instead. Anything drawn over a changed box is drawn again (a view
// over a live panel), and overlays (dialogs, the completion popup) force a full redraw.
import type blessed from "blessed";
import type { Screen } from "./terminal.js";

type Drawn = { lpos?: { xi: number; xl: number; yi: number; yl: number }; hidden: boolean };

export class Frames {
  /** Draw even if no box reports a change (after input, layout). */
  force = true;
  /** Everything is drawn again (layout, dialogs, resize): nothing on screen can be trusted to be current. */
  full = true;
  /** Boxes whose cells must be drawn again this frame; the others keep what they drew last time. */
  private readonly changed = new Set<unknown>();

  constructor(private readonly screen: Screen) {
    const alloc = screen.alloc.bind(screen);
    (screen as unknown as { alloc: () => void }).alloc = () => {
      this.full = true;
      alloc();
    };
  }

  /** From now on `box` draws only in frames where it changed (or everything is drawn). */
  track(box: blessed.Widgets.BoxElement): void {
    const el = box as unknown as { render: () => unknown; lpos?: unknown; hidden: boolean };
    const orig = el.render.bind(box);
    el.render = () => {
      if (!this.full && !this.changed.has(box) && el.lpos && !el.hidden) return el.lpos;
      return orig();
    };
  }

  /** Starts a frame; `mark` each box with whether it changed, then `commit`. */
  begin(): { mark: (box: unknown, did: boolean) => void; commit: (overlay: boolean, keepFull: boolean) => void } {
    let any = this.force;
    this.force = false;
    return {
      mark: (box, did) => {
        if (did) {
          any = true;
          this.changed.add(box);
        }
      },
      commit: (overlay, keepFull) => {
        if (overlay) this.full = true;
        this.redrawAbove();
        if (any) this.screen.render();
        this.changed.clear();
        this.full = keepFull;
      },
    };
  }

  /**
   * A box drawn after a changed box, over it, must be drawn again too: else the changed one shows through it
   * (the live Tasks table over the task output view). Draw order is the screen's child order.
   */
  private redrawAbove(): void {
    const boxes = this.screen.children as unknown as Drawn[];
    boxes.forEach((below, i) => {
      const a = below.lpos;
      if (!a || below.hidden || !this.changed.has(below)) return;
      for (const above of boxes.slice(i + 1)) {
        const b = above.lpos;
        if (b && !above.hidden && a.xi < b.xl && b.xi < a.xl && a.yi < b.yl && b.yi < a.yl) this.changed.add(above);
      }
    });
  }
}
