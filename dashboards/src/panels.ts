// What every Ballast dashboard shares: datasource variables (no uid is hard-coded, so the JSON imports
// into any Grafana), the service/environment/model/feature variables and small panel builders.
import {
  type Dashboard,
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";

// Grafana's own variable syntax, not template strings: the datasources are chosen at import.
// biome-ignore lint/suspicious/noTemplateCurlyInString: see above
export const PROMETHEUS = { type: "prometheus", uid: "${datasource}" };
// biome-ignore lint/suspicious/noTemplateCurlyInString: see above
export const TEMPO = { type: "tempo", uid: "${tempo}" };

export const CALLS = "gen_ai_client_operation_duration_seconds_count";
export const TOKENS = "ballast_claude_tokens_total";
export const COST = "gen_ai_usage_cost_USD_total";

/** Label filters on the dashboard variables; "All" is `.*`, which also matches an absent label. */
const SERVICE = 'service_name=~"$service",deployment_environment_name=~"$environment"';
export const filters = {
  /** series of a Claude call: all four variables */
  call: `${SERVICE},gen_ai_request_model=~"$model",ballast_feature=~"$feature"`,
  /** retry and circuit series carry a model, no feature */
  model: `${SERVICE},gen_ai_request_model=~"$model"`,
  /** rate-limit and org series carry neither */
  service: SERVICE,
  /** run series carry a feature, no model (a run may use several) */
  run: `${SERVICE},ballast_feature=~"$feature"`,
};

export const UIDS = {
  overview: "ballast-claude-overview",
  cost: "ballast-claude-cost",
  reliability: "ballast-claude-reliability",
  traces: "ballast-claude-traces",
  runs: "ballast-claude-runs",
};

export const q = (expr: string, legend = "") =>
  new DataqueryBuilder().expr(expr).legendFormat(legend).datasource(PROMETHEUS);

function variable(name: string, label: string, metricLabel: string) {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(PROMETHEUS)
    .query(`label_values(${CALLS}, ${metricLabel})`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .multi(true)
    .includeAll(true)
    .allValue(".*");
}

/** A dashboard with the Prometheus datasource variable and the variables its queries filter on. */
export function dashboard(
  title: string,
  uid: string,
  description: string,
  vars: Array<"service" | "environment" | "model" | "feature">,
) {
  let d = new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(["ballast", "claude"])
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .timezone("browser")
    .withVariable(new DatasourceVariableBuilder("datasource").label("Prometheus").type("prometheus"))
    // the dashboards link to each other, keeping time range and variables
    .link(
      new DashboardLinkBuilder("Ballast")
        .type(DashboardLinkType.Dashboards)
        .tags(["ballast"])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    );
  const labels = {
    service: ["Service", "service_name"],
    environment: ["Environment", "deployment_environment_name"],
    model: ["Model", "gen_ai_request_model"],
    feature: ["Feature", "ballast_feature"],
  } as const;
  for (const name of vars) {
    const [label, metricLabel] = labels[name];
    d = d.withVariable(variable(name, label, metricLabel));
  }
  return d;
}

/** A link from a panel to the traces dashboard, keeping time range and the service filter. */
export const tracesLink = (title: string) =>
  new DashboardLinkBuilder(title)
    .url(`/d/${UIDS.traces}?\${__url_time_range}&\${service:queryparam}`)
    .type(DashboardLinkType.Link);

export function series(title: string, unit: string, ...targets: DataqueryBuilder[]) {
  let panel = new TimeseriesPanel().title(title).unit(unit).datasource(PROMETHEUS).height(8).span(8);
  for (const t of targets) panel = panel.withTarget(t);
  return panel;
}

export function stat(title: string, unit: string, target: DataqueryBuilder) {
  return new StatPanel().title(title).unit(unit).datasource(PROMETHEUS).height(4).span(6).withTarget(target);
}

/** Every query of a dashboard, panel by panel: PromQL `expr` or TraceQL `query`. */
export function queriesOf(d: Dashboard): Array<{ panel: string; expr?: string; traceql?: string }> {
  const out: Array<{ panel: string; expr?: string; traceql?: string }> = [];
  for (const panel of (d.panels ?? []) as Array<{
    title?: string;
    targets?: Array<{ expr?: string; query?: string }>;
  }>) {
    for (const target of panel.targets ?? []) {
      if (target.expr) out.push({ panel: panel.title ?? "", expr: target.expr });
      else if (target.query) out.push({ panel: panel.title ?? "", traceql: target.query });
    }
  }
  return out;
}
