// What every view receives: the engine (store, operations, logger, config), the theme, and a way to ask for a
// frame. Views read the store and call operations; they keep no state of the engine's own.
import type { Store } from "../src/core/store.js";
import type { Operations, Actor } from "../src/core/operations.js";
import type { Logger } from "../src/log/logger.js";
import type { LoadedConfig } from "../src/config/load.js";
import type { Theme } from "./theme.js";

/** The parts of App the console uses (App itself fits; tests pass a lighter one). */
export interface ConsoleApp {
  store: Store;
  ops: Operations;
  logger: Logger;
  config: LoadedConfig;
  demoServer?: unknown;
}

/** The console acts as this actor everywhere, so the audit log says "console". */
export const CONSOLE_ACTOR: Actor = { kind: "console" };

export interface ViewContext {
  app: ConsoleApp;
  theme(): Theme;
  /** Read-only mode, from --read-only or [console] read_only (re-read after a config reload). */
  readOnly(): boolean;
  now(): number;
  /** Ask for a frame: urgent after input, else throttled. */
  render(urgent?: boolean): void;
  /** Live updates paused (p): the tasks table and the log hold still until resumed. */
  paused(): boolean;
  /** Converts an opening tag ("{bold}{red-fg}") to the SGR codes blessed would emit, for ANSI-built lines. */
  sgr(open: string): string;
}

export type PanelName = "rooms" | "tasks" | "logs" | "config";
export const PANELS: PanelName[] = ["rooms", "tasks", "logs", "config"];
export const PANEL_TITLES: Record<PanelName, string> = { rooms: "Rooms", tasks: "Tasks", logs: "Logs", config: "Config" };
