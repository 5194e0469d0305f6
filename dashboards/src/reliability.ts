// "Reliability": what failed and what Ballast did about it — retries, 429/529s, fallbacks, circuits,
// per-user rate limits and budgets, and how close the org is to Anthropic's own rate limits.
import { type Dashboard, RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { CALLS, dashboard, filters, q, series, tracesLink, UIDS } from "./panels.ts";

const rate = (metric: string, by: string, filter: string) =>
  `sum by (${by}) (rate(${metric}{${filter}}[$__rate_interval]))`;

export function reliability(): Dashboard {
  return dashboard(
    "Claude reliability",
    UIDS.reliability,
    "What failed, what Ballast did about it (retries, fallbacks, circuits, limits), and the org's rate-limit headroom.",
    ["service", "environment", "model"],
  )
    .withRow(new RowBuilder("Failures"))
    .withPanel(
      series(
        "Failed calls/s by error type",
        "reqps",
        q(rate(CALLS, "error_type", `${filters.model},error_type!=""`), "{{error_type}}"),
      ).links([tracesLink("Failed calls (traces)")]),
    )
    .withPanel(
      series(
        "429 and 529 answers/s by model",
        "reqps",
        q(
          rate(
            CALLS,
            "gen_ai_request_model, error_type",
            `${filters.model},error_type=~"rate_limit_error|overloaded_error"`,
          ),
          "{{gen_ai_request_model}} {{error_type}}",
        ),
      ),
    )
    .withPanel(
      series(
        "Retries/s by reason",
        "reqps",
        q(rate("ballast_retry_attempts_total", "ballast_retry_reason", filters.model), "{{ballast_retry_reason}}"),
      ),
    )
    .withPanel(
      series(
        "Telemetry failures/s by step (calls recorded without that step)",
        "reqps",
        q(
          rate("ballast_claude_telemetry_failures_total", "ballast_telemetry_step", filters.service),
          "{{ballast_telemetry_step}}",
        ),
      ),
    )
    .withRow(new RowBuilder("Fallbacks and circuits"))
    .withPanel(
      series(
        "Fallbacks/s",
        "reqps",
        q(
          rate(
            "ballast_retry_fallbacks_total",
            "ballast_fallback_from, ballast_fallback_to, ballast_fallback_reason",
            filters.service,
          ),
          "{{ballast_fallback_from}} → {{ballast_fallback_to}} ({{ballast_fallback_reason}})",
        ),
      ),
    )
    .withPanel(
      series(
        "Circuit state by model (1 = current state)",
        "short",
        q(
          `max by (gen_ai_request_model, ballast_circuit_state) (ballast_circuit_state{${filters.model}})`,
          "{{gen_ai_request_model}} {{ballast_circuit_state}}",
        ),
      ),
    )
    .withPanel(
      series(
        "Org rate-limit utilization (anthropic-ratelimit-* headers)",
        "percentunit",
        q(
          `max by (anthropic_ratelimit_kind) (anthropic_ratelimit_utilization_ratio{${filters.service}})`,
          "{{anthropic_ratelimit_kind}}",
        ),
      ),
    )
    .withRow(new RowBuilder("Per-user limits and budgets"))
    .withPanel(
      series(
        "Rate-limit decisions/s",
        "reqps",
        q(
          rate(
            "ballast_ratelimit_decisions_total",
            "ballast_ratelimit_limiter, ballast_ratelimit_outcome",
            filters.service,
          ),
          "{{ballast_ratelimit_limiter}} {{ballast_ratelimit_outcome}}",
        ),
      ),
    )
    .withPanel(
      series(
        "Refusals/s by rule",
        "reqps",
        q(
          rate(
            "ballast_ratelimit_decisions_total",
            "ballast_ratelimit_limiter, ballast_ratelimit_rule",
            `${filters.service},ballast_ratelimit_outcome="limited"`,
          ),
          "{{ballast_ratelimit_limiter}} {{ballast_ratelimit_rule}}",
        ),
      ),
    )
    .withPanel(
      series(
        "Budget alerts in range by rule and threshold",
        "short",
        q(
          `sum by (ballast_ratelimit_rule, ballast_budget_threshold) (increase(ballast_budget_alerts_total{${filters.service}}[$__range]))`,
          "{{ballast_ratelimit_rule}} ≥ {{ballast_budget_threshold}}",
        ),
      ),
    )
    .build();
}
