// /healthz and /metrics with Matrix configured, against the real Synapse started by test/run-tests.ts: the sync
// check, the outbox filling during a homeserver outage, retries, and recovery.
import { synapseTest, requireSynapse, uniqueLocalpart } from "./harness/integration.js";
import { RawClient } from "./harness/cs-client.js";
import { startTestBot } from "./harness/bot.js";
import { startTcpProxy } from "./harness/tcp-proxy.js";
import { httpRequest } from "./harness/http-request.js";

const PASSWORD = "correct horse battery staple";

const get = (url: string) => httpRequest(url);

/** One sample's value from exposition text (labels given in their rendered order). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

synapseTest("Matrix health follows the sync; the outbox fills during a homeserver outage and drains after it", async (t) => {
  const hs = requireSynapse();
  const botUser = await hs.registerUser(uniqueLocalpart("bot"), PASSWORD);
  const alice = await hs.registerUser(uniqueLocalpart("alice"), PASSWORD);
  const aliceClient = new RawClient(hs.url, alice.accessToken, alice.userId);
  const proxy = await startTcpProxy(hs.port);
  const bot = await startTestBot({ homeserver: proxy.url, userId: botUser.userId, password: PASSWORD, admins: [alice.userId], demo: true, start: false });
  bot.app.config.values.bot.http_listen = "127.0.0.1:0";
  t.teardown(async () => {
    await bot.stop();
    await proxy.close();
  });
  await bot.app.start();
  const base = bot.app.http!.url;

  const healthy = await until(
    "healthy",
    async () => {
      const r = await get(`${base}/healthz`);
      return r.status === 200 ? r : undefined;
    },
    20_000,
  );
  const h = JSON.parse(healthy.body);
  t.is(h.checks.matrix.state, "syncing");
  t.true(h.checks.matrix.lastSyncAgeSeconds <= 60);
  let m = (await get(`${base}/metrics`)).body;
  t.is(sample(m, 'chatrixcd_matrix_connection_state{state="syncing"}'), 1);
  t.true(Math.abs(sample(m, "chatrixcd_matrix_last_sync_timestamp_seconds")! - Date.now() / 1000) < 120);
  t.is(sample(m, "chatrixcd_matrix_outbox_events"), 0);
  const sentBefore = sample(m, "chatrixcd_matrix_messages_sent_total")!;
  const retriesBefore = sample(m, 'chatrixcd_matrix_send_retries_total{reason="transient"}')!;

  const roomId = await aliceClient.createRoom({ invite: [botUser.userId], name: "ops" });
  await aliceClient.waitForMembership(roomId, botUser.userId, "join");

  await proxy.cut();
  const sent = bot.app.ops.say({ kind: "console" }, roomId, "said during the outage");
  const down = await until(
    "503 while the homeserver is unreachable",
    async () => {
      const r = await get(`${base}/healthz`);
      return r.status === 503 ? r : undefined;
    },
    30_000,
  );
  t.false(JSON.parse(down.body).checks.matrix.ok);
  m = (await get(`${base}/metrics`)).body;
  t.is(sample(m, "chatrixcd_healthy"), 0);
  t.true(sample(m, "chatrixcd_matrix_outbox_events")! >= 1, "the message waits in the outbox");
  await until(
    "a send retry to be counted",
    async () => {
      const text = (await get(`${base}/metrics`)).body;
      return sample(text, 'chatrixcd_matrix_send_retries_total{reason="transient"}')! > retriesBefore ? true : undefined;
    },
    30_000,
  );

  await proxy.restore();
  t.truthy(await sent, "delivered after the outage");
  await until("healthy again", async () => ((await get(`${base}/healthz`)).status === 200 ? true : undefined), 60_000);
  m = (await get(`${base}/metrics`)).body;
  t.is(sample(m, "chatrixcd_matrix_outbox_events"), 0, "the outbox drained");
  t.true(sample(m, "chatrixcd_matrix_messages_sent_total")! > sentBefore);
  // Health can turn 200 on the first successful request after the outage, before the catch-up sync that carries
  // the bot's own join (sent just before the cut) is processed: the room count follows shortly after.
  await until("the joined room counted", async () => (sample((await get(`${base}/metrics`)).body, "chatrixcd_matrix_rooms") === 1 ? true : undefined), 30_000);
});
