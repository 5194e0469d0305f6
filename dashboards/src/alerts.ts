// Prometheus alert rules over the metric names of TELEMETRY.md, as code: thresholds are options with
// the defaults the observability issue asks for. `pnpm --filter @ballast/dashboards generate` writes
// prometheus/ballast-alerts.rules.yml; CI fails when that file is stale.

export interface AlertOptions {
  /** share of calls stopped by max_tokens that pages, over 15 m (default 0.01) */
  maxTokensRatio?: number;
  /** p99 latency in seconds, sustained 10 m (default 10) */
  p99LatencySeconds?: number;
  /** share of failed calls, sustained 5 m (default 0.01) */
  errorRatio?: number;
  /** USD spent in the last 24 h per service (default 100) */
  dailySpendUsd?: number;
  /** cache hit ratio below this share of what it was an hour before (default 0.5) */
  cacheCollapseFactor?: number;
  /** share of a tool's executions that throw, sustained 10 m (default 0.1) */
  toolErrorRatio?: number;
  /** where runbook links point: your copy of docs/runbooks.md (default the relative path) */
  runbookBase?: string;
}

/**
 * One alert as a value query, a comparison and a threshold: Prometheus gets `query op threshold`,
 * Grafana-managed alerting gets the query with a threshold expression (grafana-alerting.ts).
 */
export interface AlertDefinition {
  alert: string;
  query: string;
  op: ">" | "<";
  threshold: number;
  for?: string;
  labels: { severity: "page" | "ticket" };
  annotations: { summary: string; description: string; runbook_url: string };
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "page" | "ticket" };
  annotations: { summary: string; description: string; runbook_url: string };
}

const CALLS = "gen_ai_client_operation_duration_seconds_count";
const BUCKETS = "gen_ai_client_operation_duration_seconds_bucket";
const TOKENS = "ballast_claude_tokens_total";
const RUNS = "gen_ai_invoke_agent_duration_seconds_count";
const TOOLS = "gen_ai_execute_tool_duration_seconds_count";

export const GROUP = "ballast-claude";

/** The Prometheus rule file: every definition as `query op threshold`. */
export function alertRules(options: AlertOptions = {}): { groups: Array<{ name: string; rules: Rule[] }> } {
  const rules = alertDefinitions(options).map(
    ({ alert, query, op, threshold, for: forDuration, labels, annotations }) => ({
      alert,
      expr: `${query} ${op} ${threshold}`,
      ...(forDuration ? { for: forDuration } : {}),
      labels,
      annotations,
    }),
  );
  return { groups: [{ name: GROUP, rules }] };
}

export function alertDefinitions(options: AlertOptions = {}): AlertDefinition[] {
  const o = {
    maxTokensRatio: options.maxTokensRatio ?? 0.01,
    p99LatencySeconds: options.p99LatencySeconds ?? 10,
    errorRatio: options.errorRatio ?? 0.01,
    dailySpendUsd: options.dailySpendUsd ?? 100,
    cacheCollapseFactor: options.cacheCollapseFactor ?? 0.5,
    toolErrorRatio: options.toolErrorRatio ?? 0.1,
    runbookBase: options.runbookBase ?? "docs/runbooks.md",
  };
  for (const [k, v] of Object.entries(o)) {
    if (k !== "runbookBase" && !(typeof v === "number" && Number.isFinite(v) && v > 0)) {
      throw new TypeError(`alertRules: \`${k}\` must be a number > 0; got ${JSON.stringify(v)}`);
    }
  }
  const runbook = (anchor: string) => `${o.runbookBase}#${anchor}`;
  const rule = (
    alert: string,
    [query, op, threshold]: [string, AlertDefinition["op"], number],
    severity: AlertDefinition["labels"]["severity"],
    summary: string,
    description: string,
    forDuration?: string,
  ): AlertDefinition => ({
    alert,
    query,
    op,
    threshold,
    ...(forDuration ? { for: forDuration } : {}),
    labels: { severity },
    annotations: { summary, description, runbook_url: runbook(alert.toLowerCase()) },
  });
  // the cache hit ratio over 15 m, now or an hour ago (PromQL takes `offset` on each selector)
  const hitRatio = (offset: string) =>
    `(sum by (service_name) (rate(${TOKENS}{ballast_token_kind="cache_read"}[15m]${offset})) / sum by (service_name) (rate(${TOKENS}{ballast_token_kind=~"input|cache_read|cache_write_5m|cache_write_1h"}[15m]${offset})))`;
  return [
    rule(
      "ClaudeMaxTokensStops",
      [
        `sum by (service_name, gen_ai_request_model) (increase(${CALLS}{anthropic_message_stop_reason="max_tokens"}[15m]))`,
        ">",
        0,
      ],
      "ticket",
      "Claude answers cut at max_tokens",
      "{{ $value | humanize }} answers of {{ $labels.gen_ai_request_model }} in {{ $labels.service_name }} stopped at max_tokens in the last 15 minutes: users got truncated replies.",
    ),
    rule(
      "ClaudeMaxTokensRatioHigh",
      [
        `sum by (service_name) (increase(${CALLS}{anthropic_message_stop_reason="max_tokens"}[15m])) / sum by (service_name) (increase(${CALLS}[15m]))`,
        ">",
        o.maxTokensRatio,
      ],
      "page",
      "Many Claude answers cut at max_tokens",
      `{{ $value | humanizePercentage }} of calls in {{ $labels.service_name }} stopped at max_tokens over 15 minutes (threshold ${o.maxTokensRatio * 100}%).`,
    ),
    rule(
      "ClaudeLatencyP99High",
      [`histogram_quantile(0.99, sum by (le, service_name) (rate(${BUCKETS}[5m])))`, ">", o.p99LatencySeconds],
      "page",
      "Claude p99 latency is high",
      `p99 latency of Claude calls in {{ $labels.service_name }} is {{ $value | humanizeDuration }} (threshold ${o.p99LatencySeconds} s).`,
      "10m",
    ),
    rule(
      "ClaudeErrorRateHigh",
      [
        `sum by (service_name) (rate(${CALLS}{error_type!=""}[5m])) / sum by (service_name) (rate(${CALLS}[5m]))`,
        ">",
        o.errorRatio,
      ],
      "page",
      "Claude calls are failing",
      `{{ $value | humanizePercentage }} of Claude calls in {{ $labels.service_name }} failed over 5 minutes (threshold ${o.errorRatio * 100}%).`,
      "5m",
    ),
    rule(
      "ClaudeSpendHigh",
      [`sum by (service_name) (increase(gen_ai_usage_cost_USD_total[1d]))`, ">", o.dailySpendUsd],
      "page",
      "Claude spend over the daily threshold",
      `{{ $labels.service_name }} spent \${{ $value | printf "%.2f" }} on Claude in the last 24 hours (threshold $${o.dailySpendUsd}).`,
    ),
    rule(
      "ClaudeCacheHitRatioCollapsed",
      [`${hitRatio("")} / ${hitRatio(" offset 1h")}`, "<", o.cacheCollapseFactor],
      "ticket",
      "Prompt-cache hit ratio collapsed",
      `The prompt-cache hit ratio of {{ $labels.service_name }} fell below ${o.cacheCollapseFactor * 100}% of what it was an hour ago (now at {{ $value | humanizePercentage }} of that): a prompt prefix probably changed.`,
      "15m",
    ),
    rule(
      "ClaudeRateLimitedSustained",
      [`sum by (service_name) (rate(${CALLS}{error_type="rate_limit_error"}[5m]))`, ">", 0],
      "ticket",
      "Claude keeps answering 429",
      "{{ $labels.service_name }} has been getting 429 rate_limit_error for 10 minutes ({{ $value | humanize }}/s).",
      "10m",
    ),
    rule(
      "ClaudeCircuitOpen",
      [`max by (service_name, gen_ai_request_model) (ballast_circuit_state{ballast_circuit_state="open"})`, ">", 0],
      "page",
      "Circuit open for a Claude model",
      "The circuit for {{ $labels.gen_ai_request_model }} in {{ $labels.service_name }} is open: calls fail fast or go to fallbacks.",
      "1m",
    ),
    rule(
      "ClaudeBudgetExhausted",
      [
        `sum by (service_name, ballast_ratelimit_limiter, ballast_ratelimit_rule) (increase(ballast_budget_alerts_total{ballast_budget_threshold="1"}[1h]))`,
        ">",
        0,
      ],
      "ticket",
      "A per-user budget was exhausted",
      "{{ $value | humanize }} keys reached 100% of {{ $labels.ballast_ratelimit_rule }} ({{ $labels.ballast_ratelimit_limiter }}) in the last hour.",
    ),
    rule(
      "ClaudeTelemetryFailing",
      [
        `sum by (service_name, ballast_telemetry_step) (increase(ballast_claude_telemetry_failures_total[15m]))`,
        ">",
        0,
      ],
      "ticket",
      "Claude calls are losing part of their telemetry",
      "Recording Claude calls in {{ $labels.service_name }} failed {{ $value | humanize }} times in the last 15 minutes at the step {{ $labels.ballast_telemetry_step }}: those calls went on without it, so dashboards, logs or traces miss part of them.",
    ),
    rule(
      "ClaudeRunsStoppedByBudget",
      [
        `sum by (service_name, ballast_feature) (increase(${RUNS}{ballast_run_outcome="stopped_by_budget"}[15m]))`,
        ">",
        0,
      ],
      "ticket",
      "Agent runs stopped by a budget",
      "{{ $value | humanize }} agent runs of {{ $labels.ballast_feature }} in {{ $labels.service_name }} were stopped by a withRateLimit rule in the last 15 minutes: a loop kept calling, or the budget is too small for the task.",
    ),
    rule(
      "ClaudeToolErrorRateHigh",
      [
        `sum by (service_name, gen_ai_tool_name) (rate(${TOOLS}{error_type!=""}[10m])) / sum by (service_name, gen_ai_tool_name) (rate(${TOOLS}[10m]))`,
        ">",
        o.toolErrorRatio,
      ],
      "ticket",
      "An agent tool keeps failing",
      `{{ $value | humanizePercentage }} of the executions of the tool {{ $labels.gen_ai_tool_name }} in {{ $labels.service_name }} threw over 10 minutes (threshold ${o.toolErrorRatio * 100}%): agents get error results instead of data, and retry or give up.`,
      "10m",
    ),
  ];
}
