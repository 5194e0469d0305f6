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
  /** every rule of the alert pack, judged on this run */
  alerts: AlertVerdict[];
  alertsThatWouldFire: string[];
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
    alerts,
    alertsThatWouldFire: alerts.filter((a) => a.fires).map((a) => a.alert),
  };
}

export function printSummary(s: Summary, write: (line: string) => void): void {
  const usd = (n: number) => `$${n.toFixed(6)}`;
  const rows: Array<[string, string]> = [
    [
      "Claude calls",
      `${s.calls} (${s.failedCalls} failed) in ${s.claudeRequests} API requests, for ${s.httpRequests} HTTP requests`,
    ],
    ["latency p50 / p99", `${s.latencyP50Ms} ms / ${s.latencyP99Ms} ms`],
    ["time to first token p50", s.ttftP50Ms === null ? "–" : `${s.ttftP50Ms} ms`],
    ["tokens in / out", `${s.inputTokens + s.cacheReadTokens + s.cacheWriteTokens} / ${s.outputTokens}`],
    [
      "cache hit ratio",
      `${(100 * s.cacheHitRatio).toFixed(1)}% (${s.cacheReadTokens} read, ${s.cacheWriteTokens} written)`,
    ],
    ["spend", usd(s.spendUsd)],
    ["cache savings / missed savings", `${usd(s.cacheSavingsUsd)} / ${usd(s.missedSavingsUsd)}`],
    ["retries / fallbacks", `${s.retries} / ${s.fallbacks}`],
    ["rate-limited", `${s.rateLimited} requests from ${s.rateLimitedUsers} users`],
    ["budget alerts", String(s.budgetAlerts)],
    ["max_tokens truncations", String(s.maxTokensStops)],
    ["telemetry failures", String(s.telemetryFailures)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  write("");
  write("Ballast support-bot demo — summary");
  for (const [k, v] of rows) write(`  ${k.padEnd(width)}  ${v}`);
  const firing = s.alerts.filter((a) => a.fires);
  write(
    `  ${"alert rules that would fire".padEnd(width)}  ${firing.length} of ${s.alerts.length} (dashboards/prometheus/ballast-alerts.rules.yml)`,
  );
  const shown = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(3));
  for (const a of firing) {
    write(`    • ${a.alert} [${a.severity}] ${a.summary}: ${shown(a.value ?? 0)} ${a.condition}`);
  }
  const unjudged = s.alerts.filter((a) => a.value === null).map((a) => a.alert);
  if (unjudged.length) write(`    (${unjudged.join(", ")}: compares with an hour ago, not judged in a short run)`);
}
