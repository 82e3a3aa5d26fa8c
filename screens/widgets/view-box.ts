// The box of a full-width view over the panels (task output, History): hidden until opened, bordered in the focus
// colour; the console's layout sets its place.
import blessed from "blessed";
import type { ViewContext } from "../context.js";

export function viewBox(ctx: ViewContext, parent: blessed.Widgets.Node): blessed.Widgets.BoxElement {
  return blessed.box({
    parent,
    hidden: true,
    tags: true,
    wrap: false,
    border: { type: "line" },
    style: { border: { fg: ctx.theme().borderFocus } },
    top: 1,
    left: 0,
    width: "100%",
    height: 10,
  });
}
