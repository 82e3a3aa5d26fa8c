// Personality lines (greetings, pet, scold, ...): built-in defaults, replaced per category by a JSON file
// ([bot] messages_file) that is reloaded when it changes. Lines may use {name} and the other fields a caller passes.
import { readFileSync } from "node:fs";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { watchFile } from "../util/watch-file.js";

export const DEFAULT_MESSAGES = {
  greetings: ["Hi {name}!", "Hello {name} 👋", "Hey {name}!", "At your service, {name}.", "Greetings, {name}!"],
  brush_off: ["Sorry {name}, I only take orders from people on my list.", "Nice try, {name} 🙂 You are not on my list."],
  cancel: ["Cancelled. Nothing was done.", "Okay, standing down.", "No problem, I won't do it."],
  timeout: ["No answer in time, so I did nothing.", "That request timed out; nothing was done."],
  task_start: ["🚀 Off it goes: {task_name}.", "🚀 Starting {task_name}.", "🚀 Launching {task_name}."],
  ping_success: ["Pong!", "🏓 Pong!", "Still here and listening."],
  pet: ["😊 Thank you, {name}!", "🐾 *happy bot noises*", "Aww, {name} 💙", "Purring in binary. 01110000 01110101 01110010 01110010"],
  scold: ["😔 Sorry, {name}. I'll do better.", "😿 Noted, {name}.", "🙇 My apologies."],
  startup: ["🤖 ChatrixCD is online."],
  shutdown: ["👋 ChatrixCD is shutting down."],
} satisfies Record<string, string[]>;

export type MessageCategory = keyof typeof DEFAULT_MESSAGES;
const CATEGORIES = Object.keys(DEFAULT_MESSAGES) as MessageCategory[];
const MAX_LINE = 1000;

export class Messages {
  private lines: Record<MessageCategory, string[]> = structuredClone(DEFAULT_MESSAGES);
  problems: string[] = [];
  private stopWatch?: () => Promise<void>;

  constructor(
    private readonly file: string | undefined,
    private readonly log: Log,
    private readonly random: () => number = Math.random,
  ) {}

  /** A random line of the category with {fields} filled in; unknown fields are left as written. */
  pick(category: MessageCategory, fields: Record<string, string> = {}): string {
    const list = this.lines[category];
    const line = list[Math.floor(this.random() * list.length)] ?? DEFAULT_MESSAGES[category][0]!;
    return line.replace(/\{(\w+)\}/g, (m, k: string) => (k in fields ? fields[k]! : m));
  }

  all(category: MessageCategory): readonly string[] {
    return this.lines[category];
  }

  load(): void {
    if (!this.file) return;
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(this.file, "utf8"));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        this.problems = [`${this.file} does not exist; using the built-in lines`];
        this.lines = structuredClone(DEFAULT_MESSAGES);
      } else {
        this.problems = [`${this.file} could not be read (${errorText(e)}); keeping the lines loaded before`];
      }
      this.log.warn(this.problems[0]!);
      return;
    }
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      this.problems = [`${this.file} must hold a JSON object {"category": ["line", ...]}; keeping the lines loaded before`];
      this.log.warn(this.problems[0]!);
      return;
    }
    const next: Record<MessageCategory, string[]> = structuredClone(DEFAULT_MESSAGES);
    const problems: string[] = [];
    for (const [cat, val] of Object.entries(data as Record<string, unknown>)) {
      if (!(CATEGORIES as string[]).includes(cat)) {
        problems.push(`unknown category ${JSON.stringify(cat)} is ignored (known: ${CATEGORIES.join(", ")})`);
        continue;
      }
      const list = Array.isArray(val) ? val.filter((x): x is string => typeof x === "string" && x.trim() !== "").map((x) => x.slice(0, MAX_LINE)) : [];
      if (list.length === 0) {
        problems.push(`${cat} must be a non-empty list of strings; using the built-in lines`);
        continue;
      }
      next[cat as MessageCategory] = list;
    }
    this.lines = next;
    this.problems = problems;
    for (const p of problems) this.log.warn(`${this.file}: ${p}`);
    this.log.info(`personality lines loaded from ${this.file}`);
  }

  watch(): void {
    if (!this.file || this.stopWatch) return;
    this.stopWatch = watchFile(this.file, () => this.load());
  }

  async close(): Promise<void> {
    await this.stopWatch?.();
    this.stopWatch = undefined;
  }
}
