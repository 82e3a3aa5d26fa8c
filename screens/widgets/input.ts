// What every widget understands from the keyboard and the mouse, in the console's own terms.

export interface MouseEvent {
  x: number;
  y: number;
  action: "mousedown" | "mouseup" | "wheelup" | "wheeldown" | "mousemove";
  button?: string;
}

/** Navigation every list understands (the keymap maps vim keys and arrows onto these). */
export type Nav = "down" | "up" | "top" | "bottom" | "pageDown" | "pageUp" | "halfDown" | "halfUp" | "left" | "right";
