// The scroll controls shared by the log panel and the task output view: each key and wheel action moves the view
// and asks for one redraw; the title flags follow the modes.
import test from "ava";
import { ScrollText } from "../screens/widgets/scroll-text.js";
import { ScrollControls } from "../screens/widgets/scroll-controls.js";

function controls() {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
  const view = new ScrollText({
    get length() {
      return lines.length;
    },
    get: (i) => lines[i]!,
  });
  let redraws = 0;
  const scroll = new ScrollControls(view, () => redraws++);
  view.render(20, 5);
  return {
    view,
    scroll,
    redraws: () => redraws,
  };
}

test("toggleFollow pauses where the view is, then follows the end again; one redraw each", (t) => {
  const c = controls();
  t.deepEqual(c.scroll.flags(), ["follow", "wrap"]);
  c.scroll.toggleFollow();
  t.false(c.view.follow);
  t.is(c.view.topLine, 95, "paused on the lines that were on screen");
  t.deepEqual(c.scroll.flags(), ["paused", "wrap"]);
  c.scroll.toggleFollow();
  t.true(c.view.follow);
  t.is(c.redraws(), 2);
});

test("toggleWrap switches wrapping off and on; one redraw each", (t) => {
  const c = controls();
  c.scroll.toggleWrap();
  t.false(c.view.wrap);
  t.deepEqual(c.scroll.flags(), ["follow", "nowrap"]);
  c.scroll.toggleWrap();
  t.true(c.view.wrap);
  t.is(c.redraws(), 2);
});

test("nav moves the view by the list keys and redraws", (t) => {
  const c = controls();
  c.scroll.nav("top");
  t.is(c.view.topLine, 0);
  t.false(c.view.follow);
  c.scroll.nav("down");
  t.is(c.view.topLine, 1);
  c.scroll.nav("bottom");
  t.true(c.view.follow);
  t.is(c.redraws(), 3);
});

test("the wheel scrolls three rows a notch and says it handled the event; other mouse events are left alone", (t) => {
  const c = controls();
  t.true(c.scroll.wheel({ x: 0, y: 0, action: "wheelup" }));
  t.false(c.view.follow);
  t.is(c.view.topLine, 92);
  t.true(c.scroll.wheel({ x: 0, y: 0, action: "wheeldown" }));
  t.is(c.view.topLine, 95);
  t.true(c.view.follow, "back at the end: following again");
  t.false(c.scroll.wheel({ x: 0, y: 0, action: "mousedown" }));
  t.false(c.scroll.wheel({ x: 0, y: 0, action: "mousemove" }));
  t.is(c.redraws(), 2);
});
