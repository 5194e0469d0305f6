// The demo's report: one self-contained HTML file (uPlot and its CSS inlined, so it opens with no
// network) with the run's figures over time, the cost of its agent runs and the alert verdicts.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { ClaudeCallRecord, ClaudeRunRecord } from "@ballast/otel-claude";
import type { Summary } from "./summary.ts";
import type { ClaudeRequest } from "./telemetry.ts";

const BUCKET_S = 2;

interface Chart {
  id: string;
  title: string;
  /** x: seconds into the run (or a bucket's lower bound for a distribution); then one array per series */
  data: number[][];
  series: Array<{ label: string; color: string }>;
  bars?: boolean;
  unit: string;
}

const COLORS = ["#3b6fd8", "#d8553b", "#2e9e5b", "#a04bd8", "#d8a43b", "#3bb5d8"];

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};

/** The charts of a run, from its call records, API requests and agent runs. */
export function reportCharts(
  records: ClaudeCallRecord[],
  requests: ClaudeRequest[],
  runs: ClaudeRunRecord[],
  startedAtMs: number,
  durationS: number,
): Chart[] {
  const buckets = Math.max(1, Math.ceil(durationS / BUCKET_S));
  const xs = Array.from({ length: buckets }, (_, i) => i * BUCKET_S);
  // a call is placed where it ended: its start plus its latency
  const bucketOf = (endMs: number) =>
    Math.min(buckets - 1, Math.max(0, Math.floor((endMs - startedAtMs) / 1000 / BUCKET_S)));
  const inBucket: ClaudeCallRecord[][] = xs.map(() => []);
  for (const r of records) inBucket[bucketOf(Date.parse(r.timestamp) + r.latency_ms)]?.push(r);
  const per = (f: (rs: ClaudeCallRecord[]) => number) => inBucket.map(f);

  const features = [...new Set(records.map((r) => r.feature ?? "(none)"))];
  let spent = features.map(() => 0);
  const spend = features.map(() => [] as number[]);
  for (const rs of inBucket) {
    spent = features.map(
      (f, i) =>
        (spent[i] as number) +
        rs.filter((r) => (r.feature ?? "(none)") === f).reduce((s, r) => s + (r.cost_usd ?? 0), 0),
    );
    for (const [i, v] of spent.entries()) spend[i]?.push(v);
  }

  const apiErrors = (type: string) => {
    const counts = xs.map(() => 0);
    for (const r of requests)
      if (r.error === type) counts[bucketOf(r.endedAtMs)] = (counts[bucketOf(r.endedAtMs)] ?? 0) + 1;
    return counts.map((n) => n / BUCKET_S);
  };

  const costs = runs.map((r) => r.cost_usd);
  const top = Math.max(0.001, ...costs);
  const edges = Array.from({ length: 10 }, (_, i) => (top * i) / 10);
  const histogram = edges.map(
    (lo, i) => costs.filter((c) => c >= lo && (i === 9 ? c <= top : c < (edges[i + 1] as number))).length,
  );

  const color = (i: number) => COLORS[i % COLORS.length] as string;
  return [
    {
      id: "calls",
      title: "Calls/s",
      unit: "calls/s",
      data: [xs, per((rs) => rs.length / BUCKET_S)],
      series: [{ label: "calls/s", color: color(0) }],
    },
    {
      id: "latency",
      title: "Latency p50 / p99 and time to first token p50",
      unit: "ms",
      data: [
        xs,
        per((rs) =>
          pct(
            rs.map((r) => r.latency_ms),
            50,
          ),
        ),
        per((rs) =>
          pct(
            rs.map((r) => r.latency_ms),
            99,
          ),
        ),
        per((rs) =>
          pct(
            rs.flatMap((r) => (r.ttft_ms === null ? [] : [r.ttft_ms])),
            50,
          ),
        ),
      ],
      series: [
        { label: "p50", color: color(0) },
        { label: "p99", color: color(1) },
        { label: "TTFT p50", color: color(2) },
      ],
    },
    {
      id: "spend",
      title: "Spend by feature (cumulative)",
      unit: "USD",
      data: [xs, ...spend],
      series: features.map((f, i) => ({ label: f, color: color(i) })),
    },
    {
      id: "cache",
      title: "Prompt-cache hit ratio",
      unit: "ratio",
      data: [
        xs,
        per((rs) => {
          const read = rs.reduce((s, r) => s + r.cache_read_tokens, 0);
          const all = rs.reduce((s, r) => s + r.input_tokens + r.cache_read_tokens + r.cache_write_tokens, 0);
          return all > 0 ? read / all : Number.NaN;
        }),
      ],
      series: [{ label: "hit ratio", color: color(2) }],
    },
    {
      id: "faults",
      title: "429s, 529s and retries",
      unit: "/s",
      data: [
        xs,
        apiErrors("rate_limit_error"),
        apiErrors("overloaded_error"),
        per((rs) => rs.reduce((s, r) => s + r.retries, 0) / BUCKET_S),
      ],
      series: [
        { label: "429 rate_limit_error/s", color: color(1) },
        { label: "529 overloaded_error/s", color: color(4) },
        { label: "retries/s", color: color(0) },
      ],
    },
    {
      id: "runs",
      title: "Cost per agent run (runs per cost bucket)",
      unit: "runs",
      bars: true,
      data: [edges, histogram],
      series: [{ label: "runs", color: color(3) }],
    },
  ];
}

const escapeHtml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/** Writes the report to `path`: one HTML file that needs nothing else. */
export function writeReport(path: string, summary: Summary, charts: Chart[]): void {
  const require = createRequire(import.meta.url);
  const uplot = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
  const css = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  const verdicts = summary.alerts
    .map(
      (a) =>
        `<tr class="${a.fires ? "fires" : ""}"><td>${escapeHtml(a.alert)}</td><td>${a.severity}</td><td>${a.value === null ? "not judged" : escapeHtml(String(Number(a.value.toPrecision(3))))}</td><td>${escapeHtml(a.condition)}</td><td>${a.fires ? "would fire" : "quiet"}</td></tr>`,
    )
    .join("\n");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ballast demo report</title>
<script>
  // every error of the page is shown in it, so a test (and a reader) sees it
  window.addEventListener("error", (e) => { document.documentElement.dataset.errors = (document.documentElement.dataset.errors || "") + e.message + "\\n"; });
</script>
<style>${css}
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; }
.chart { border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
table { border-collapse: collapse; } td, th { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: left; }
tr.fires td { color: #b3261e; font-weight: 600; }
</style></head>
<body>
<h1>Ballast support-bot demo</h1>
<p>${summary.calls.toLocaleString("en-US")} calls · spend $${summary.spendUsd.toFixed(4)} · cache hit ratio ${(100 * summary.cacheHitRatio).toFixed(1)}% · latency p99 ${summary.latencyP99Ms.toLocaleString("en-US")} ms · ${summary.agentRuns} agent runs (${summary.runsStoppedByBudget} stopped by budget)</p>
<div class="charts">${charts.map((c) => `<div class="chart" id="${c.id}"><h3>${escapeHtml(c.title)}</h3></div>`).join("")}</div>
<h2>Alert rules, judged on this run</h2>
<table><tr><th>rule</th><th>severity</th><th>value</th><th>condition</th><th></th></tr>
${verdicts}
</table>
<script>${uplot}</script>
<script>
const charts = ${JSON.stringify(charts)};
let drawing = charts.length;
// each chart says whether it drew its data: a pixel of its first series' colour on the canvas (axes and
// grid alone do not count)
function drawn(u, id, color) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  const pixels = u.ctx.getImageData(0, 0, u.ctx.canvas.width, u.ctx.canvas.height).data;
  let painted = false;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 200 && Math.abs(pixels[i] - r) < 24 && Math.abs(pixels[i + 1] - g) < 24 && Math.abs(pixels[i + 2] - b) < 24) {
      painted = true;
      break;
    }
  }
  const el = document.getElementById(id);
  if (el.dataset.drawn === undefined && --drawing === 0) document.documentElement.dataset.ready = "true";
  el.dataset.drawn = String(painted);
}
for (const c of charts) {
  const bars = c.bars ? uPlot.paths.bars({ size: [0.8] }) : undefined;
  new uPlot({
    width: 540, height: 240,
    legend: { live: false },
    // bars get room at both ends, so the first and last are drawn whole
    scales: { x: { time: false, range: c.bars ? (u, min, max) => [min - (max - min) / 16, max + (max - min) / 8] : undefined } },
    axes: [{ label: c.bars ? "USD per run" : "seconds into the run" }, { label: c.unit }],
    series: [{}, ...c.series.map((s) => ({ label: s.label, stroke: s.color, fill: c.bars ? s.color + "88" : undefined, paths: bars, width: 2, spanGaps: true }))],
    hooks: { draw: [(u) => drawn(u, c.id, c.series[0].color)] },
  }, c.data.map((col) => col.map((v) => (v === null || Number.isNaN(v) ? null : v))), document.getElementById(c.id));
}
</script>
</body></html>
`;
  writeFileSync(path, html);
}
