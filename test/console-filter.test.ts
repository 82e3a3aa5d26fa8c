// screens/flows/filter.ts: `/` filters the focused panel or searches the open task view; Esc clears what is set.
import test from "ava";
import { FilterFlow, type FilterHost } from "../screens/flows/filter.js";
import type { PanelName } from "../screens/context.js";

function fakeHost() {
  const said: string[] = [];
  const opened: Array<[string, string]> = [];
  const panel = () => ({
    filterText: "",
    setFilter(text: string) {
      this.filterText = text;
    },
  });
  const panels = { rooms: panel(), tasks: panel(), logs: panel(), config: panel() };
  const taskView = {
    isOpen: false,
    search: "",
    setSearch(text: string) {
      this.search = text;
    },
  };
  const host = {
    taskView,
    panels,
    focus: "tasks" as PanelName,
    bar: { open: (mode: string, text: string) => opened.push([mode, text]), say: (text: string) => said.push(text) },
  };
  return { host, flow: new FilterFlow(host as unknown as FilterHost), said, opened };
}

test("the filter typed goes to the panel it was opened for, even when the focus moves meanwhile", (t) => {
  const { host, flow, opened } = fakeHost();
  host.panels.tasks.filterText = "old";
  flow.open();
  t.deepEqual(opened, [["filter", "old"]], "the bar opens with the panel's filter");
  host.focus = "logs";
  flow.changed("filter", "deploy");
  t.is(host.panels.tasks.filterText, "deploy");
  t.is(host.panels.logs.filterText, "");
});

test("Enter keeps the filter and says how to clear it; after the bar closes, a change goes to the focused panel", (t) => {
  const { host, flow, said } = fakeHost();
  flow.open();
  flow.changed("filter", "web");
  flow.closed("filter", true);
  t.deepEqual(said, ["Filter /web kept · Esc clears it"]);
  host.focus = "rooms";
  flow.changed("filter", "ops");
  t.is(host.panels.rooms.filterText, "ops");
  flow.closed("filter", false);
  t.is(said.length, 1, "a filter left with Esc is not announced");
});

test("with the task view open, / searches its output", (t) => {
  const { host, flow, opened } = fakeHost();
  host.taskView.isOpen = true;
  host.taskView.search = "fatal";
  flow.open();
  t.deepEqual(opened, [["search", "fatal"]]);
  flow.changed("search", "error");
  t.is(host.taskView.search, "error");
  t.is(host.panels.tasks.filterText, "", "the panel under the view keeps its filter");
});

test("Esc clears the task view's search first, then nothing; on the panels it clears the focused panel's filter once", (t) => {
  const { host, flow, said } = fakeHost();
  host.taskView.isOpen = true;
  host.taskView.search = "fatal";
  host.panels.tasks.filterText = "web";
  t.true(flow.clear());
  t.is(host.taskView.search, "");
  t.false(flow.clear(), "nothing left to clear in the view: Esc closes it (the caller's part)");
  t.is(host.panels.tasks.filterText, "web", "the view's Esc never clears the panel under it");
  host.taskView.isOpen = false;
  t.true(flow.clear());
  t.is(host.panels.tasks.filterText, "");
  t.deepEqual(said, ["Filter cleared."]);
  t.false(flow.clear());
});
