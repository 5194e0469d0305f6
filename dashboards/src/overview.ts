// The "Claude overview" dashboard as code: calls, errors, latency, TTFT, tokens, cache, spend and stop
// reasons, filterable by service, environment, model and feature. Importable into any Grafana: the
// Prometheus datasource is a variable, no uid is hard-coded.
import {
  type Dashboard,
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";

// Grafana's own variable syntax, not a template string: the datasource is chosen at import.
// biome-ignore lint/suspicious/noTemplateCurlyInString: see above
const DS = { type: "prometheus", uid: "${datasource}" };
/** Every query filters on the dashboard's variables; "All" is `.*`, which also matches an absent label. */
export const F =
  'service_name=~"$service",deployment_environment_name=~"$environment",gen_ai_request_model=~"$model",ballast_feature=~"$feature"';
const CALLS = "gen_ai_client_operation_duration_seconds_count";

const q = (expr: string, legend = "") => new DataqueryBuilder().expr(expr).legendFormat(legend).datasource(DS);

function variable(name: string, label: string, metricLabel: string) {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DS)
    .query(`label_values(${CALLS}, ${metricLabel})`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .multi(true)
    .includeAll(true)
    .allValue(".*");
}

function series(title: string, unit: string, ...targets: DataqueryBuilder[]) {
  let panel = new TimeseriesPanel().title(title).unit(unit).datasource(DS).height(8).span(8);
  for (const t of targets) panel = panel.withTarget(t);
  return panel;
}

function stat(title: string, unit: string, target: DataqueryBuilder) {
  return new StatPanel().title(title).unit(unit).datasource(DS).height(4).span(6).withTarget(target);
}

export function claudeOverview(): Dashboard {
  const hitRatio = `sum(rate(ballast_claude_tokens_total{${F},ballast_token_kind="cache_read"}[$__rate_interval])) / sum(rate(ballast_claude_tokens_total{${F},ballast_token_kind=~"input|cache_read|cache_write_5m|cache_write_1h"}[$__rate_interval]))`;
  return new DashboardBuilder("Claude overview")
    .uid("ballast-claude-overview")
    .tags(["ballast", "claude"])
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .timezone("browser")
    .withVariable(new DatasourceVariableBuilder("datasource").label("Prometheus").type("prometheus"))
    .withVariable(variable("service", "Service", "service_name"))
    .withVariable(variable("environment", "Environment", "deployment_environment_name"))
    .withVariable(variable("model", "Model", "gen_ai_request_model"))
    .withVariable(variable("feature", "Feature", "ballast_feature"))
    .withRow(new RowBuilder("Now"))
    .withPanel(stat("Calls/s", "reqps", q(`sum(rate(${CALLS}{${F}}[$__rate_interval]))`)))
    .withPanel(
      stat(
        "Error rate",
        "percentunit",
        q(`sum(rate(${CALLS}{${F},error_type!=""}[$__rate_interval])) / sum(rate(${CALLS}{${F}}[$__rate_interval]))`),
      ),
    )
    .withPanel(stat("Spend today", "currencyUSD", q(`sum(increase(gen_ai_usage_cost_USD_total{${F}}[$__range]))`)))
    .withPanel(
      stat("Spend per hour", "currencyUSD", q(`sum(rate(gen_ai_usage_cost_USD_total{${F}}[$__rate_interval])) * 3600`)),
    )
    .withRow(new RowBuilder("Traffic and latency"))
    .withPanel(
      series(
        "Calls/s by model",
        "reqps",
        q(`sum by (gen_ai_request_model) (rate(${CALLS}{${F}}[$__rate_interval]))`, "{{gen_ai_request_model}}"),
      ),
    )
    .withPanel(
      series(
        "Latency p50 / p95 / p99",
        "s",
        ...[0.5, 0.95, 0.99].map((p) =>
          q(
            `histogram_quantile(${p}, sum by (le) (rate(gen_ai_client_operation_duration_seconds_bucket{${F}}[$__rate_interval])))`,
            `p${p * 100}`,
          ),
        ),
      ),
    )
    .withPanel(
      series(
        "Time to first token p95",
        "s",
        q(
          `histogram_quantile(0.95, sum by (le) (rate(gen_ai_client_operation_time_to_first_chunk_seconds_bucket{${F}}[$__rate_interval])))`,
          "p95",
        ),
      ),
    )
    .withRow(new RowBuilder("Tokens, cache and cost"))
    .withPanel(
      series(
        "Tokens/s",
        "short",
        q(
          `sum by (gen_ai_token_type) (rate(gen_ai_client_token_usage_sum{${F}}[$__rate_interval]))`,
          "{{gen_ai_token_type}}",
        ),
      ),
    )
    .withPanel(series("Cache hit ratio", "percentunit", q(hitRatio, "hit ratio")))
    .withPanel(
      series(
        "Spend by model and feature ($/h)",
        "currencyUSD",
        q(
          `sum by (gen_ai_request_model, ballast_feature) (rate(gen_ai_usage_cost_USD_total{${F}}[$__rate_interval])) * 3600`,
          "{{gen_ai_request_model}} {{ballast_feature}}",
        ),
      ),
    )
    .withRow(new RowBuilder("Stop reasons"))
    .withPanel(
      series(
        "Stop reasons/s (max_tokens = truncated answers)",
        "reqps",
        q(
          `sum by (anthropic_message_stop_reason) (rate(${CALLS}{${F},anthropic_message_stop_reason!=""}[$__rate_interval]))`,
          "{{anthropic_message_stop_reason}}",
        ),
      ),
    )
    .withPanel(
      series(
        "max_tokens stops by model and feature",
        "short",
        q(
          `sum by (gen_ai_request_model, ballast_feature) (increase(${CALLS}{${F},anthropic_message_stop_reason="max_tokens"}[$__rate_interval]))`,
          "{{gen_ai_request_model}} {{ballast_feature}}",
        ),
      ),
    )
    .build();
}

/** Every PromQL expression of a dashboard, panel by panel. */
export function queriesOf(dashboard: Dashboard): Array<{ panel: string; expr: string }> {
  const out: Array<{ panel: string; expr: string }> = [];
  for (const panel of (dashboard.panels ?? []) as Array<{ title?: string; targets?: Array<{ expr?: string }> }>) {
    for (const target of panel.targets ?? [])
      if (target.expr) out.push({ panel: panel.title ?? "", expr: target.expr });
  }
  return out;
}
