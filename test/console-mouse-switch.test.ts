// screens/mouse.ts MouseSwitch: m and :mouse [on|off] turn the terminal's mouse reporting on and off.
import test from "ava";
import { MouseSwitch } from "../screens/mouse.js";
import type { Screen } from "../screens/terminal.js";

function fakeScreen() {
  const log: string[] = [];
  const program = {
    _currentMouse: undefined as unknown,
    setMouse(_o: unknown, enable: boolean) {
      log.push(`setMouse ${enable}`);
      this._currentMouse = {};
    },
    disableMouse() {
      log.push("disableMouse");
      this._currentMouse = undefined;
    },
  };
  return { screen: { program } as unknown as Screen, log };
}

test("toggle switches the terminal and says how to switch back; set does nothing when it already is so", (t) => {
  const { screen, log } = fakeScreen();
  const said: string[] = [];
  const m = new MouseSwitch(screen, true, (s) => said.push(s));
  m.apply();
  t.deepEqual(log, ["setMouse true"]);
  m.set(true);
  t.deepEqual(said, [], "already on");
  m.toggle();
  t.false(m.on);
  t.deepEqual(log, ["setMouse true", "disableMouse"]);
  t.regex(said.at(-1)!, /^Mouse off: the terminal selects text as usual\. m turns it on\.$/);
  m.set(false);
  t.is(said.length, 1, "already off");
  m.set();
  t.true(m.on);
  t.deepEqual(log, ["setMouse true", "disableMouse", "setMouse true"]);
  t.regex(said.at(-1)!, /^Mouse on: .* m turns it off\.$/);
});
