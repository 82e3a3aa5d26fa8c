// screens/flows/live-updates.ts: pause (p) holds the panels still and catches up on resume; task events redraw the
// header's "updated … ago" only when its text changes.
import test from "ava";
import { LiveUpdates, type LiveUpdatesHost } from "../screens/flows/live-updates.js";

function fakeHost() {
  let now = 1_000_000;
  const calls: string[] = [];
  const host = {
    ctx: { now: () => now, render: () => calls.push("render") },
    header: { dirty: false },
    logs: { resume: () => calls.push("logs.resume") },
    tasks: { markDirty: () => calls.push("tasks.markDirty") },
    bar: { say: (text: string, level: string) => calls.push(`say ${level}: ${text}`) },
  } satisfies LiveUpdatesHost;
  return { host, calls, advance: (ms: number) => (now += ms), now: () => now };
}

test("a task event redraws the header when 'updated just now' starts, not again within 10 s, and again after", (t) => {
  const f = fakeHost();
  const live = new LiveUpdates(f.host);
  live.taskChanged();
  t.true(f.host.header.dirty);
  t.deepEqual(f.calls, ["render"]);
  t.is(live.updatedAt, f.now());
  f.host.header.dirty = false;
  f.advance(9_999);
  live.taskChanged();
  t.false(f.host.header.dirty, "the header's text is still 'just now'");
  t.deepEqual(f.calls, ["render"]);
  f.advance(10_000);
  live.taskChanged();
  t.true(f.host.header.dirty);
  t.deepEqual(f.calls, ["render", "render"]);
});

test("p pauses (the header shows it, the bar warns); p again resumes the log and the tasks table", (t) => {
  const f = fakeHost();
  const live = new LiveUpdates(f.host);
  live.togglePause();
  t.true(live.paused);
  t.true(f.host.header.dirty);
  t.deepEqual(f.calls, ["say warn: Paused: the tasks table and the log hold still. p resumes."]);
  f.calls.length = 0;
  f.host.header.dirty = false;
  live.togglePause();
  t.false(live.paused);
  t.true(f.host.header.dirty);
  t.deepEqual(f.calls, ["logs.resume", "tasks.markDirty", "say info: Resumed: showing what changed meanwhile."]);
});
