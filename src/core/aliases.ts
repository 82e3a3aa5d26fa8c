// Command aliases: a JSON object { "alias": "command line" } in a file, editable from chat (aliases add/remove) and
// by hand (hot reloaded). Alias names are case-insensitive; every command name is reserved; an alias expands once
// (an alias cannot point at another alias).
import { readFileSync } from "node:fs";
import { EventEmitter } from "node:events";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { PersistedState } from "../util/persisted-state.js";
import { watchFile } from "../util/watch-file.js";
import { tokenize } from "../util/tokenize.js";
import { maskArgument, maskCommandLine, MASK } from "./mask.js";

export const ALIAS_NAME = /^[a-z0-9][a-z0-9_.-]{0,31}$/i;
export const MAX_ALIAS_COMMAND = 500;

export class AliasError extends Error {}

/** An alias's command as it may be shown, audited or logged: its secrets masked by the one masker. */
export const shownCommand = (command: string): string => maskCommandLine(command) ?? MASK;

export interface AliasStoreOptions {
  file: string;
  log: Log;
  /** Command names: reserved as alias names, and the only valid first word of an alias's command. */
  commands: () => readonly string[];
}

export class AliasStore extends EventEmitter<{ changed: [] }> {
  private map = new Map<string, { name: string; command: string }>();
  /** Problems found in the file at the last (re)load, for `aliases` and logs. */
  problems: string[] = [];
  private stopWatch?: () => Promise<void>;
  /**
   * Writes only: the file is edited by hand too, so load() below keeps the aliases loaded before when it is broken
   * (the operator is fixing it) instead of moving it aside as an unreadable state file is.
   */
  private readonly state: PersistedState<unknown>;

  constructor(private readonly o: AliasStoreOptions) {
    super();
    this.state = new PersistedState({ file: o.file, log: o.log, indent: 2 });
  }

  get file(): string {
    return this.o.file;
  }

  /** The aliases for display: names and masked commands (the commands as stored only run, through expand()). */
  list(): Array<{ name: string; shown: string }> {
    return [...this.map.values()].map(({ name, command }) => ({ name, shown: shownCommand(command) })).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The command as stored, secrets included: for running it, never for showing it (see shown()). */
  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase())?.command;
  }

  /** The command for display, secrets masked. */
  shown(name: string): string | undefined {
    const command = this.get(name);
    return command === undefined ? undefined : shownCommand(command);
  }

  /** Reads the file. A broken file keeps the aliases already loaded and says why. */
  load(): void {
    let raw: string;
    try {
      raw = readFileSync(this.o.file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        this.replace(new Map(), []);
        return;
      }
      this.problems = [`cannot read ${this.o.file}: ${errorText(e)}`];
      this.o.log.warn(this.problems[0]!);
      return;
    }
    let data: unknown;
    try {
      data = raw.trim() === "" ? {} : JSON.parse(raw);
    } catch (e) {
      this.problems = [`${this.o.file} is not valid JSON (${errorText(e)}); keeping the ${this.map.size} alias(es) loaded before`];
      this.o.log.warn(this.problems[0]!);
      return;
    }
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      this.problems = [`${this.o.file} must hold a JSON object {"alias": "command"}; keeping the aliases loaded before`];
      this.o.log.warn(this.problems[0]!);
      return;
    }
    const next = new Map<string, { name: string; command: string }>();
    const problems: string[] = [];
    for (const [name, command] of Object.entries(data as Record<string, unknown>)) {
      if (typeof command !== "string") {
        problems.push(`alias ${JSON.stringify(name)}: the command must be a string`);
        continue;
      }
      const err = this.validate(name, command);
      if (err) {
        problems.push(`alias ${JSON.stringify(name)} skipped: ${err}`);
        continue;
      }
      next.set(name.toLowerCase(), { name, command: command.trim() });
    }
    for (const p of problems) this.o.log.warn(`${this.o.file}: ${p}`);
    this.replace(next, problems);
  }

  private replace(next: Map<string, { name: string; command: string }>, problems: string[]): void {
    const before = JSON.stringify([...this.map.entries()]);
    this.map = next;
    this.problems = problems;
    if (JSON.stringify([...next.entries()]) !== before) {
      this.o.log.info(`aliases loaded from ${this.o.file}: ${next.size}`);
      this.emit("changed");
    }
  }

  /** Why this alias is not acceptable, or undefined when it is. */
  validate(name: string, command: string): string | undefined {
    if (!ALIAS_NAME.test(name)) return "an alias name is 1–32 letters, digits, '-', '_' or '.', starting with a letter or digit";
    const commands = this.o.commands().map((c) => c.toLowerCase());
    if (commands.includes(name.toLowerCase())) return `${name} is a command name, and command names are reserved`;
    if (/[\r\n]/.test(command)) return "the command must be one line";
    if (command.trim() === "") return "the command is empty";
    if (command.length > MAX_ALIAS_COMMAND) return `the command is longer than ${MAX_ALIAS_COMMAND} characters`;
    const toks = tokenize(command);
    if (!toks.ok) return `the command cannot be read: ${toks.error}`;
    const first = toks.tokens[0]?.toLowerCase() ?? "";
    if (!commands.includes(first))
      return `the command must start with a command name (one of: ${commands.join(", ")}), not ${JSON.stringify(maskArgument(first))}`;
    return undefined;
  }

  /** Adds or replaces an alias; `shown`/`replaced` are masked for display. */
  async add(name: string, command: string, prefix?: string): Promise<{ shown: string; replaced?: string }> {
    let cmd = command.trim();
    if (prefix && cmd.toLowerCase().startsWith(prefix.toLowerCase() + " ")) cmd = cmd.slice(prefix.length).trim();
    const err = this.validate(name, cmd);
    if (err) throw new AliasError(err);
    const replaced = this.shown(name);
    const next = new Map(this.map);
    next.set(name.toLowerCase(), { name, command: cmd });
    await this.save(next);
    return { shown: shownCommand(cmd), replaced };
  }

  async remove(name: string): Promise<boolean> {
    if (!this.map.has(name.toLowerCase())) return false;
    const next = new Map(this.map);
    next.delete(name.toLowerCase());
    await this.save(next);
    return true;
  }

  private async save(next: Map<string, { name: string; command: string }>): Promise<void> {
    const obj = Object.fromEntries([...next.values()].sort((a, b) => a.name.localeCompare(b.name)).map((a) => [a.name, a.command]));
    try {
      await this.state.write(obj);
    } catch (e) {
      throw new AliasError(`could not save ${this.o.file}: ${errorText(e)}`);
    }
    this.replace(next, []);
  }

  /** Expands an alias at the start of a token list; the alias's own tokens come first, then the given arguments. */
  expand(tokens: string[]): { tokens: string[]; alias?: string } {
    const first = tokens[0];
    if (first === undefined) return { tokens };
    const hit = this.map.get(first.toLowerCase());
    if (!hit) return { tokens };
    const toks = tokenize(hit.command);
    if (!toks.ok) return { tokens };
    return { tokens: [...toks.tokens, ...tokens.slice(1)], alias: hit.name };
  }

  watch(): void {
    if (this.stopWatch) return;
    this.stopWatch = watchFile(this.o.file, () => this.load(), { createDir: true });
  }

  async close(): Promise<void> {
    await this.stopWatch?.();
    this.stopWatch = undefined;
  }
}
