// "Traces (Tempo)": the individual calls behind the other dashboards' lines — the slowest, the ones cut at
// max_tokens, the failed and the most expensive — as TraceQL tables over otel-claude's span attributes.
import { type Dashboard, DatasourceVariableBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { PanelBuilder as TablePanel } from "@grafana/grafana-foundation-sdk/table";
import { DataqueryBuilder as TempoQuery } from "@grafana/grafana-foundation-sdk/tempo";
import { dashboard, TEMPO, UIDS } from "./panels.ts";

export interface TracesOptions {
  /** a call slower than this is listed as slow (default 10, the p99 alert's threshold) */
  slowSeconds?: number;
  /** a call costing more than this is listed as expensive (default 0.10) */
  expensiveUsd?: number;
}

const CLAUDE = 'resource.service.name =~ "$service" && span.gen_ai.operation.name = "chat"';
const COLUMNS =
  "select(span.gen_ai.request.model, span.ballast.feature, span.user.id, span.anthropic.message.stop_reason, span.gen_ai.usage.cost, span.error.type)";

export function tracesDashboard(options: TracesOptions = {}): Dashboard {
  const slow = options.slowSeconds ?? 10;
  const expensive = options.expensiveUsd ?? 0.1;
  for (const [name, v] of Object.entries({ slowSeconds: slow, expensiveUsd: expensive })) {
    if (!(Number.isFinite(v) && v > 0))
      throw new TypeError(`tracesDashboard: \`${name}\` must be a number > 0; got ${v}`);
  }
  const table = (title: string, condition: string) =>
    new TablePanel()
      .title(title)
      .datasource(TEMPO)
      .height(10)
      .span(12)
      .withTarget(
        new TempoQuery()
          .refId("A")
          .queryType("traceql")
          .query(`{ ${CLAUDE} && ${condition} } | ${COLUMNS}`)
          .limit(50)
          .datasource(TEMPO),
      );
  return dashboard(
    "Claude traces",
    UIDS.traces,
    "The Claude calls behind the other dashboards' lines, from Tempo: slowest, truncated, failed, most expensive.",
    ["service"],
  )
    .withVariable(new DatasourceVariableBuilder("tempo").label("Tempo").type("tempo"))
    .withPanel(table(`Slow calls (> ${slow} s)`, `duration > ${slow}s`))
    .withPanel(table("Answers cut at max_tokens", 'span.anthropic.message.stop_reason = "max_tokens"'))
    .withPanel(table("Failed calls", "status = error"))
    .withPanel(table(`Expensive calls (> $${expensive})`, `span.gen_ai.usage.cost > ${expensive}`))
    .build();
}
