// The one keymap table. Each binding is declared once; from it the console registers `screen.key`, draws the
// always-visible hint bar and generates the `?` help overlay. Mutating bindings are hidden in read-only mode:
// they are left out of the hint bar and the help, and their keys do nothing.
import type blessed from "blessed";
import type { Nav } from "./widgets/input.js";
import type { PanelName } from "./context.js";
import { esc, fit, width as strWidth, wrapPlain } from "./text.js";
import { tag, type Theme } from "./theme.js";

export type Scope = "global" | "lists" | PanelName | "taskview" | "verify" | "history"; // "history": issue 14.11

/** What bindings can do: implemented by the console. */
export interface KeyActions {
  focusPanel(n: number): void;
  cycleFocus(dir: 1 | -1): void;
  nav(n: Nav): void;
  activate(): void;
  back(): void;
  openCommandBar(): void;
  openFilter(): void;
  showHelp(): void;
  runWizard(): void;
  stopTask(force: boolean): void;
  decide(accept: boolean): void;
  sayInRoom(): void;
  joinRoom(): void;
  leaveRoom(): void;
  reloadConfig(): void;
  toggleMouse(): void;
  toggleZoom(): void;
  /** Holds live updates (tasks, log) still to read them; again: catches up. */
  togglePause(): void;
  /** Back and forward through the task views opened. */
  viewHistoryStep(dir: 1 | -1): void;
  /** OSC 52 copies: the task's URL in Semaphore; the output (search matches or the last lines) or log lines. */
  copyTaskUrl(): void;
  copyOutput(): void;
  quit(): void;
  toggleFollow(): void;
  toggleWrap(): void;
  toggleTimestamps(): void;
  cycleLogLevel(): void;
  searchNext(dir: 1 | -1): void;
  /** Opens the emoji comparison of a verification waiting for the console (one that was dismissed, too). */
  showVerification(): void;
  /** Starts a verification with a device of the selected room's members. */
  verifyDevice(): void;
  /** The verification dialog's answers: the emoji match, they do not, or later (it stays pending). */
  answerVerification(match: boolean): void;
  laterVerification(): void;
  /** The verification dialog's buttons: move the choice, press the chosen one. */
  chooseButton(dir: 1 | -1): void;
  pressButton(): void;
  // History view (issue 14.11): open it, close it, pick a template (a step, or the first/last).
  openHistory(): void;
  closeHistory(): void;
  pickHistory(to: number | "first" | "last"): void;
}

export interface Binding {
  /** blessed key names ("j", "S-g", "C-d", "enter", "S-tab"). */
  keys: string[];
  /** How the keys are shown; default: each key's display name joined with "/". */
  label?: string;
  description: string;
  /** Short word for the hint bar; bindings without one are only in the help. */
  hint?: string;
  scope: Scope;
  /** Which hints stay when the bar is short: lower stays first (default 5); `? help` always stays. */
  priority?: number;
  mutating?: boolean;
  handler(a: KeyActions, key: string): void;
}

const LISTS = "lists" as const;

export const KEYMAP: Binding[] = [
  // Everywhere
  {
    keys: ["1", "2", "3", "4"],
    label: "1-4",
    description: "Go to panel: 1 Rooms, 2 Tasks, 3 Logs, 4 Config",
    scope: "global",
    handler: (a, k) => a.focusPanel(Number(k)),
  },
  { keys: ["tab"], description: "Next panel", scope: "global", hint: "panel", label: "Tab", handler: (a) => a.cycleFocus(1) },
  { keys: ["S-tab"], description: "Previous panel", scope: "global", handler: (a) => a.cycleFocus(-1) },
  {
    keys: [":"],
    description: "Command bar: the chat commands (:run 1 2, :stop 42), with history and Tab completion",
    hint: "command",
    scope: "global",
    priority: 3,
    handler: (a) => a.openCommandBar(),
  },
  {
    keys: ["/"],
    description: "Filter the focused list or log (regex; !text inverts; Esc clears)",
    hint: "filter",
    scope: "global",
    handler: (a) => a.openFilter(),
  },
  { keys: ["?"], description: "This help", hint: "help", scope: "global", handler: (a) => a.showHelp() },
  {
    keys: ["r"],
    description: "Run a template: project → template → survey → confirm",
    hint: "run",
    scope: "global",
    priority: 1,
    mutating: true,
    handler: (a) => a.runWizard(),
  },
  { keys: ["S-r"], description: "Reload the configuration file", scope: "global", mutating: true, handler: (a) => a.reloadConfig() },
  { keys: ["m"], description: "Mouse on/off (off: select text with the mouse as usual)", scope: "global", handler: (a) => a.toggleMouse() },
  {
    keys: ["p"],
    description: "Pause live updates: the tasks table and the log hold still (PAUSED in the header); p again catches up",
    hint: "pause",
    scope: "global",
    priority: 6,
    handler: (a) => a.togglePause(),
  },
  { keys: ["z"], description: "Zoom: the focused panel fills the screen (again: all panels)", scope: "global", handler: (a) => a.toggleZoom() },
  { keys: ["escape"], description: "Back: close the task view, clear the filter", scope: "global", handler: (a) => a.back() },
  {
    keys: ["h"],
    description: "History: per template the last runs' durations, success rate, p50/p95, outcomes per day; activity per minute (also :history)",
    scope: "global",
    handler: (a) => a.openHistory(),
  },
  { keys: ["["], description: "Back to the task view opened before (history)", scope: "global", handler: (a) => a.viewHistoryStep(-1) },
  { keys: ["]"], description: "Forward to the task view opened after (history)", scope: "global", handler: (a) => a.viewHistoryStep(1) },
  {
    keys: ["S-v"],
    description: "Show the emoji of a verification waiting for the console (also one closed with Esc)",
    scope: "global",
    handler: (a) => a.showVerification(),
  },
  {
    keys: ["q", "C-c"],
    description: "Quit (stops the bot; asks first when Matrix is connected)",
    hint: "quit",
    scope: "global",
    priority: 1,
    handler: (a) => a.quit(),
  },

  // Every list, the log and the task output
  { keys: ["j", "down"], label: "j/↓", description: "Down", scope: LISTS, handler: (a) => a.nav("down") },
  { keys: ["k", "up"], label: "k/↑", description: "Up", scope: LISTS, handler: (a) => a.nav("up") },
  { keys: ["g", "home"], label: "g/Home", description: "First line", scope: LISTS, handler: (a) => a.nav("top") },
  { keys: ["S-g", "end"], label: "G/End", description: "Last line (the log and task output follow again)", scope: LISTS, handler: (a) => a.nav("bottom") },
  { keys: ["C-d"], description: "Half a page down", scope: LISTS, handler: (a) => a.nav("halfDown") },
  { keys: ["C-u"], description: "Half a page up", scope: LISTS, handler: (a) => a.nav("halfUp") },
  { keys: ["pagedown", "C-f"], label: "PgDn/Ctrl-f", description: "Page down", scope: LISTS, handler: (a) => a.nav("pageDown") },
  { keys: ["pageup", "C-b"], label: "PgUp/Ctrl-b", description: "Page up", scope: LISTS, handler: (a) => a.nav("pageUp") },

  // Tasks
  { keys: ["enter"], description: "Open the task: live output, search", hint: "open", scope: "tasks", handler: (a) => a.activate() },
  { keys: ["s"], description: "Stop the selected task (asks first)", hint: "stop", scope: "tasks", mutating: true, handler: (a) => a.stopTask(false) },
  { keys: ["S-s"], description: "Force-stop the selected task (asks first)", scope: "tasks", mutating: true, handler: (a) => a.stopTask(true) },
  {
    keys: ["a"],
    description: "Approve: confirm a task waiting for confirmation, or a run request waiting for approval (asks first)",
    hint: "approve",
    scope: "tasks",
    mutating: true,
    handler: (a) => a.decide(true),
  },
  {
    keys: ["d"],
    description: "Deny: reject a task waiting for confirmation, or a run request waiting for approval (asks first)",
    hint: "deny",
    scope: "tasks",
    mutating: true,
    handler: (a) => a.decide(false),
  },

  {
    keys: ["c"],
    description: "Copy the selected task's URL in Semaphore (OSC 52 clipboard)",
    hint: "copy url",
    scope: "tasks",
    priority: 7,
    handler: (a) => a.copyTaskUrl(),
  },

  // Rooms
  { keys: ["enter"], description: "Room details", hint: "details", scope: "rooms", handler: (a) => a.activate() },
  { keys: ["s"], description: "Say something in the selected room as the bot", hint: "say", scope: "rooms", mutating: true, handler: (a) => a.sayInRoom() },
  { keys: ["S-j"], description: "Join a room by ID or alias", hint: "join", scope: "rooms", mutating: true, handler: (a) => a.joinRoom() },
  { keys: ["S-l"], description: "Leave the selected room (asks first)", hint: "leave", scope: "rooms", mutating: true, handler: (a) => a.leaveRoom() },
  {
    keys: ["v"],
    description: "Verify a device of the selected room's members: choose it, then compare emoji",
    hint: "verify",
    scope: "rooms",
    mutating: true,
    handler: (a) => a.verifyDevice(),
  },

  // Logs
  { keys: ["f"], description: "Follow new lines on/off", hint: "follow", scope: "logs", handler: (a) => a.toggleFollow() },
  { keys: ["w"], description: "Wrap long lines on/off", hint: "wrap", scope: "logs", handler: (a) => a.toggleWrap() },
  { keys: ["t"], description: "Timestamps on/off", hint: "time", scope: "logs", handler: (a) => a.toggleTimestamps() },
  { keys: ["v"], description: "Least level shown: debug → info → warn → error", hint: "level", scope: "logs", handler: (a) => a.cycleLogLevel() },
  {
    keys: ["c"],
    description: "Copy the last 50 log lines shown (level and filter applied; OSC 52 clipboard)",
    hint: "copy",
    scope: "logs",
    priority: 7,
    handler: (a) => a.copyOutput(),
  },
  { keys: ["h", "left"], label: "h/←", description: "Scroll left (wrap off)", scope: "logs", handler: (a) => a.nav("left") },
  { keys: ["l", "right"], label: "l/→", description: "Scroll right (wrap off)", scope: "logs", handler: (a) => a.nav("right") },

  // Config
  { keys: ["enter"], description: "What the key means, its default and environment variable", hint: "explain", scope: "config", handler: (a) => a.activate() },

  // Task view
  { keys: ["escape", "q"], label: "Esc/q", description: "Back to the panels", hint: "back", scope: "taskview", handler: (a) => a.back() },
  { keys: ["/"], description: "Search the output (regex); Enter keeps it, Esc clears", hint: "search", scope: "taskview", handler: (a) => a.openFilter() },
  { keys: ["n"], description: "Next match", scope: "taskview", handler: (a) => a.searchNext(1) },
  { keys: ["S-n"], description: "Previous match", scope: "taskview", handler: (a) => a.searchNext(-1) },
  { keys: ["f"], description: "Follow new output on/off", hint: "follow", scope: "taskview", handler: (a) => a.toggleFollow() },
  { keys: ["w"], description: "Wrap long lines on/off", hint: "wrap", scope: "taskview", handler: (a) => a.toggleWrap() },
  { keys: ["h", "left"], label: "h/←", description: "Scroll left (wrap off)", scope: "taskview", handler: (a) => a.nav("left") },
  { keys: ["l", "right"], label: "l/→", description: "Scroll right (wrap off)", scope: "taskview", handler: (a) => a.nav("right") },
  {
    keys: ["c"],
    description: "Copy this task's URL in Semaphore (OSC 52 clipboard)",
    hint: "copy url",
    scope: "taskview",
    priority: 7,
    handler: (a) => a.copyTaskUrl(),
  },
  {
    keys: ["S-c"],
    description: "Copy the output: the lines matching the search, else the last 50 (OSC 52 clipboard)",
    hint: "copy lines",
    scope: "taskview",
    priority: 7,
    handler: (a) => a.copyOutput(),
  },
  { keys: ["s"], description: "Stop this task (asks first)", hint: "stop", scope: "taskview", mutating: true, handler: (a) => a.stopTask(false) },
  { keys: ["S-s"], description: "Force-stop this task (asks first)", scope: "taskview", mutating: true, handler: (a) => a.stopTask(true) },
  {
    keys: ["a"],
    description: "Confirm this task if it waits for confirmation (asks first)",
    scope: "taskview",
    mutating: true,
    handler: (a) => a.decide(true),
  },
  {
    keys: ["d"],
    description: "Reject this task if it waits for confirmation (asks first)",
    scope: "taskview",
    mutating: true,
    handler: (a) => a.decide(false),
  },

  // History view (issue 14.11)
  { keys: ["escape", "q"], label: "Esc/q", description: "Back to the panels", hint: "back", scope: "history", handler: (a) => a.closeHistory() },
  { keys: ["down", "j", "tab"], label: "↓/j/Tab", description: "Next template", hint: "pick", scope: "history", handler: (a) => a.pickHistory(1) },
  { keys: ["up", "k", "S-tab"], label: "↑/k/Shift-Tab", description: "Previous template", scope: "history", handler: (a) => a.pickHistory(-1) },
  { keys: ["g", "home"], label: "g/Home", description: "First template", scope: "history", handler: (a) => a.pickHistory("first") },
  { keys: ["S-g", "end"], label: "G/End", description: "Last template", scope: "history", handler: (a) => a.pickHistory("last") },

  // The verification dialog (it pops up when a verification the console answers shows its emoji)
  {
    keys: ["y"],
    description: "They match: confirm (the device is verified once the other side confirms too)",
    hint: "match",
    scope: "verify",
    mutating: true,
    handler: (a) => a.answerVerification(true),
  },
  {
    keys: ["n"],
    description: "They don't match: cancel it as a mismatch; nothing is trusted",
    hint: "mismatch",
    scope: "verify",
    mutating: true,
    handler: (a) => a.answerVerification(false),
  },
  {
    keys: ["escape"],
    description: "Later: close the dialog; the verification stays pending (V shows it again)",
    hint: "later",
    scope: "verify",
    handler: (a) => a.laterVerification(),
  },
  {
    keys: ["tab", "right", "S-tab", "left"],
    label: "Tab/←→",
    description: "Choose a button",
    scope: "verify",
    handler: (a, k) => a.chooseButton(k === "S-tab" || k === "left" ? -1 : 1),
  },
  { keys: ["enter"], description: "Press the chosen button (Later unless you moved)", scope: "verify", handler: (a) => a.pressButton() },
];

const KEY_NAMES: Record<string, string> = {
  enter: "Enter",
  escape: "Esc",
  tab: "Tab",
  "S-tab": "Shift-Tab",
  up: "↑",
  down: "↓",
  left: "←",
  right: "→",
  pageup: "PgUp",
  pagedown: "PgDn",
  home: "Home",
  end: "End",
  space: "Space",
  backspace: "Backspace",
};

/** "S-g" → "G", "C-d" → "Ctrl-d", "enter" → "Enter". */
export function displayKey(k: string): string {
  if (KEY_NAMES[k]) return KEY_NAMES[k]!;
  if (/^S-[a-z]$/.test(k)) return k.slice(2).toUpperCase();
  if (k.startsWith("C-")) return `Ctrl-${k.slice(2)}`;
  if (k.startsWith("M-")) return `Alt-${k.slice(2)}`;
  return k;
}

export function bindingLabel(b: Binding): string {
  return b.label ?? b.keys.map(displayKey).join("/");
}

export const SCOPE_TITLES: Record<Scope, string> = {
  global: "Everywhere",
  lists: "Lists, the log and task output",
  rooms: "Rooms panel",
  tasks: "Tasks panel",
  logs: "Logs panel",
  config: "Config panel",
  taskview: "Task output (Enter on a task)",
  verify: "Verification dialog (compare the emoji with the other device)",
  history: "History view (h or :history)",
};
export const HELP_ORDER: Scope[] = ["global", "lists", "tasks", "taskview", "history", "rooms", "logs", "config", "verify"];

export class Keymap {
  /** Which screen-level handler owns keys right now; bindings act only when the keymap does. */
  enabled = true;

  constructor(
    readonly bindings: Binding[],
    private readonly actions: KeyActions,
    private readonly readOnly: () => boolean,
    /** The scopes in force, most specific first (e.g. ["tasks", "lists", "global"]). */
    private readonly scopes: () => Scope[],
  ) {}

  /** Bindings in force: read-only hides the mutating ones. */
  visible(): Binding[] {
    const ro = this.readOnly();
    return this.bindings.filter((b) => !(ro && b.mutating));
  }

  /** The binding a key runs now: the most specific scope wins. */
  resolve(key: string): Binding | undefined {
    const vis = this.visible();
    for (const s of this.scopes()) {
      const b = vis.find((x) => x.scope === s && x.keys.includes(key));
      if (b) return b;
    }
    return undefined;
  }

  /** Registers one `screen.key` per key of the table. */
  install(screen: blessed.Widgets.Screen, onError: (e: unknown) => void): void {
    const keys = new Set(this.bindings.flatMap((b) => b.keys));
    for (const k of keys) {
      screen.key([k], (_ch: unknown, key: { full: string }) => {
        if (!this.enabled) return;
        this.dispatch(key?.full ?? k, onError);
      });
    }
  }

  /** Runs the binding for a key; returns whether one ran. */
  dispatch(key: string, onError: (e: unknown) => void = () => undefined): boolean {
    const b = this.resolve(key);
    if (!b) return false;
    try {
      b.handler(this.actions, key);
    } catch (e) {
      onError(e);
    }
    return true;
  }

  /** The always-visible hint bar: hints of the scopes in force, most specific first, help last. */
  hintLine(width: number, theme: Theme): string {
    const vis = this.visible();
    const items: Array<{ keys: string; word: string; priority: number }> = [];
    const seen = new Set<string>();
    for (const s of this.scopes()) {
      for (const b of vis) {
        if (b.scope !== s || !b.hint || seen.has(b.hint) || b.keys.some((k) => seen.has(`k:${k}`))) continue;
        seen.add(b.hint);
        b.keys.forEach((k) => seen.add(`k:${k}`));
        items.push({ keys: b.label && !b.label.includes("/") ? b.label : displayKey(b.keys[0]!), word: b.hint, priority: b.priority ?? 5 });
      }
    }
    // "? help" always shows, last; the others are kept by priority (then order) and shown in order.
    const help = items.findIndex((i) => i.word === "help");
    const helpItem = help >= 0 ? items.splice(help, 1)[0] : undefined;
    const cost = (i: { keys: string; word: string }) => strWidth(`${i.keys} ${i.word}`) + 2;
    let used = 1 + (helpItem ? cost(helpItem) : 0);
    const kept = new Set<number>();
    for (const idx of items.map((_, i) => i).sort((a, b) => items[a]!.priority - items[b]!.priority || a - b)) {
      if (used + cost(items[idx]!) > width) continue;
      kept.add(idx);
      used += cost(items[idx]!);
    }
    const out = items.filter((_, i) => kept.has(i)).map((i) => `${tag(theme.text.key, esc(i.keys))} ${esc(i.word)}`);
    if (helpItem) out.push(`${tag(theme.text.key, esc(helpItem.keys))} ${esc(helpItem.word)}`);
    return " " + out.join("  ");
  }

  /** The `?` overlay: every binding in force, grouped by where it works, then the commands. */
  helpLines(theme: Theme, width: number, commands: Array<{ usage: string; summary: string }>): string[] {
    const vis = this.visible();
    const lines: string[] = [];
    const keyCol = 14;
    for (const s of HELP_ORDER) {
      const bs = vis.filter((b) => b.scope === s);
      if (!bs.length) continue;
      if (lines.length) lines.push("");
      lines.push(tag(theme.text.heading, esc(SCOPE_TITLES[s] ?? s)));
      for (const b of bs) {
        const label = bindingLabel(b);
        wrapPlain(b.description, Math.max(10, width - keyCol - 3)).forEach((d, i) => {
          lines.push(`  ${i === 0 ? tag(theme.text.key, esc(fit(label, keyCol))) : " ".repeat(keyCol)} ${esc(d)}`);
        });
      }
    }
    lines.push("", tag(theme.text.heading, "Mouse"));
    for (const l of wrapPlain(
      "Click selects a row or focuses a panel, double-click opens, the wheel scrolls. m turns the mouse off so the terminal can select text.",
      width - 2,
    ))
      lines.push(`  ${esc(l)}`);
    if (commands.length) {
      lines.push("", tag(theme.text.heading, "Commands (type : then one of these; Tab completes, ↑↓ history)"));
      for (const c of commands) {
        const long = strWidth(c.usage) > 26;
        // A long usage gets lines of its own, wrapped: never cut (":run" has many options).
        if (long) for (const u of wrapPlain(c.usage, width - 2)) lines.push(`  ${tag(theme.text.key, esc(u))}`);
        wrapPlain(c.summary, Math.max(10, width - 29)).forEach((d, i) => {
          lines.push(`  ${i === 0 && !long ? tag(theme.text.key, esc(fit(c.usage, 26))) : " ".repeat(26)} ${esc(d)}`);
        });
      }
    }
    if (this.readOnly()) lines.push("", tag(theme.text.warn, "Read-only: actions that change something are hidden."));
    return lines;
  }
}
