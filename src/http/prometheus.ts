// Prometheus text exposition format 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/
// One HELP and one TYPE line per family, then its samples; label values escaped; histograms as cumulative
// _bucket{le} series ending in le="+Inf", plus _sum and _count.

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Record<string, string>;

export interface Sample {
  labels?: Labels;
  value: number;
}

export interface HistogramData {
  labels?: Labels;
  /** Upper bounds (le), ascending, without +Inf. */
  bounds: readonly number[];
  /** Observations per bucket, not cumulative; one more entry than bounds (the +Inf bucket). */
  counts: readonly number[];
  sum: number;
  count: number;
}

export type Family =
  { name: string; help: string; type: "counter" | "gauge"; samples: Sample[] } | { name: string; help: string; type: "histogram"; histograms: HistogramData[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return "";
  for (const [k] of pairs) if (!LABEL_NAME.test(k) || k.startsWith("__")) throw new Error(`invalid Prometheus label name ${JSON.stringify(k)}`);
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(String(v))}"`).join(",")}}`;
}

/** The exposition text for these families. Throws on an invalid metric or label name (a programming error). */
export function renderPrometheus(families: Family[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`invalid Prometheus metric name ${JSON.stringify(f.name)}`);
    if (seen.has(f.name)) throw new Error(`metric family ${f.name} rendered twice`);
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    if (f.type === "histogram") {
      for (const h of f.histograms) {
        if (h.counts.length !== h.bounds.length + 1) throw new Error(`histogram ${f.name}: ${h.counts.length} counts for ${h.bounds.length} bounds`);
        let cumulative = 0;
        h.bounds.forEach((b, i) => {
          cumulative += h.counts[i]!;
          out.push(`${f.name}_bucket${labelText(h.labels, ["le", formatValue(b)])} ${cumulative}`);
        });
        out.push(`${f.name}_bucket${labelText(h.labels, ["le", "+Inf"])} ${h.count}`);
        out.push(`${f.name}_sum${labelText(h.labels)} ${formatValue(h.sum)}`);
        out.push(`${f.name}_count${labelText(h.labels)} ${h.count}`);
      }
    } else {
      for (const s of f.samples) out.push(`${f.name}${labelText(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return out.join("\n") + "\n";
}
