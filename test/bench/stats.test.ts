import test from "ava";
import { pct, median } from "./figures.js";
import { ReplyLedger, summarizeProbe, p50p95, slope, summarizeHeap } from "./stats.js";
import type { ProbeSample } from "./soak-probe.js";

test("pct is the nearest-rank percentile and ignores input order", (t) => {
  const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  t.is(pct(xs, 50), 5);
  t.is(pct(xs, 95), 10);
  t.is(pct(xs, 10), 1);
  t.is(median([3]), 3);
  t.true(Number.isNaN(pct([], 50)));
  t.deepEqual(xs, [5, 1, 4, 2, 3, 10, 9, 8, 7, 6], "the input is not sorted in place");
  t.deepEqual(p50p95(Array.from({ length: 100 }, (_, i) => i + 1)), { p50: 50, p95: 95 });
});

test("ReplyLedger counts lost and doubled replies per bot and the latency of the first reply", (t) => {
  const l = new ReplyLedger();
  l.send({ eventId: "$a", kind: "ping", roomId: "!r", sentAt: 100, expectFrom: ["@ours", "@bare"], phase: "idle" });
  l.send({ eventId: "$b", kind: "tasks", roomId: "!r", sentAt: 200, expectFrom: ["@ours"], phase: "load" });
  l.send({ eventId: "$c", kind: "ping", roomId: "!r", sentAt: 300, expectFrom: ["@ours", "@bare"], phase: "load" });
  l.reply("@ours", "$a", 150);
  l.reply("@bare", "$a", 130);
  l.reply("@ours", "$b", 260);
  l.reply("@ours", "$b", 280); // doubled
  l.reply("@bare", "$c", 330); // ours never answers $c
  l.reply("@ours", "$unknown", 999); // not ours to count
  t.is(l.outstanding(), 1);
  t.deepEqual(l.summary("@ours"), { sent: 3, lost: 1, doubled: 1, latencies: [50, 60] });
  t.deepEqual(l.summary("@bare"), { sent: 2, lost: 0, doubled: 0, latencies: [30, 30] });
  t.deepEqual(l.summary("@ours", { kinds: ["ping"] }), { sent: 2, lost: 1, doubled: 0, latencies: [50] });
  t.deepEqual(l.summary("@ours", { phase: "load" }), { sent: 2, lost: 1, doubled: 1, latencies: [60] });
  t.deepEqual(l.summary("@bare", { phase: "idle", kinds: ["ping"] }), { sent: 1, lost: 0, doubled: 0, latencies: [30] });
  t.is(l.count("$b", "@ours"), 2);
});

test("summarizeProbe turns a probe interval into CPU % of a core, MiB and loop delay", (t) => {
  const s: ProbeSample = {
    seq: 1,
    t: 0,
    intervalMs: 2000,
    rss: 100 * 1048576,
    heapUsed: 40 * 1048576,
    heapTotal: 0,
    external: 0,
    arrayBuffers: 0,
    cpuMs: 500,
    elu: 0.2,
    lag: { count: 10, min: 10, p50: 11, p99: 30, max: 42, mean: 12, resolutionMs: 10 },
  };
  t.deepEqual(summarizeProbe(s), { cpuPercent: 25, rssMiB: 100, heapMiB: 40, lag: { p50: 11, p99: 30, max: 42 } });
});

test("slope is the least-squares growth per unit", (t) => {
  t.is(
    slope([
      [1, 80],
      [50, 80.49],
      [500, 84.99],
      [2000, 99.99],
    ]).toFixed(3),
    "0.010",
  );
  t.true(Number.isNaN(slope([[1, 2]])));
  t.true(
    Number.isNaN(
      slope([
        [3, 2],
        [3, 5],
      ]),
    ),
  );
});

test("summarizeHeap adds self sizes by constructor for objects and by type otherwise, largest first", (t) => {
  const snap = {
    snapshot: { meta: { node_fields: ["type", "name", "id", "self_size", "edge_count"], node_types: [["hidden", "array", "string", "object"]] as [string[]] } },
    strings: ["", "Room", "MatrixEvent", "hello"],
    nodes: [
      3,
      1,
      1,
      100,
      0, // Room 100
      3,
      2,
      2,
      40,
      0, // MatrixEvent 40
      3,
      2,
      3,
      40,
      0, // MatrixEvent 40
      2,
      3,
      4,
      500,
      0, // a string
      1,
      0,
      5,
      7,
      0, // an array
    ],
  };
  t.deepEqual(summarizeHeap(snap), [
    { what: "(string)", count: 1, bytes: 500 },
    { what: "Room", count: 1, bytes: 100 },
    { what: "MatrixEvent", count: 2, bytes: 80 },
    { what: "(array)", count: 1, bytes: 7 },
  ]);
  t.is(summarizeHeap(snap, 2).length, 2);
});
