// 5-field cron expressions as Semaphore validates them (robfig/cron ParseStandard: minute hour dom month dow, plus
// @descriptors), with robfig's error texts, and the "next fire time" the schedule runner needs. Times are UTC.

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DOWS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FIELDS: Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 6, names: DOWS },
];

export type CronSchedule = { kind: "fields"; sets: Set<number>[]; domStar: boolean; dowStar: boolean } | { kind: "every"; ms: number };

export type CronResult = { ok: true; schedule: CronSchedule } | { ok: false; error: string };

class CronError extends Error {}

function goAtoi(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr)) throw new CronError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = parseInt(expr, 10);
  if (n < 0) throw new CronError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function intOrName(expr: string, names?: Record<string, number>): number {
  if (names) {
    const n = names[expr.toLowerCase()];
    if (n !== undefined) return n;
  }
  return goAtoi(expr);
}

/** Returns the values of one comma-separated field and whether it was a bare star. */
function parseField(field: string, b: Bounds): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  let star = false;
  for (const expr of field.split(",").filter((s) => s !== "")) {
    const rangeAndStep = expr.split("/");
    const lowAndHigh = rangeAndStep[0]!.split("-");
    const single = lowAndHigh.length === 1;
    let start: number;
    let end: number;
    let isStar = false;
    if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
      start = b.min;
      end = b.max;
      isStar = true;
    } else {
      start = intOrName(lowAndHigh[0]!, b.names);
      if (lowAndHigh.length === 1) end = start;
      else if (lowAndHigh.length === 2) end = intOrName(lowAndHigh[1]!, b.names);
      else throw new CronError(`too many hyphens: ${expr}`);
    }
    let step = 1;
    if (rangeAndStep.length === 2) {
      step = goAtoi(rangeAndStep[1]!);
      if (single) end = b.max;
      if (step > 1) isStar = false;
    } else if (rangeAndStep.length > 2) {
      throw new CronError(`too many slashes: ${expr}`);
    }
    if (start < b.min) throw new CronError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
    if (end > b.max) throw new CronError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
    if (start > end) throw new CronError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
    if (step === 0) throw new CronError(`step of range should be a positive number: ${expr}`);
    for (let v = start; v <= end; v += step) set.add(v);
    if (isStar) star = true;
  }
  return { set, star };
}

const GO_DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseGoDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  if (s === "" || s === "0") {
    if (s === "0") return 0;
    throw new CronError(`time: invalid duration ${JSON.stringify(s)}`);
  }
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new CronError(`time: invalid duration ${JSON.stringify(s)}`);
    total += parseFloat(m[1]!) * GO_DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return total;
}

function parseDescriptor(spec: string): CronSchedule {
  const fields = (m: string, h: string, dom: string, mon: string, dow: string): CronSchedule => {
    const parsed = [m, h, dom, mon, dow].map((f, i) => parseField(f, FIELDS[i]!));
    return { kind: "fields", sets: parsed.map((p) => p.set), domStar: parsed[2]!.star, dowStar: parsed[4]!.star };
  };
  switch (spec) {
    case "@yearly":
    case "@annually":
      return fields("0", "0", "1", "1", "*");
    case "@monthly":
      return fields("0", "0", "1", "*", "*");
    case "@weekly":
      return fields("0", "0", "*", "*", "0");
    case "@daily":
    case "@midnight":
      return fields("0", "0", "*", "*", "*");
    case "@hourly":
      return fields("0", "*", "*", "*", "*");
  }
  const every = "@every ";
  if (spec.startsWith(every)) {
    const d = spec.slice(every.length);
    let ms: number;
    try {
      ms = parseGoDuration(d);
    } catch (e) {
      throw new CronError(`failed to parse duration ${spec}: ${(e as Error).message}`);
    }
    // robfig: durations below a second become one second, others are rounded down to seconds
    return { kind: "every", ms: ms < 1000 ? 1000 : Math.floor(ms / 1000) * 1000 };
  }
  throw new CronError(`unrecognized descriptor: ${spec}`);
}

/** Parse like robfig's standard parser. Error texts are robfig's (Semaphore prefixes them with "Cron: "). */
export function parseCron(input: string): CronResult {
  try {
    let spec = input;
    if (spec.length === 0) throw new CronError("empty spec string");
    if (spec.startsWith("TZ=") || spec.startsWith("CRON_TZ=")) {
      const i = spec.indexOf(" ");
      if (i < 0) throw new CronError(`provided bad location ${spec.slice(spec.indexOf("=") + 1)}: unknown time zone`);
      spec = spec.slice(i).trim();
    }
    if (spec.startsWith("@")) return { ok: true, schedule: parseDescriptor(spec) };
    const fields = spec.split(/\s+/).filter((f) => f !== "");
    if (fields.length !== 5) throw new CronError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`);
    const parsed = fields.map((f, i) => parseField(f, FIELDS[i]!));
    return { ok: true, schedule: { kind: "fields", sets: parsed.map((p) => p.set), domStar: parsed[2]!.star, dowStar: parsed[4]!.star } };
  } catch (e) {
    if (e instanceof CronError) return { ok: false, error: e.message };
    throw e;
  }
}

function matches(s: Extract<CronSchedule, { kind: "fields" }>, d: Date): boolean {
  const [min, hour, dom, mon, dow] = s.sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (!min.has(d.getUTCMinutes()) || !hour.has(d.getUTCHours()) || !mon.has(d.getUTCMonth() + 1)) return false;
  const domOk = dom.has(d.getUTCDate());
  const dowOk = dow.has(d.getUTCDay());
  // robfig: if either day field is a star, both must match (AND); otherwise either may match (OR)
  return s.domStar || s.dowStar ? domOk && dowOk : domOk || dowOk;
}

/** Next fire time strictly after `afterMs` (ms epoch), or null if none within 5 years. */
export function nextFire(s: CronSchedule, afterMs: number, startedMs = afterMs): number | null {
  if (s.kind === "every") {
    const n = Math.floor((afterMs - startedMs) / s.ms) + 1;
    return startedMs + n * s.ms;
  }
  let t = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
  const limit = afterMs + 5 * 366 * 24 * 3600_000;
  while (t <= limit) {
    const d = new Date(t);
    if (!s.sets[3]!.has(d.getUTCMonth() + 1)) {
      // jump to the first minute of the next month
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      continue;
    }
    if (matches(s, d)) return t;
    if (!s.sets[1]!.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    t += 60_000;
  }
  return null;
}
