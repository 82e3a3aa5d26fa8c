// Where everything goes for a terminal size: four panels at 100x28 and up (Tasks across the top, the log under
// it, Rooms and Config on the right), else one panel at a time with a tab row; zoom forces the single layout.
import type { PanelName } from "./context.js";

export const COMPACT_COLS = 100;
export const COMPACT_ROWS = 28;

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Layout {
  compact: boolean;
  /** One panel at a time, with the tab row on line 1. */
  single: boolean;
  /** Each shown panel's box; a panel not listed is hidden. */
  panels: Partial<Record<PanelName, Rect>>;
  /** The area a view (task output) covers: everything between the header (and tabs) and the bottom bar. */
  view: Rect;
}

export function computeLayout(cols: number, rows: number, focus: PanelName, zoom: boolean): Layout {
  const compact = cols < COMPACT_COLS || rows < COMPACT_ROWS;
  const single = compact || zoom;
  const top = single ? 2 : 1;
  const areaH = Math.max(3, rows - top - 1);
  const rect = (left: number, t: number, width: number, height: number): Rect => ({ left, top: t, width: Math.max(4, width), height: Math.max(3, height) });
  const panels: Layout["panels"] = {};
  if (single) panels[focus] = rect(0, top, cols, areaH);
  else {
    const topH = Math.floor(areaH * 0.45);
    const botH = areaH - topH;
    const leftW = Math.round(cols * 0.6);
    const roomsH = Math.floor(botH / 2);
    panels.tasks = rect(0, top, cols, topH);
    panels.logs = rect(0, top + topH, leftW, botH);
    panels.rooms = rect(leftW, top + topH, cols - leftW, roomsH);
    panels.config = rect(leftW, top + topH + roomsH, cols - leftW, botH - roomsH);
  }
  return { compact, single, panels, view: { left: 0, top, width: cols, height: areaH } };
}
