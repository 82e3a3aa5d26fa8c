// What each room asked for and must survive a restart: project subscriptions (cards for runs started anywhere) and
// the `log on|off` switch for output threads. Saved atomically as JSON in state_dir.
import type { Log } from "../log/logger.js";
import { PersistedState, versionOne } from "../util/persisted-state.js";
import type { TaskState } from "./store.js";

export const SUBSCRIPTION_FILTERS = ["all", "failures", "finished"] as const;
export type SubscriptionFilter = (typeof SUBSCRIPTION_FILTERS)[number];

export interface Subscription {
  projectId: number;
  projectName: string;
  /** Only this template; undefined = every template of the project. */
  templateId?: number;
  templateName?: string;
  filter: SubscriptionFilter;
  by: string;
  at: string;
}

interface RoomEntry {
  log?: boolean;
  subscriptions: Subscription[];
}
interface Persisted {
  version: 1;
  rooms: Record<string, RoomEntry>;
}

export class RoomSettings {
  private rooms = new Map<string, RoomEntry>();
  private readonly state: PersistedState<Persisted>;

  constructor(file: string | undefined, log: Log) {
    this.state = new PersistedState<Persisted>({
      file,
      log,
      indent: 1,
      startsEmpty: "starting without room subscriptions and log settings",
      validate: (data) => {
        const d = versionOne(data);
        if (!d.rooms || typeof d.rooms !== "object") throw new Error("no rooms object");
        return d as unknown as Persisted;
      },
      snapshot: (): Persisted => ({ version: 1, rooms: Object.fromEntries(this.rooms) }),
    });
  }

  load(): void {
    const data = this.state.load();
    for (const [roomId, e] of Object.entries(data?.rooms ?? {})) {
      const valid = (s: Subscription) => typeof s?.projectId === "number" && (SUBSCRIPTION_FILTERS as readonly string[]).includes(s.filter);
      const subs = Array.isArray(e?.subscriptions) ? e.subscriptions.filter(valid) : [];
      this.rooms.set(roomId, { log: typeof e?.log === "boolean" ? e.log : undefined, subscriptions: subs });
    }
  }

  private entry(roomId: string): RoomEntry {
    let e = this.rooms.get(roomId);
    if (!e) this.rooms.set(roomId, (e = { subscriptions: [] }));
    return e;
  }

  private save(): Promise<void> {
    return this.state.save();
  }

  /** `log on|off` for the room; undefined when the room never said. */
  logSetting(roomId: string): boolean | undefined {
    return this.rooms.get(roomId)?.log;
  }

  async setLog(roomId: string, on: boolean): Promise<void> {
    this.entry(roomId).log = on;
    await this.save();
  }

  subscriptions(roomId: string): readonly Subscription[] {
    return this.rooms.get(roomId)?.subscriptions ?? [];
  }

  allSubscriptions(): Array<{ roomId: string; sub: Subscription }> {
    return [...this.rooms.entries()].flatMap(([roomId, e]) => e.subscriptions.map((sub) => ({ roomId, sub })));
  }

  /** Adds or replaces the room's subscription to this project/template. Returns the previous one, if any. */
  async subscribe(roomId: string, sub: Subscription): Promise<Subscription | undefined> {
    const e = this.entry(roomId);
    const i = e.subscriptions.findIndex((s) => s.projectId === sub.projectId && s.templateId === sub.templateId);
    const prev = i >= 0 ? e.subscriptions[i] : undefined;
    if (i >= 0) e.subscriptions[i] = sub;
    else e.subscriptions.push(sub);
    await this.save();
    return prev;
  }

  /** Removes subscriptions to the project (and template, if given; without it, all of the project's). */
  async unsubscribe(roomId: string, projectId: number, templateId?: number): Promise<Subscription[]> {
    const e = this.rooms.get(roomId);
    if (!e) return [];
    const gone = e.subscriptions.filter((s) => s.projectId === projectId && (templateId === undefined || s.templateId === templateId));
    if (gone.length === 0) return [];
    e.subscriptions = e.subscriptions.filter((s) => !gone.includes(s));
    await this.save();
    return gone;
  }

  /** Rooms whose subscriptions cover this task, with the narrowest matching subscription. */
  subscribersFor(task: Pick<TaskState, "projectId" | "templateId">): Array<{ roomId: string; sub: Subscription }> {
    const out: Array<{ roomId: string; sub: Subscription }> = [];
    for (const [roomId, e] of this.rooms) {
      const hits = e.subscriptions.filter((s) => s.projectId === task.projectId && (s.templateId === undefined || s.templateId === task.templateId));
      const best = hits.find((s) => s.templateId !== undefined) ?? hits[0];
      if (best) out.push({ roomId, sub: best });
    }
    return out;
  }

  watchedProjects(): number[] {
    return [...new Set(this.allSubscriptions().map((s) => s.sub.projectId))];
  }

  async forgetRoom(roomId: string): Promise<void> {
    if (this.rooms.delete(roomId)) await this.save();
  }
}
