import xterm from "@xterm/headless";
// oxlint-disable-next-line import/default -- a CommonJS module: its exports arrive as the default export
import unicode11 from "@xterm/addon-unicode11";

/**
 * A headless xterm that measures characters as today's terminals do (Unicode 11 widths: emoji are two cells).
 * Without it xterm uses Unicode 6 widths, disagrees with the console about every emoji, and what follows an emoji on
 * a row reads back garbled whenever only part of the row was redrawn.
 */
export function modernTerminal(cols: number, rows: number): InstanceType<typeof xterm.Terminal> {
  const term = new xterm.Terminal({ cols, rows, allowProposedApi: true });
  term.loadAddon(new unicode11.Unicode11Addon());
  term.unicode.activeVersion = "11";
  return term;
}
