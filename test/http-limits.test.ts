// The health and metrics endpoint under hostile clients (issue 12 item 15): idle, half-sent and trickling
// connections are closed by its timeouts, connections over the cap are refused, and /metrics carries project and
// template ids, not names, unless [bot] metrics_names asks for them. Loopback only, bounded connection counts,
// small timeouts passed as options; the only time bound is a generous "closed eventually".
import test from "ava";
import net from "node:net";
import { Store } from "../src/core/store.js";
import { Metrics } from "../src/core/metrics.js";
import { startHttpEndpoint, type HttpEndpoint, type HttpLimits } from "../src/http/server.js";
import { httpRequest } from "./harness/http-request.js";

/** Just enough of an App for /healthz and /metrics. */
function fakeApp(metricsNames = false) {
  const store = new Store();
  const metrics = new Metrics();
  const stopWatching = metrics.watch(store);
  const ops = {
    metrics,
    startedAt: Date.now(),
    tracker: undefined,
    approvals: { pending: () => [] },
    counters: { messagesSent: 0 },
    config: { values: { bot: { metrics_names: metricsNames } } },
  };
  return { app: { store, ops, matrix: undefined } as never as Parameters<typeof startHttpEndpoint>[0], store, ops, stopWatching };
}

function quietLog(warnings: string[] = []) {
  return { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
}

type Teardown = { teardown: (fn: () => unknown) => void };

async function endpoint(t: Teardown, limits: Partial<HttpLimits>, warnings: string[] = [], app = fakeApp().app): Promise<HttpEndpoint> {
  const ep = await startHttpEndpoint(app, "127.0.0.1:0", quietLog(warnings), limits);
  t.teardown(() => ep.close());
  return ep;
}

interface Client {
  socket: net.Socket;
  connected: Promise<void>;
  closed: Promise<void>;
  isClosed: () => boolean;
  received: () => string;
}

function connect(url: string, sockets: net.Socket[]): Client {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  sockets.push(socket);
  let data = "";
  let closed = false;
  socket.on("data", (d) => (data += d.toString("latin1")));
  socket.on("error", () => undefined); // a refused or reset connection is what some tests expect
  return {
    socket,
    connected: new Promise<void>((ok) => socket.once("connect", () => ok())),
    closed: new Promise<void>((ok) =>
      socket.once("close", () => {
        closed = true;
        ok();
      }),
    ),
    isClosed: () => closed,
    received: () => data,
  };
}

/** Resolves when every promise has, or rejects after `ms` naming how many are still pending. */
async function allWithin(what: string, promises: Promise<unknown>[], ms: number): Promise<void> {
  let settled = 0;
  const counted = promises.map((p) =>
    p.then(() => {
      settled++;
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: ${promises.length - settled} of ${promises.length} still open after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([Promise.all(counted), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const GENEROUS_MS = 8_000; // many times the small timeouts below; far below what the endpoint used to allow

test("idle, half-sent, trickling and kept-alive connections are all closed by the endpoint", async (t) => {
  const ep = await endpoint(t, { headersTimeoutMs: 400, requestTimeoutMs: 800, keepAliveTimeoutMs: 300, idleTimeoutMs: 400, checkIntervalMs: 100 });
  const sockets: net.Socket[] = [];
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });

  const idle = Array.from({ length: 20 }, () => connect(ep.url, sockets));
  const halfSent = Array.from({ length: 20 }, () => connect(ep.url, sockets));
  const trickling = Array.from({ length: 10 }, () => connect(ep.url, sockets));
  const keptAlive = Array.from({ length: 5 }, () => connect(ep.url, sockets));
  await Promise.all([...idle, ...halfSent, ...trickling, ...keptAlive].map((c) => c.connected));

  for (const c of halfSent) c.socket.write("GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
  // Never idle long enough for the idle timeout: only the headers deadline can end these.
  for (const c of trickling) {
    c.socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
    const timer = setInterval(() => {
      if (!c.isClosed()) c.socket.write("X-A: b\r\n");
    }, 100);
    void c.closed.then(() => clearInterval(timer));
    t.teardown(() => clearInterval(timer));
  }
  for (const c of keptAlive) c.socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");

  await allWithin(
    "idle connections",
    idle.map((c) => c.closed),
    GENEROUS_MS,
  );
  await allWithin(
    "half-sent requests",
    halfSent.map((c) => c.closed),
    GENEROUS_MS,
  );
  await allWithin(
    "trickling headers",
    trickling.map((c) => c.closed),
    GENEROUS_MS,
  );
  await allWithin(
    "kept-alive connections",
    keptAlive.map((c) => c.closed),
    GENEROUS_MS,
  );
  for (const c of keptAlive) t.regex(c.received(), /^HTTP\/1\.1 (200|503) /, "a complete request was answered before the connection was closed");
  for (const c of halfSent) t.false(/^HTTP\/1\.1 [25]\d\d /.test(c.received()), "a half-sent request is never answered as if complete");
});

test("connections over the cap are refused at once, those under it are served, and the refusal is logged once", async (t) => {
  const warnings: string[] = [];
  const patient = { headersTimeoutMs: 30_000, requestTimeoutMs: 60_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 60_000 };
  const ep = await endpoint(t, { maxConnections: 8, ...patient }, warnings);
  const sockets: net.Socket[] = [];
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });

  const held = Array.from({ length: 8 }, () => connect(ep.url, sockets));
  await Promise.all(held.map((c) => c.connected));
  const over = [connect(ep.url, sockets), connect(ep.url, sockets)];
  await allWithin(
    "connections over the cap",
    over.map((c) => c.closed),
    GENEROUS_MS,
  );
  for (const c of over) t.is(c.received(), "", "refused without an answer");

  // The held connections are still open and are served.
  t.false(held.some((c) => c.isClosed()));
  held[0]!.socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  await allWithin("the answer on a held connection", [held[0]!.closed], GENEROUS_MS);
  t.regex(held[0]!.received(), /^HTTP\/1\.1 (200|503) /);
  // A slot is free again: a new client is served (the server may take a moment to see the close).
  let answered: Awaited<ReturnType<typeof httpRequest>> | undefined;
  const pause = () => new Promise<undefined>((ok) => setTimeout(() => ok(undefined), 20));
  for (let i = 0; i < 100 && !answered; i++) answered = await httpRequest(`${ep.url}/healthz`).catch(pause);
  t.truthy(answered, "a new client is served once a slot is free");

  t.is(warnings.filter((w) => /refused/.test(w)).length, 1, `logged once: ${JSON.stringify(warnings)}`);
  t.regex(warnings[0]!, /health and metrics endpoint refused a connection: 8 are open, the most it keeps/);
});

test("/metrics labels tasks by project and template id; names only when [bot] metrics_names is on (read at each scrape)", async (t) => {
  const { app, store, ops, stopWatching } = fakeApp(false);
  t.teardown(stopWatching);
  const ep = await endpoint(t, {}, [], app);
  const task = { projectId: 1, taskId: 7, templateId: 3, projectName: "Infra-Secret", templateName: "Deploy secret-web" };
  store.upsertTask({ ...task, status: "running", start: "2026-01-01T00:00:00Z" });
  store.upsertTask({ ...task, status: "success", end: "2026-01-01T00:00:30Z" });

  const off = (await httpRequest(`${ep.url}/metrics`)).body;
  t.false(off.includes("Infra-Secret"), "no project name");
  t.false(off.includes("secret-web"), "no template name");
  t.true(off.includes('chatrixcd_tasks{project_id="1",template_id="3",status="success"} 1\n'), off);
  t.true(off.includes('chatrixcd_tasks_finished_total{project_id="1",template_id="3",status="success"} 1\n'));
  t.true(off.includes('chatrixcd_task_duration_seconds_sum{project_id="1",template_id="3",status="success"} 30\n'));

  ops.config.values.bot.metrics_names = true; // what a reload does
  const on = (await httpRequest(`${ep.url}/metrics`)).body;
  t.true(on.includes('chatrixcd_tasks{project_id="1",template_id="3",status="success",project="Infra-Secret",template="Deploy secret-web"} 1\n'), on);
  t.true(
    on.includes('chatrixcd_tasks_finished_total{project_id="1",template_id="3",status="success",project="Infra-Secret",template="Deploy secret-web"} 1\n'),
  );
  t.true(
    on.includes(
      'chatrixcd_task_duration_seconds_count{project_id="1",template_id="3",status="success",project="Infra-Secret",template="Deploy secret-web"} 1\n',
    ),
  );
});
