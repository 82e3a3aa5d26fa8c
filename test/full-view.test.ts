// The base of the full-width views (task output, History): blessed gets the content and the title only when they
// changed, and invalidate() makes the next update set the content again (after a resize).
import test from "ava";
import blessed from "blessed";
import { FullView } from "../screens/widgets/full-view.js";
import { fakeStreams } from "./console-helpers.js";

class Probe extends FullView {
  show(lines: string[], label: string): boolean {
    return this.present(lines, label);
  }
}

function probe() {
  const io = fakeStreams(80, 24);
  // blessed's typings do not fit the fake streams (screens/terminal.ts casts them too).
  const screen = blessed.screen({
    input: io.input as never,
    output: io.output as never,
    terminal: "xterm-256color",
  });
  let renders = 0;
  const ctx = { theme: () => ({ borderFocus: "blue" }), render: () => renders++ } as never;
  const view = new Probe(ctx, screen);
  const sets: string[] = [];
  const box = view.box as unknown as { setContent(c: string): void; setLabel(l: string): void };
  const setContent = box.setContent.bind(box);
  const setLabel = box.setLabel.bind(box);
  box.setContent = (c) => {
    sets.push(`content ${c}`);
    setContent(c);
  };
  box.setLabel = (l) => {
    sets.push(`label ${l}`);
    setLabel(l);
  };
  return { view, sets, renders: () => renders, destroy: () => screen.destroy() };
}

test("present sets only what changed and says whether anything did", (t) => {
  const p = probe();
  try {
    t.true(p.view.show(["a", "b"], " one "));
    t.deepEqual(p.sets, ["content a\nb", "label  one "]);
    t.false(p.view.show(["a", "b"], " one "), "nothing new: blessed is not touched");
    t.true(p.view.show(["a", "b"], " two "));
    t.true(p.view.show(["c"], " two "));
    t.deepEqual(p.sets, ["content a\nb", "label  one ", "label  two ", "content c"]);
  } finally {
    p.destroy();
  }
});

test("invalidate marks the view dirty and makes the next present set the same content again; markDirty asks for a render", (t) => {
  const p = probe();
  try {
    p.view.show(["x"], " t ");
    p.view.dirty = false;
    p.view.invalidate();
    t.true(p.view.dirty);
    t.true(p.view.show(["x"], " t "));
    t.deepEqual(p.sets, ["content x", "label  t ", "content x"]);
    p.view.dirty = false;
    p.view.markDirty();
    t.true(p.view.dirty);
    t.is(p.renders(), 1);
  } finally {
    p.destroy();
  }
});
