import { type AlertDefinition, alertDefinitions } from "@ballast/dashboards/alerts";
import type { ClaudeCallRecord, ClaudeRunRecord } from "@ballast/otel-claude";
import type { ClaudeRequest } from "./telemetry.ts";

export interface AlertVerdict {
  alert: string;
  severity: AlertDefinition["labels"]["severity"];
  summary: string;
  /** what the rule's query gives for this run; null when the run cannot tell (no history) */
  value: number | null;
  condition: string;
  fires: boolean;
}

export interface RunFacts {
  /** one per call the user made (a retried call is one record) */
  records: ClaudeCallRecord[];
  /** one per request to the API: what the rules' duration histogram counts */
  requests: ClaudeRequest[];
  durationS: number;
  /** budget alerts by threshold crossed */
  budgetAlertsAt: number[];
  /** models whose circuit is open at the end of the run */
  openCircuits: string[];
  /** steps of recording calls that failed in the run (ballast.claude.telemetry.failures) */
  telemetryFailures: number;
  /** one per agent run (a tool runner's loop) */
  runs: ClaudeRunRecord[];
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(0.99 * xs.length) - 1)] ?? 0;

// What each rule's PromQL query computes, from the run's own requests and records. The run is shorter than every
// rule's window, so a window covers the whole run; the one rule that compares with an hour ago cannot
// be judged from a minute.
const VALUES: Record<string, (run: RunFacts) => number | null> = {
  ClaudeMaxTokensStops: ({ requests }) => requests.filter((r) => r.stopReason === "max_tokens").length,
  ClaudeMaxTokensRatioHigh: ({ requests }) =>
    requests.length ? requests.filter((r) => r.stopReason === "max_tokens").length / requests.length : 0,
  ClaudeLatencyP99High: ({ requests }) => p99(requests.map((r) => r.latencyMs)) / 1000,
  ClaudeErrorRateHigh: ({ requests }) =>
    requests.length ? requests.filter((r) => r.error !== null).length / requests.length : 0,
  ClaudeSpendHigh: ({ records }) => records.reduce((s, r) => s + (r.cost_usd ?? 0), 0),
  ClaudeCacheHitRatioCollapsed: () => null,
  ClaudeRateLimitedSustained: ({ requests, durationS }) =>
    requests.filter((r) => r.error === "rate_limit_error").length / durationS,
  ClaudeCircuitOpen: ({ openCircuits }) => (openCircuits.length ? 1 : 0),
  ClaudeBudgetExhausted: ({ budgetAlertsAt }) => budgetAlertsAt.filter((t) => t >= 1).length,
  ClaudeTelemetryFailing: ({ telemetryFailures }) => telemetryFailures,
  ClaudeRunsStoppedByBudget: ({ runs }) => runs.filter((r) => r.outcome === "stopped_by_budget").length,
  // the worst tool's share of executions that threw (the rule is per tool)
  ClaudeToolErrorRateHigh: ({ runs }) => {
    const byTool = new Map<string, { calls: number; errors: number }>();
    for (const run of runs)
      for (const [tool, { calls, errors }] of Object.entries(run.tools)) {
        const total = byTool.get(tool) ?? { calls: 0, errors: 0 };
        byTool.set(tool, { calls: total.calls + calls, errors: total.errors + errors });
      }
    return Math.max(0, ...[...byTool.values()].map((t) => t.errors / t.calls));
  },
};

/**
 * The alert pack's rules (dashboards/src/alerts.ts: names, thresholds, severities, summaries), each
 * judged on this run. `for` durations cannot elapse in a demo: a rule whose condition holds would fire
 * once it lasted that long.
 */
export function judgeAlerts(run: RunFacts): AlertVerdict[] {
  return alertDefinitions().map((d) => {
    const value = VALUES[d.alert]?.(run) ?? null;
    return {
      alert: d.alert,
      severity: d.labels.severity,
      summary: d.annotations.summary,
      value,
      condition: `${d.op} ${d.threshold}${d.for ? ` for ${d.for}` : ""}`,
      fires: value !== null && (d.op === ">" ? value > d.threshold : value < d.threshold),
    };
  });
}
