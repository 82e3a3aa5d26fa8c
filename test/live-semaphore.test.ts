// The client side of a live v2.10.32 (semaphore-api.md §11), against the emulator's default (live-like) behaviour:
// ids that count down (1), a version without "v" (2), and `stopped` with `end: null` while the playbook runs on (5).
import test from "ava";
import { DEFAULT_VERSION, startSemaphoreServer, type SemaphoreServer } from "../src/emulator/index.js";
import { SemaphoreClient, apiShapeForVersion } from "../src/semaphore/client.js";
import { newestFirst } from "../src/core/store.js";
import { CardManager } from "../src/matrix/cards.js";
import { startEngine, waitUntil, OPS_ROOM } from "./helpers-chat/ops.js";

test("item 2: live version strings (no v) are understood and give the v2.10 body shape without a warning", async (t) => {
  for (const v of ["2.10.32-f33944e0-2026-12-04T22:51:18Z", DEFAULT_VERSION, "v2.10.32"]) t.is(apiShapeForVersion(v), "flat", v);
  t.is(apiShapeForVersion("2.15.0-0a1b2c3-2025-06-01T00:00:00Z"), "params");
  const sem = await startSemaphoreServer({ tickMs: 1_000_000, lineDelayMs: 1, schedules: false });
  t.teardown(() => sem.stop());
  const warnings: string[] = [];
  const c = new SemaphoreClient({ url: sem.url, token: sem.tokens["runner"]!, retries: 0, onWarning: (w) => warnings.push(w) });
  t.teardown(() => c.close());
  t.is(await c.apiShape(), "flat");
  t.deepEqual(warnings, []);
});

test("item 1: the newest task has the smallest id; client lists, store order and chat `tasks` put it first", async (t) => {
  const e = await startEngine();
  t.teardown(() => e.close());
  const before = await e.ops.semaphore!.lastTasks(1);
  const started = await (await e.cmd("run 1 Deploy")).confirm!.onConfirm();
  const key = (started.card as { taskKey: string }).taskKey;
  const id = Number(key.split(":")[1]);
  t.true(
    before.every((x) => x.id > id),
    "a live BoltDB counts ids down",
  );
  const list = await e.ops.semaphore!.lastTasks(1);
  t.is(list[0]!.id, id, "client: newest first");
  await waitUntil(() => e.store.tasks.get(key)?.created, 10_000, "the tracker to learn the new task");
  await waitUntil(() => [...e.store.tasks.values()].filter((x) => x.projectId === 1).length > 1, 10_000, "older tasks in the store");
  const ordered = [...e.store.tasks.values()].sort(newestFirst);
  t.is(ordered[0]!.key, key, "store/console order: newest first although its id is the smallest");
  t.not(Math.max(...ordered.map((x) => x.taskId)), id);
  const reply = await e.cmd("tasks");
  const firstRow = reply.text.split("\n").find((l) => /#\d+/.test(l));
  t.regex(firstRow ?? "", new RegExp(`#${id}\\b`), `chat tasks lists the newest first:\n${reply.text}`);
});

for (const mode of ["websocket", "polling"] as const) {
  test(`item 5 (${mode}): stopped with end null is not finished; the card keeps following output until end is set`, async (t) => {
    // A unit of 1 s keeps the task in `starting` for 0.3 s; the stop is sent the moment it gets there (live: it then
    // runs on). The playbook's own lines come every 50 ms.
    let stopSent: Promise<Response> | undefined;
    const server: SemaphoreServer = await startSemaphoreServer({
      tickMs: 20,
      lineDelayMs: 1000,
      schedules: false,
      onTaskUpdate: (task) => {
        if (task.status !== "starting" || stopSent) return;
        stopSent = fetch(`${server.url}/api/project/1/tasks/${task.id}/stop`, {
          method: "POST",
          headers: { Authorization: `Bearer ${server.adminToken}`, "Content-Type": "application/json" },
          body: JSON.stringify({ force: true }),
        });
      },
    });
    const lines = Array.from({ length: 30 }, (_, i) => `TASK [step ${i}] ***`).concat(["PLAY RECAP ***", "web1 : ok=30 changed=0 unreachable=0 failed=0"]);
    server.addTemplate(1, { name: "Slow steps", app: "ansible", scenario: { lines, delayUnits: 0.05 } });
    if (mode === "polling") server.faults.refuseWebsocket(503);
    const e = await startEngine({ server, ini: `[room "${OPS_ROOM}"]\nrun = *\n` });
    t.teardown(async () => {
      await e.close();
      await server.stop();
    });
    const sent: Array<{ content: any; id: string }> = [];
    let n = 0;
    const ports = {
      send: async (_room: string, content: any) => {
        const id = `$e${++n}`;
        sent.push({ content, id });
        return id;
      },
      roomName: () => "Ops",
    };
    const cards = new CardManager({ ops: e.ops, ports, log: e.logger.child("cards"), editIntervalMs: 50, threadIntervalMs: 50 });
    cards.start();
    t.teardown(() => cards.stop());
    const started = await (await e.cmd("run 1 Slow")).confirm!.onConfirm();
    const key = (started.card as { taskKey: string }).taskKey;
    const taskId = Number(key.split(":")[1]);
    const cardId = (await cards.post(OPS_ROOM, "$cmd", started.card!, started, e.actor()))!;
    await waitUntil(() => stopSent, 20_000, "the stop to be sent");
    t.is((await stopSent!).status, 204);
    await waitUntil(() => e.store.tasks.get(key)?.status === "stopped", 20_000, "stopped in the store");
    t.is(e.store.tasks.get(key)!.end, null);
    const linesAtStop = (await e.ops.semaphore!.taskOutput(1, taskId)).length;
    await waitUntil(() => server.getTask(taskId)!["end"], 60_000, "the playbook to finish");
    await waitUntil(() => e.store.tasks.get(key)?.end, 20_000, "end in the store");
    const all = (await e.ops.semaphore!.taskOutput(1, taskId)).map((o) => o.output);
    t.true(all.length > linesAtStop, "the playbook printed on after the stop");
    // the thread receives every line, including those printed after `stopped`
    await waitUntil(
      () =>
        sent
          .filter((s) => s.content["m.relates_to"]?.rel_type === "m.thread")
          .map((s) => s.content.body)
          .join("\n")
          .includes("PLAY RECAP"),
      20_000,
      "the last lines in the thread",
    );
    const edits = sent
      .filter((s) => s.content["m.relates_to"]?.rel_type === "m.replace" && s.content["m.relates_to"].event_id === cardId)
      .map((s) => s.content["m.new_content"].body as string);
    const whileRunningOn = edits.filter((b) => /: stopped/.test(b));
    t.true(
      whileRunningOn.some((b) => /so far/.test(b)),
      `a stopped card said "so far" while output still came:\n${whileRunningOn.join("\n---\n")}`,
    );
    // The card's last edit (thread lines also relate to the card, and may come after it).
    const lastEdit = () =>
      sent.filter((s) => s.content["m.relates_to"]?.rel_type === "m.replace" && s.content["m.relates_to"].event_id === cardId).at(-1)?.content["m.new_content"]
        ?.body ?? "";
    await waitUntil(() => /took/.test(lastEdit()), 10_000, "the final card").catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; the card's last edit:\n${lastEdit()}`);
    });
  });
}
