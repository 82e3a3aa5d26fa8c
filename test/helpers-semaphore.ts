// The one Semaphore stand-in of the socket-free tests: the emulator (src/emulator, the demo's server, with its seed
// data and live-v2.10 behaviour), reached by the real SemaphoreClient through the emulator's in-process transport.
// The client records every call, so a test can read back what was sent, and a test may replace one of its methods
// (e.g. with a seeded delay around the real one). No timers run: tasks stay `waiting` until the test ticks the pool.
import { SemaphoreClient } from "../src/semaphore/client.js";
import { startSemaphoreServer, type ApiFlavor, type SemaphoreServer, type TaskJson } from "../src/emulator/index.js";

const RECORDED = [
  "ping",
  "info",
  "projects",
  "templates",
  "template",
  "tasks",
  "lastTasks",
  "task",
  "taskOutput",
  "startTask",
  "stopTask",
  "confirmTask",
  "rejectTask",
] as const;
type Recorded = (typeof RECORDED)[number];

/** The id of the first task started in a fresh emulator: ids count down from 2147483646 as on a live v2.10, and the
 *  demo seed's history has 2147483646…2147483640. */
export const FIRST_NEW_TASK_ID = 2147483639;

/** Stands for the emulator admin's token, which is random and known only once the emulator has started. */
const ADMIN_TOKEN_PLACEHOLDER = "emulator-admin-token";

/** The real client over an in-process emulator; `calls` lists every API method called, in order. */
export class RecordingClient extends SemaphoreClient {
  readonly calls: Array<{ method: Recorded; args: unknown[] }> = [];

  constructor(readonly emulator: Promise<SemaphoreServer>) {
    super({
      url: "http://semaphore-emulator.invalid",
      token: ADMIN_TOKEN_PLACEHOLDER,
      retries: 0,
      fetch: async (url, init) => {
        const server = await emulator;
        const headers = { ...init.headers };
        if (headers.Authorization === `Bearer ${ADMIN_TOKEN_PLACEHOLDER}`) headers.Authorization = `Bearer ${server.adminToken}`;
        return server.fetch(url, { ...init, headers });
      },
    });
    for (const method of RECORDED) {
      const real = SemaphoreClient.prototype[method] as (...a: unknown[]) => Promise<unknown>;
      Object.defineProperty(this, method, {
        writable: true,
        configurable: true,
        value: (...args: unknown[]) => {
          this.calls.push({ method, args });
          return real.apply(this, args);
        },
      });
    }
  }

  /** The arguments of every call of `method`, in order. */
  callsOf(method: Recorded): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }
}

export interface EmulatorOptions {
  /** "demo" (default): the demo's projects, templates and history; "empty": users and tokens only. */
  seed?: "demo" | "empty";
  /** "modern" for what arrived after v2.10 (e.g. rejecting a task); default "v2.10", as live. */
  apiFlavor?: ApiFlavor;
}

/** An emulator without a socket or pool timer, and a recording client logged in as its admin. */
export function emulatedSemaphore(o: EmulatorOptions = {}): RecordingClient {
  // A delay unit of 1 ms: a task the test ticks into running reaches its next state at once.
  return new RecordingClient(startSemaphoreServer({ ...o, listen: false, tickMs: 0, schedules: false, lineDelayMs: 1 }));
}

/**
 * Starts a task that stays `running` until stopped, or one that waits at its plan for a confirmation, and resolves
 * once it is there (the runner moves it along in 1 ms steps).
 */
export async function emulatorTaskIn(emulator: SemaphoreServer, projectId: number, status: "running" | "waiting_confirmation"): Promise<TaskJson> {
  const scenario = status === "running" ? { lines: ["working"], delayUnits: 1e9 } : { lines: ["plan", "apply"], confirmAfter: 1 };
  const template = emulator.addTemplate(projectId, { name: `Held ${status} ${Date.now()}`, scenario });
  const task = emulator.startTaskAs(projectId, template.id);
  emulator.tick();
  while (emulator.getTask(task.id)?.status !== status) await new Promise((r) => setTimeout(r, 1));
  return emulator.getTask(task.id)!;
}
