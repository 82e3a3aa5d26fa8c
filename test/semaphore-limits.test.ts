// Size caps on Semaphore's replies (issue 12 item 14): a reply over its cap — declared by Content-Length or sent
// chunked without one — is a typed too_large error, asked once (never retried), and the client stops reading, so the
// server sees the socket closed before it has written everything. Task output is split into lines as it streams.
import test from "ava";
import http from "node:http";
import type net from "node:net";
import { SemaphoreClient, REPLY_LIMITS, type RequestInfo, type SemaphoreClientOptions } from "../src/semaphore/client.js";
import { SemaphoreError } from "../src/semaphore/errors.js";
import { JsonArraySplitter } from "../src/semaphore/body.js";
import { TaskTracker } from "../src/semaphore/tracker.js";
import { Store } from "../src/core/store.js";
import { normalizeList, normalizeTaskOutput } from "../src/semaphore/types.js";
import { mulberry32 } from "../src/util/random.js";

const TOKEN = "kwofd61g93-yuqvex8efmhjkgnbxlo8mp1tin6spyhu=";
const KiB = 1024;
const MiB = 1024 * KiB;

/** How a route answers: a JSON array poured element by element up to `total` bytes, or a fixed body in chunks. */
type Pour =
  | { kind: "array"; element: string; total: number; contentLength?: number }
  | { kind: "body"; text: string; chunks?: number[] }
  | { kind: "headersOnly"; contentLength: number };

interface Served {
  path: string;
  written: number;
  total: number;
  finished: boolean;
  closed: Promise<void>;
}

interface PourServer {
  url: string;
  served: Served[];
  close(): Promise<void>;
}

async function pourServer(route: (path: string) => Pour): Promise<PourServer> {
  const served: Served[] = [];
  const server = http.createServer((req, res) => {
    let closedNow = false;
    let onClose!: () => void;
    const s: Served = { path: req.url ?? "", written: 0, total: 0, finished: false, closed: new Promise<void>((ok) => (onClose = ok)) };
    served.push(s);
    res.on("close", () => {
      closedNow = true;
      onClose();
    });
    res.on("finish", () => {
      s.finished = true;
    });
    const write = async (chunk: string): Promise<boolean> => {
      if (closedNow) return false;
      const buf = Buffer.from(chunk);
      s.written += buf.length;
      if (!res.write(buf)) {
        await new Promise<void>((ok) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            ok();
          };
          res.on("drain", done);
          res.on("close", done);
        });
      }
      return !closedNow;
    };
    const p = route(s.path);
    void (async () => {
      if (p.kind === "headersOnly") {
        s.total = p.contentLength;
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(p.contentLength) });
        await write("[");
        return; // the rest never comes
      }
      if (p.kind === "body") {
        s.total = Buffer.byteLength(p.text);
        res.writeHead(200, { "Content-Type": "application/json" });
        const bytes = Buffer.from(p.text);
        let at = 0;
        for (const n of p.chunks ?? [bytes.length]) {
          if (at >= bytes.length) break;
          s.written += Math.min(n, bytes.length - at);
          res.write(bytes.subarray(at, at + n)); // may split a UTF-8 character: the client must cope
          at += n;
        }
        if (at < bytes.length) res.write(bytes.subarray(at));
        res.end();
        return;
      }
      s.total = p.total;
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (p.contentLength !== undefined) headers["Content-Length"] = String(p.contentLength);
      res.writeHead(200, headers);
      const block = Array.from({ length: Math.max(1, Math.floor((64 * KiB) / (p.element.length + 1))) }, () => p.element).join(",");
      if (!(await write("[" + block))) return;
      while (s.written + block.length + 2 < p.total) if (!(await write("," + block))) return;
      if (await write("]")) res.end();
    })();
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    served,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function client(url: string, extra: Partial<SemaphoreClientOptions> = {}): SemaphoreClient {
  return new SemaphoreClient({ url, token: TOKEN, retryDelayMs: 1, timeoutMs: 10_000, retries: 3, ...extra });
}

async function failure(p: Promise<unknown>): Promise<SemaphoreError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SemaphoreError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

const TASK = JSON.stringify({ id: 7, template_id: 1, project_id: 1, status: "success", tpl_alias: "Deploy web", tpl_type: "", message: "x".repeat(200) });
const LINE = (i: number | string = 0) =>
  JSON.stringify({ task_id: 5, time: "2026-11-26T16:45:54Z", output: `TASK [line ${i}] ok: [web1] => ${"-".repeat(80)}` });

test("a JSON reply over 16 MiB sent without a length: too_large, asked once, and the client stops reading", async (t) => {
  const s = await pourServer(() => ({ kind: "array", element: TASK, total: 48 * MiB }));
  t.teardown(() => s.close());
  const attempts: RequestInfo[] = [];
  const c = client(s.url, { onRequest: (i) => attempts.push(i) });
  t.teardown(() => c.close());
  const e = await failure(c.lastTasks(1));
  t.is(e.kind, "too_large");
  t.false(e.retryable);
  t.is(e.status, 200);
  t.is(e.limitBytes, REPLY_LIMITS.json);
  t.is(
    e.userMessage(),
    "Semaphore's reply to GET /api/project/1/tasks/last was larger than 16 MiB; ChatrixCD stopped reading it. A reply that large is not normal: check " +
      "that [semaphore] url is Semaphore's own address (not a proxy or file server), and see the Semaphore server log.",
  );
  t.is(s.served.length, 1, "not retried");
  t.deepEqual(
    attempts.map((a) => a.error),
    ["too_large"],
  );
  await s.served[0]!.closed;
  t.false(s.served[0]!.finished, "the server could not finish: the client hung up");
  t.true(s.served[0]!.written < 40 * MiB, `the server wrote ${s.served[0]!.written} of ${s.served[0]!.total} bytes`);
});

test("a Content-Length over the cap is refused from the headers, without waiting for the body", async (t) => {
  const s = await pourServer(() => ({ kind: "headersOnly", contentLength: REPLY_LIMITS.json + 1 }));
  t.teardown(() => s.close());
  const c = client(s.url, { timeoutMs: 5_000 });
  t.teardown(() => c.close());
  const e = await failure(c.projects());
  t.is(e.kind, "too_large", e.userMessage());
  t.regex(e.userMessage(), /^Semaphore's reply to GET \/api\/projects was larger than 16 MiB; ChatrixCD stopped reading it\./);
  t.is(s.served.length, 1, "not retried");
  await s.served[0]!.closed;
});

test("caps by kind: a task log may be larger than a JSON list; a log over its own cap says where to read it", async (t) => {
  const s = await pourServer((path) => {
    if (path.endsWith("/tasks/5/output")) return { kind: "array", element: LINE(), total: 300 * KiB };
    if (path.endsWith("/tasks/6/output")) return { kind: "array", element: LINE(), total: 8 * MiB };
    return { kind: "array", element: TASK, total: 300 * KiB };
  });
  t.teardown(() => s.close());
  const c = client(s.url, { replyLimits: { json: 64 * KiB, output: 1 * MiB } });
  t.teardown(() => c.close());

  const lines = await c.taskOutput(1, 5);
  t.true(lines.length > 1000, `${lines.length} lines`);
  t.deepEqual(lines[0], normalizeTaskOutput(JSON.parse(LINE())));

  const list = await failure(c.lastTasks(1));
  t.is(list.kind, "too_large");
  t.regex(list.userMessage(), /larger than 64 KiB/);

  const big = await failure(c.taskOutput(1, 6));
  t.is(big.kind, "too_large");
  t.is(
    big.userMessage(),
    "Semaphore's reply to GET /api/project/1/tasks/6/output (the task's log) was larger than 1 MiB; ChatrixCD stopped reading it. Read this log in " +
      "Semaphore's web UI.",
  );
  const served6 = s.served.filter((x) => x.path.endsWith("/tasks/6/output"));
  t.is(served6.length, 1, "not retried");
  await served6[0]!.closed;
  t.false(served6[0]!.finished);
  t.is(s.served.length, 3);
});

// ---- the streaming list reader -----------------------------------------------------------------------------

const TRICKY = [
  { task_id: 5, time: "t1", output: "plain" },
  { task_id: 5, time: "t2", output: "brackets ] [ } { and commas , , inside a string" },
  { task_id: 5, time: "t3", output: 'quotes \\" and backslashes \\\\ and "quoted ]"' },
  { task_id: 5, time: "t4", output: "unicode: é ✓ 🚀 中文, split anywhere" },
  { task_id: 5, time: "t5", output: "", extra: { nested: [1, [2, { "]": "," }]], s: "}" } },
  { task_id: 5, time: "t6", output: "\u001b[31mred\u001b[0m \\u005d" },
];

test("JsonArraySplitter: elements come out whole, whatever the chunking (seeded random splits)", (t) => {
  const text = ` \n[ ${TRICKY.map((x, i) => (i % 2 ? JSON.stringify(x, null, 2) : JSON.stringify(x))).join(" ,\n")} ]\n `;
  for (let seed = 1; seed <= 200; seed++) {
    const rnd = mulberry32(seed);
    const splitter = new JsonArraySplitter();
    const out: unknown[] = [];
    for (let at = 0; at < text.length;) {
      const n = 1 + Math.floor(rnd() * 12);
      for (const e of splitter.feed(text.slice(at, at + n))) out.push(JSON.parse(e));
      at += n;
    }
    splitter.end();
    t.false(splitter.notArray);
    t.deepEqual(out, TRICKY, `seed ${seed}`);
  }
  const whole = (s: string) => {
    const sp = new JsonArraySplitter();
    const out = sp.feed(s);
    sp.end();
    return { out, notArray: sp.notArray };
  };
  t.deepEqual(whole("[]"), { out: [], notArray: false });
  t.deepEqual(whole("  []  "), { out: [], notArray: false });
  t.deepEqual(whole('[[1,2],{"a":[]}]'), { out: ["[1,2]", '{"a":[]}'], notArray: false });
  t.deepEqual(whole("null"), { out: [], notArray: true });
  t.throws(() => whole("[1,]"), { instanceOf: SyntaxError });
  t.throws(() => whole("[,1]"), { instanceOf: SyntaxError });
  t.throws(() => whole("[1] x"), { instanceOf: SyntaxError });
  t.throws(() => whole("[1, 2"), { instanceOf: SyntaxError });
});

test("task output over HTTP in odd chunks (UTF-8 split mid-character) reads as one parse would; odd bodies keep their errors", async (t) => {
  const text = JSON.stringify(TRICKY);
  const rnd = mulberry32(12);
  const chunks = Array.from({ length: 400 }, () => 1 + Math.floor(rnd() * 7));
  const bodies: Record<string, Pour> = {
    "/api/project/1/tasks/1/output": { kind: "body", text, chunks },
    "/api/project/1/tasks/2/output": { kind: "body", text: " [ ] " },
    "/api/project/1/tasks/3/output": { kind: "body", text: "null" },
    "/api/project/1/tasks/4/output": { kind: "body", text: '[{"task_id":1,"time":"t","output":"a"},]' },
    "/api/project/1/tasks/5/output": { kind: "body", text: '[{"task_id":1,"time":"t","output":42}]' },
  };
  const s = await pourServer((path) => bodies[path]!);
  t.teardown(() => s.close());
  const c = client(s.url);
  t.teardown(() => c.close());
  t.deepEqual(await c.taskOutput(1, 1), normalizeList(JSON.parse(text), normalizeTaskOutput, "output"));
  t.deepEqual(await c.taskOutput(1, 2), []);
  const notList = await failure(c.taskOutput(1, 3));
  t.is(notList.kind, "bad_reply");
  t.regex(notList.userMessage(), /GET \/api\/project\/1\/tasks\/3\/output didn't have the expected shape \(expected a list of outputs, got null\)/);
  const broken = await failure(c.taskOutput(1, 4));
  t.is(broken.kind, "not_json");
  t.regex(broken.userMessage(), /reply to GET \/api\/project\/1\/tasks\/4\/output was not valid JSON/);
  const badLine = await failure(c.taskOutput(1, 5));
  t.is(badLine.kind, "bad_reply");
  t.is(badLine.path, "/api/project/1/tasks/5/output");
  t.regex(badLine.userMessage(), /output\[0\]\.output is/);
});

// ---- the tracker --------------------------------------------------------------------------------------------

test("tracker: a task log over the cap is reported once and not downloaded again", async (t) => {
  let asked = 0;
  const tooLarge = new SemaphoreError({
    kind: "too_large",
    method: "GET",
    path: "/api/project/1/tasks/9/output",
    status: 200,
    limitBytes: REPLY_LIMITS.output,
  });
  const fakeClient = {
    taskOutput: async () => {
      asked++;
      throw tooLarge;
    },
  } as unknown as SemaphoreClient;
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
  const tracker = new TaskTracker({ client: fakeClient, store: new Store(), log, pollIntervalMs: 1000 });
  for (let i = 0; i < 3; i++) {
    const e = await t.throwsAsync(tracker.fetchOutput(1, 9));
    t.is((e as SemaphoreError).kind, "too_large", "every reader is told why");
  }
  t.is(asked, 1, "downloaded once");
  t.is(warnings.length, 1, "reported once");
  t.regex(warnings[0]!, /^task 9 of project 1: .*larger than 64 MiB.*Read this log in Semaphore's web UI\.$/);
});
