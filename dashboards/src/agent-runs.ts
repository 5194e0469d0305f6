// "Agent runs": what a tool runner's loop (or withClaudeRun) costs, how many calls it takes, which tool is
// slow or failing, and how many runs a budget stopped.
import { type Dashboard, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { dashboard, filters, q, series, stat, UIDS } from "./panels.ts";

const F = filters.run;
export const RUNS = "gen_ai_invoke_agent_duration_seconds_count";
const RUN_COST = "ballast_run_cost_USD_bucket";
const RUN_CALLS = "ballast_run_calls_bucket";
export const TOOLS = "gen_ai_execute_tool_duration_seconds_count";
const TOOL_BUCKETS = "gen_ai_execute_tool_duration_seconds_bucket";

const quantile = (p: number, buckets: string, by = "") =>
  `histogram_quantile(${p}, sum by (le${by ? `, ${by}` : ""}) (rate(${buckets}{${F}}[$__rate_interval])))`;

export function agentRuns(): Dashboard {
  return dashboard(
    "Claude agent runs",
    UIDS.runs,
    "Agent runs (tool runner loops and withClaudeRun): runs by outcome, cost and calls per run, tools' executions, errors and durations, runs stopped by a budget.",
    ["service", "environment", "feature"],
  )
    .withRow(new RowBuilder("Runs"))
    .withPanel(stat("Runs in range", "short", q(`sum(increase(${RUNS}{${F}}[$__range]))`)))
    .withPanel(
      stat(
        "Runs stopped by budget in range",
        "short",
        q(`sum(increase(${RUNS}{${F},ballast_run_outcome="stopped_by_budget"}[$__range]))`),
      ),
    )
    .withPanel(
      stat(
        "Mean cost per run",
        "currencyUSD",
        q(
          `sum(increase(ballast_run_cost_USD_sum{${F}}[$__range])) / sum(increase(ballast_run_cost_USD_count{${F}}[$__range]))`,
        ),
      ),
    )
    .withPanel(stat("Run duration p95", "s", q(quantile(0.95, "gen_ai_invoke_agent_duration_seconds_bucket"))))
    .withPanel(
      series(
        "Runs/s by feature and outcome",
        "reqps",
        q(
          `sum by (ballast_feature, ballast_run_outcome) (rate(${RUNS}{${F}}[$__rate_interval]))`,
          "{{ballast_feature}} {{ballast_run_outcome}}",
        ),
      ),
    )
    .withPanel(
      series(
        "Cost per run",
        "currencyUSD",
        q(quantile(0.5, RUN_COST), "p50"),
        q(quantile(0.95, RUN_COST), "p95"),
        q(quantile(0.99, RUN_COST), "p99"),
      ),
    )
    .withPanel(
      series(
        "Calls per run",
        "short",
        q(quantile(0.5, RUN_CALLS), "p50"),
        q(quantile(0.95, RUN_CALLS), "p95"),
        q(quantile(0.99, RUN_CALLS), "p99"),
      ),
    )
    .withRow(new RowBuilder("Tools"))
    .withPanel(
      series(
        "Tool executions/s by tool",
        "reqps",
        q(`sum by (gen_ai_tool_name) (rate(${TOOLS}{${F}}[$__rate_interval]))`, "{{gen_ai_tool_name}}"),
      ),
    )
    .withPanel(
      series(
        "Tool errors/s by tool",
        "reqps",
        q(
          `sum by (gen_ai_tool_name, error_type) (rate(${TOOLS}{${F},error_type!=""}[$__rate_interval]))`,
          "{{gen_ai_tool_name}} {{error_type}}",
        ),
      ),
    )
    .withPanel(
      series(
        "Tool duration p95 by tool",
        "s",
        q(
          `histogram_quantile(0.95, sum by (le, gen_ai_tool_name) (rate(${TOOL_BUCKETS}{${F}}[$__rate_interval])))`,
          "{{gen_ai_tool_name}}",
        ),
      ),
    )
    .build();
}
