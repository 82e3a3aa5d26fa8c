// The keys, the wheel and the title flags of a scrolling text view (the log panel, a task's output), in one place so
// both scroll alike. Each action moves the view, then tells its owner to redraw.
import type { MouseEvent, Nav } from "./input.js";
import type { ScrollText } from "./scroll-text.js";

/** Rows one wheel notch scrolls. */
const WHEEL_ROWS = 3;

export class ScrollControls {
  constructor(
    readonly view: ScrollText,
    private readonly changed: () => void,
  ) {}

  nav(n: Nav): void {
    this.view.navigate(n);
    this.changed();
  }

  /** Following → paused where the view is now; paused → following the end again. */
  toggleFollow(): void {
    if (this.view.follow) this.view.freeze();
    else this.view.end();
    this.changed();
  }

  toggleWrap(): void {
    this.view.setWrap(!this.view.wrap);
    this.changed();
  }

  /** Scrolls on a wheel turn; true when `ev` was one. */
  wheel(ev: MouseEvent): boolean {
    if (ev.action !== "wheelup" && ev.action !== "wheeldown") return false;
    this.view.scroll(ev.action === "wheelup" ? -WHEEL_ROWS : WHEEL_ROWS);
    this.changed();
    return true;
  }

  /** The view's modes as the title shows them. */
  flags(): string[] {
    return [this.view.follow ? "follow" : "paused", this.view.wrap ? "wrap" : "nowrap"];
  }
}
