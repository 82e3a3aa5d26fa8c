// screens/flows/pins.ts: `:run <project> <Tab>` offers the pinned templates of that project first.
import test from "ava";
import { Pins, pinnedTemplateNames } from "../screens/flows/pins.js";
import { fakeApp } from "./console-helpers.js";

test("the pinned templates' names and ids of the project typed, only at the template argument of :run", async (t) => {
  const app = fakeApp();
  const pins = new Pins();
  pins.toggle(1, 3); // Full backup
  pins.toggle(2, 1); // another project's template with id 1: not offered for project 1
  t.deepEqual(await pinnedTemplateNames(app.ops, pins, ["run", "1", ""], 2), ["Full backup", "3"]);
  t.deepEqual(await pinnedTemplateNames(app.ops, pins, ["run", "Infrastructure", "F"], 2), ["Full backup", "3"]);
  t.deepEqual(await pinnedTemplateNames(app.ops, pins, ["run", "1", ""], 1), [], "the project argument");
  t.deepEqual(await pinnedTemplateNames(app.ops, pins, ["stop", "1", ""], 2), [], "another command");
  t.deepEqual(await pinnedTemplateNames(app.ops, pins, ["run", "", ""], 2), [], "no project yet");
  t.deepEqual(await pinnedTemplateNames(app.ops, new Pins(), ["run", "1", ""], 2), [], "nothing pinned");
});
