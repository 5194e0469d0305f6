import { messageOf, otelApi as otel, WarnOnce } from "@ballast/intercept";
import type { CircuitState } from "./breaker.js";
import type { RetryReason } from "./classify.js";

const STATES: CircuitState[] = ["closed", "half_open", "open"];

/** Metrics and span events of one policy, through the global OTel API when it is installed. */
export class RetryTelemetry {
  // Telemetry never breaks the call; its first failure goes to the OTel diag logger, once per policy.
  readonly #warnings = new WarnOnce((message) => otel()?.diag.warn(message));
  #instruments:
    | { attempts: import("@opentelemetry/api").Counter; fallbacks: import("@opentelemetry/api").Counter }
    | undefined;

  constructor(private readonly circuitStates: () => Map<string, CircuitState>) {
    const o = otel();
    if (!o) return;
    const meter = o.metrics.getMeter("@ballast/retry");
    this.#instruments = {
      attempts: meter.createCounter("ballast.retry.attempts", { description: "Retries by reason", unit: "{attempt}" }),
      fallbacks: meter.createCounter("ballast.retry.fallbacks", {
        description: "Calls handed to a fallback model",
        unit: "{fallback}",
      }),
    };
    meter
      .createObservableGauge("ballast.circuit.state", {
        description: "1 for each model's current circuit state",
        // not "1": Prometheus naming would append `_ratio` to a dimensionless gauge, and the name is `ballast_circuit_state`
        unit: "{state}",
      })
      .addCallback((result) => {
        for (const [model, state] of this.circuitStates()) {
          for (const s of STATES) {
            result.observe(s === state ? 1 : 0, { "gen_ai.request.model": model, "ballast.circuit.state": s });
          }
        }
      });
  }

  #failed(error: unknown): void {
    this.#warnings.warn(
      "telemetry",
      `@ballast/retry: recording retry telemetry failed (${messageOf(error)}); the call goes on, and later failures are not reported`,
    );
  }

  retry(model: string | undefined, reason: RetryReason, attempt: number, delayMs: number): void {
    try {
      this.#instruments?.attempts.add(1, {
        "gen_ai.request.model": model ?? "unknown",
        "ballast.retry.reason": reason,
      });
      otel()
        ?.trace.getActiveSpan()
        ?.addEvent("ballast.retry", {
          "ballast.retry.attempt": attempt,
          "ballast.retry.reason": reason,
          "ballast.retry.delay_ms": delayMs,
          ...(model ? { "gen_ai.request.model": model } : {}),
        });
    } catch (error) {
      this.#failed(error);
    }
  }

  fallback(from: string | undefined, to: string | undefined, reason: string): void {
    try {
      const attributes = {
        "ballast.fallback.from": from ?? "unknown",
        "ballast.fallback.to": to ?? "unknown",
        "ballast.fallback.reason": reason,
      };
      this.#instruments?.fallbacks.add(1, attributes);
      otel()?.trace.getActiveSpan()?.addEvent("ballast.fallback", attributes);
    } catch (error) {
      this.#failed(error);
    }
  }
}
