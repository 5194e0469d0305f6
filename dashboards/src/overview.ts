// "Claude overview": is Claude healthy and what is it costing us, right now — calls, errors, latency,
// TTFT, tokens, cache, spend and stop reasons, filterable by service, environment, model and feature.
import { type Dashboard, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { CALLS, COST, dashboard, filters, q, series, stat, TOKENS, tracesLink, UIDS } from "./panels.ts";

const F = filters.call;

/** Cache reads over all input (uncached, read and written); `by` groups it, e.g. by feature. */
export const cacheHitRatio = (by = "") =>
  `sum${by}(rate(${TOKENS}{${F},ballast_token_kind="cache_read"}[$__rate_interval])) / sum${by}(rate(${TOKENS}{${F},ballast_token_kind=~"input|cache_read|cache_write_5m|cache_write_1h"}[$__rate_interval]))`;

export function claudeOverview(): Dashboard {
  return dashboard("Claude overview", UIDS.overview, "Is Claude healthy and what is it costing us, right now.", [
    "service",
    "environment",
    "model",
    "feature",
  ])
    .withRow(new RowBuilder("Now"))
    .withPanel(stat("Calls/s", "reqps", q(`sum(rate(${CALLS}{${F}}[$__rate_interval]))`)))
    .withPanel(
      stat(
        "Error rate",
        "percentunit",
        q(`sum(rate(${CALLS}{${F},error_type!=""}[$__rate_interval])) / sum(rate(${CALLS}{${F}}[$__rate_interval]))`),
      ).links([tracesLink("Failed calls (traces)")]),
    )
    .withPanel(
      // "now/d": the panel's range is today so far, whatever the dashboard shows
      stat("Spend today", "currencyUSD", q(`sum(increase(${COST}{${F}}[$__range]))`))
        .timeFrom("now/d")
        .links([tracesLink("Most expensive calls (traces)")]),
    )
    .withPanel(stat("Spend per hour", "currencyUSD", q(`sum(rate(${COST}{${F}}[$__rate_interval])) * 3600`)))
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
      ).links([tracesLink("Slowest calls (traces)")]),
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
    .withPanel(series("Cache hit ratio", "percentunit", q(cacheHitRatio(), "hit ratio")))
    .withPanel(
      series(
        "Spend by model and feature ($/h)",
        "currencyUSD",
        q(
          `sum by (gen_ai_request_model, ballast_feature) (rate(${COST}{${F}}[$__rate_interval])) * 3600`,
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
      ).links([tracesLink("Truncated calls (traces)")]),
    )
    .build();
}
