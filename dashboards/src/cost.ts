// "Cost and caching": where the money goes and what prompt caching saves — or would save.
import { type Dashboard, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { cacheHitRatio } from "./overview.ts";
import { COST, dashboard, filters, q, series, stat, TOKENS, tracesLink, UIDS } from "./panels.ts";

const F = filters.call;
const SAVINGS = "ballast_claude_cache_savings_USD_total";
const MISSED = "ballast_cache_missed_savings_USD_total";
const perHour = (metric: string, by: string, extra = "") =>
  `sum by (${by}) (rate(${metric}{${F}${extra}}[$__rate_interval])) * 3600`;

export function costAndCaching(): Dashboard {
  const writes = (by: string) =>
    `sum by (${by}) (rate(${TOKENS}{${F},ballast_token_kind=~"cache_write_5m|cache_write_1h"}[$__rate_interval]))`;
  const reads = (by: string) =>
    `sum by (${by}) (rate(${TOKENS}{${F},ballast_token_kind="cache_read"}[$__rate_interval]))`;
  return dashboard(
    "Claude cost and caching",
    UIDS.cost,
    "Where the money goes, what prompt caching saves, and what it would save if every repeated prefix were cached.",
    ["service", "environment", "model", "feature"],
  )
    .withRow(new RowBuilder("Spend"))
    .withPanel(
      stat("Spend in range", "currencyUSD", q(`sum(increase(${COST}{${F}}[$__range]))`)).links([
        tracesLink("Most expensive calls (traces)"),
      ]),
    )
    .withPanel(
      stat("Projected daily spend (last hour's pace)", "currencyUSD", q(`sum(rate(${COST}{${F}}[1h])) * 86400`)),
    )
    .withPanel(stat("Cache savings in range", "currencyUSD", q(`sum(increase(${SAVINGS}{${F}}[$__range]))`)))
    .withPanel(stat("Missed cache savings in range", "currencyUSD", q(`sum(increase(${MISSED}{${F}}[$__range]))`)))
    .withPanel(
      series(
        "Spend by model ($/h)",
        "currencyUSD",
        q(perHour(COST, "gen_ai_request_model"), "{{gen_ai_request_model}}"),
      ),
    )
    .withPanel(
      series("Spend by feature ($/h)", "currencyUSD", q(perHour(COST, "ballast_feature"), "{{ballast_feature}}")),
    )
    .withPanel(
      series(
        "Spend by token kind ($/h)",
        "currencyUSD",
        q(perHour(COST, "ballast_token_kind"), "{{ballast_token_kind}}"),
      ),
    )
    .withRow(new RowBuilder("Prompt caching"))
    .withPanel(
      series(
        "Cache savings by model and feature ($/h)",
        "currencyUSD",
        q(perHour(SAVINGS, "gen_ai_request_model, ballast_feature"), "{{gen_ai_request_model}} {{ballast_feature}}"),
      ),
    )
    .withPanel(
      series(
        "Missed savings: repeated prefixes without cache_control ($/h)",
        "currencyUSD",
        q(perHour(MISSED, "gen_ai_request_model, ballast_feature"), "{{gen_ai_request_model}} {{ballast_feature}}"),
      ),
    )
    .withPanel(
      series(
        "Cache hit ratio by feature",
        "percentunit",
        q(cacheHitRatio(" by (ballast_feature) "), "{{ballast_feature}}"),
      ),
    )
    .withPanel(
      // A feature whose reads stay below its writes pays the write premium (1.25–2× input) for nothing;
      // `or … * 0` keeps features that wrote and never read, at 0.
      series(
        "Cache reads per cache write by feature (< 1: writes never read back)",
        "short",
        q(
          `(${reads("ballast_feature")} or ${writes("ballast_feature")} * 0) / ${writes("ballast_feature")}`,
          "{{ballast_feature}}",
        ),
      ),
    )
    .withPanel(
      series(
        "Cache write spend by feature ($/h)",
        "currencyUSD",
        q(
          perHour(COST, "ballast_feature", ',ballast_token_kind=~"cache_write_5m|cache_write_1h"'),
          "{{ballast_feature}}",
        ),
      ),
    )
    .build();
}
