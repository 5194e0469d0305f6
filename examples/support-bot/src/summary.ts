import type { ClaudeCallRecord, ClaudeRunRecord } from "@ballast/otel-claude";
import { type AlertVerdict, judgeAlerts } from "./alerts.ts";
import type { ClaudeRequest } from "./telemetry.ts";

export interface Counters {
  requests: number;
  rateLimited: number;
  rateLimitedUsers: Set<string>;
  failed: number;
  retries: number;
  fallbacks: number;
  budgetAlerts: number;
  /** the threshold of every budget alert, in order */
  budgetAlertsAt: number[];
  /** each model's circuit state, as the retry policy last reported it */
  circuits: Map<string, string>;
  /** steps of recording calls that failed (otel-claude's ballast.claude.telemetry.failures) */
  telemetryFailures: number;
  /** streamed answers cut after some text reached the user (they kept a partial answer) */
  cutStreams: number;
}

export interface Summary {
  calls: number;
  failedCalls: number;
  /** requests to the Messages API: a retried call made more than one */
  claudeRequests: number;
  httpRequests: number;
  rateLimited: number;
  rateLimitedUsers: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  ttftP50Ms: number | null;
  ttftP99Ms: number | null;
  cutStreams: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cacheHitRatio: number;
  spendUsd: number;
  cacheSavingsUsd: number;
  missedSavingsUsd: number;
  maxTokensStops: number;
  retries: number;
  fallbacks: number;
  budgetAlerts: number;
  telemetryFailures: number;
  /** per product feature (ballast.feature) */
  features: FeatureFigures[];
  /** the order agent's runs (tool runner loops) */
  agentRuns: number;
  runsStoppedByBudget: number;
  runCostP50Usd: number;
  runCostMaxUsd: number;
  /** every rule of the alert pack, judged on this run */
  alerts: AlertVerdict[];
  alertsThatWouldFire: string[];
}

export interface FeatureFigures {
  feature: string;
  calls: number;
  spendUsd: number;
  cacheHitRatio: number;
  latencyP99Ms: number;
}

/** Calls, spend, cache hit ratio and p99 latency of each feature, busiest first. */
function byFeature(records: ClaudeCallRecord[]): FeatureFigures[] {
  const groups = new Map<string, ClaudeCallRecord[]>();
  for (const r of records) groups.set(r.feature ?? "(none)", [...(groups.get(r.feature ?? "(none)") ?? []), r]);
  return [...groups]
    .map(([feature, rs]) => {
      const sum = (f: (r: ClaudeCallRecord) => number) => rs.reduce((s, r) => s + f(r), 0);
      const read = sum((r) => r.cache_read_tokens);
      const all = sum((r) => r.input_tokens + r.cache_read_tokens + r.cache_write_tokens);
      return {
        feature,
        calls: rs.length,
        spendUsd: sum((r) => r.cost_usd ?? 0),
        cacheHitRatio: all > 0 ? read / all : 0,
        latencyP99Ms: pct(
          rs.map((r) => r.latency_ms),
          99,
        ),
      };
    })
    .sort((a, b) => b.calls - a.calls);
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

/** The run's figures, from the per-call log records Ballast emitted and the app's own counters. */
export function summarize(
  records: ClaudeCallRecord[],
  requests: ClaudeRequest[],
  c: Counters,
  durationS: number,
  runs: ClaudeRunRecord[] = [],
): Summary {
  const sum = (f: (r: ClaudeCallRecord) => number) => records.reduce((s, r) => s + f(r), 0);
  const input = sum((r) => r.input_tokens);
  const read = sum((r) => r.cache_read_tokens);
  const write = sum((r) => r.cache_write_tokens);
  const failed = records.filter((r) => r.outcome === "failed").length;
  const maxTokens = records.filter((r) => r.stop_reason === "max_tokens").length;
  const latencies = records.map((r) => r.latency_ms);
  const ttfts = records.flatMap((r) => (r.ttft_ms === null ? [] : [r.ttft_ms]));
  const alerts = judgeAlerts({
    records,
    requests,
    durationS,
    budgetAlertsAt: c.budgetAlertsAt,
    openCircuits: [...c.circuits].filter(([, state]) => state === "open").map(([model]) => model),
    telemetryFailures: c.telemetryFailures,
    runs,
  });
  return {
    calls: records.length,
    failedCalls: failed,
    claudeRequests: requests.length,
    httpRequests: c.requests,
    rateLimited: c.rateLimited,
    rateLimitedUsers: c.rateLimitedUsers.size,
    latencyP50Ms: pct(latencies, 50),
    latencyP99Ms: pct(latencies, 99),
    ttftP50Ms: ttfts.length ? pct(ttfts, 50) : null,
    ttftP99Ms: ttfts.length ? pct(ttfts, 99) : null,
    cutStreams: c.cutStreams,
    inputTokens: input,
    outputTokens: sum((r) => r.output_tokens),
    cacheReadTokens: read,
    cacheWriteTokens: write,
    cacheHitRatio: input + read + write > 0 ? read / (input + read + write) : 0,
    spendUsd: sum((r) => r.cost_usd ?? 0),
    cacheSavingsUsd: sum((r) => r.cache_savings_usd ?? 0),
    missedSavingsUsd: sum((r) => r.missed_savings_usd ?? 0),
    maxTokensStops: maxTokens,
    retries: c.retries,
    fallbacks: c.fallbacks,
    budgetAlerts: c.budgetAlerts,
    telemetryFailures: c.telemetryFailures,
    features: byFeature(records),
    agentRuns: runs.length,
    runsStoppedByBudget: runs.filter((r) => r.outcome === "stopped_by_budget").length,
    runCostP50Usd: pct(
      runs.map((r) => r.cost_usd),
      50,
    ),
    runCostMaxUsd: Math.max(0, ...runs.map((r) => r.cost_usd)),
    alerts,
    alertsThatWouldFire: alerts.filter((a) => a.fires).map((a) => a.alert),
  };
}

const count = (n: number) => n.toLocaleString("en-US");
const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 4, maximumFractionDigits: 4 })}`;
const percent = (ratio: number) => `${(100 * ratio).toFixed(1)}%`;
const ms = (n: number) => `${count(n)} ms`;

/** Rows of cells as aligned columns: the first left-aligned, the others right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("   "),
  );
}

export function printSummary(s: Summary, write: (line: string) => void): void {
  const rows: Array<[string, string]> = [
    [
      "Claude calls",
      `${count(s.calls)} (${count(s.failedCalls)} failed) in ${count(s.claudeRequests)} API requests, for ${count(s.httpRequests)} HTTP requests`,
    ],
    ["latency p50 / p99", `${ms(s.latencyP50Ms)} / ${ms(s.latencyP99Ms)}`],
    [
      "time to first token p50 / p99",
      s.ttftP50Ms === null || s.ttftP99Ms === null ? "–" : `${ms(s.ttftP50Ms)} / ${ms(s.ttftP99Ms)}`,
    ],
    ["streams cut mid-answer", `${count(s.cutStreams)} (the user kept the partial answer)`],
    ["tokens in / out", `${count(s.inputTokens + s.cacheReadTokens + s.cacheWriteTokens)} / ${count(s.outputTokens)}`],
    [
      "cache hit ratio",
      `${percent(s.cacheHitRatio)} (${count(s.cacheReadTokens)} read, ${count(s.cacheWriteTokens)} written)`,
    ],
    ["spend", usd(s.spendUsd)],
    ["cache savings / missed savings", `${usd(s.cacheSavingsUsd)} / ${usd(s.missedSavingsUsd)}`],
    ["retries / fallbacks", `${count(s.retries)} / ${count(s.fallbacks)}`],
    ["rate-limited", `${count(s.rateLimited)} requests from ${count(s.rateLimitedUsers)} users`],
    ["budget alerts", count(s.budgetAlerts)],
    [
      "agent runs",
      `${count(s.agentRuns)} (${count(s.runsStoppedByBudget)} stopped by budget), cost per run p50 ${usd(s.runCostP50Usd)} / max ${usd(s.runCostMaxUsd)}`,
    ],
    ["max_tokens truncations", count(s.maxTokensStops)],
    ["telemetry failures", count(s.telemetryFailures)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  write("");
  write("Ballast support-bot demo — summary");
  for (const [k, v] of rows) write(`  ${k.padEnd(width)}  ${v}`);
  write("");
  write("  By feature");
  const features = table([
    ["feature", "calls", "spend", "cache hit", "p99"],
    ...s.features.map((f) => [
      f.feature,
      count(f.calls),
      usd(f.spendUsd),
      percent(f.cacheHitRatio),
      ms(f.latencyP99Ms),
    ]),
  ]);
  for (const line of features) write(`    ${line}`);
  write("");
  const firing = s.alerts.filter((a) => a.fires);
  write(
    `  Alert rules that would fire: ${firing.length} of ${s.alerts.length} (dashboards/prometheus/ballast-alerts.rules.yml)`,
  );
  const shown = (v: number) => (Number.isInteger(v) ? count(v) : v.toPrecision(3));
  for (const a of firing) {
    write(`    • ${a.alert} [${a.severity}] ${a.summary}: ${shown(a.value ?? 0)} ${a.condition}`);
  }
  const unjudged = s.alerts.filter((a) => a.value === null).map((a) => a.alert);
  if (unjudged.length) write(`    (${unjudged.join(", ")}: compares with an hour ago, not judged in a short run)`);
  write("");
  write("  Next");
  write("    • See it in Grafana: `docker compose up --build`, then http://localhost:3000 (dashboards/README.md)");
  write("    • Use your own key: `ANTHROPIC_API_KEY=sk-ant-… pnpm demo` (a few users, real calls, real cost)");
  write("    • Add Ballast to your app: the quick starts in README.md");
}
