import { messageOf, otelApi, WarnOnce } from "@ballast/intercept";
import type { Rule } from "./rules.js";

export interface BudgetAlert {
  limiter: string;
  key: string;
  rule: string;
  /** the fraction of the limit crossed, from `alertAt` */
  threshold: number;
  limit: number;
  window: string;
}

/**
 * A limiter's telemetry and budget alerts: `ballast.ratelimit.decisions`, and each alert counted in
 * `ballast.budget.alerts`, emitted as a `ballast.budget.alert` log record and handed to the user's hook.
 * None of it may break the call it reports on: failures are reported once per limiter.
 */
export class LimiterTelemetry {
  readonly #decisions?: import("@opentelemetry/api").Counter;
  readonly #alerts?: import("@opentelemetry/api").Counter;
  readonly #warnings = new WarnOnce((message) => otelApi()?.diag.warn(message));
  readonly #hookWarnings = new WarnOnce(console.warn);

  constructor(
    private readonly limiter: string,
    private readonly rules: readonly Rule[],
    private readonly onBudgetAlert: ((alert: BudgetAlert) => void) | undefined,
  ) {
    const meter = otelApi()?.metrics.getMeter("@ballast/ratelimit");
    this.#decisions = meter?.createCounter("ballast.ratelimit.decisions", { unit: "{decision}" });
    this.#alerts = meter?.createCounter("ballast.budget.alerts", { unit: "{alert}" });
  }

  decision(outcome: "allowed" | "limited" | "store_error", rule?: string): void {
    try {
      this.#decisions?.add(1, {
        "ballast.ratelimit.limiter": this.limiter,
        "ballast.ratelimit.outcome": outcome,
        ...(rule ? { "ballast.ratelimit.rule": rule } : {}),
      });
    } catch (error) {
      this.#failed(error);
    }
  }

  /** The alerts a store fired for `key`: rule index and threshold pairs. */
  alerts(key: string, fired: Array<[number, number]>): void {
    for (const [index, threshold] of fired) {
      const rule = this.rules[index];
      if (!rule) continue;
      const alert: BudgetAlert = {
        limiter: this.limiter,
        key,
        rule: rule.name,
        threshold,
        limit: rule.limit,
        window: rule.window,
      };
      try {
        this.#alerts?.add(1, {
          "ballast.ratelimit.limiter": this.limiter,
          "ballast.ratelimit.rule": rule.name,
          "ballast.budget.threshold": String(threshold),
        });
        otelApi()
          ?.logs.getLogger("@ballast/ratelimit")
          .emit({ eventName: "ballast.budget.alert", body: { ...alert } });
      } catch (error) {
        this.#failed(error);
      }
      try {
        this.onBudgetAlert?.(alert);
      } catch (error) {
        this.#hookWarnings.warn(
          "onBudgetAlert",
          `@ballast/ratelimit: your onBudgetAlert hook of limiter ${this.limiter} threw (${messageOf(error)}); the call goes on, and later throws are not reported`,
        );
      }
    }
  }

  #failed(error: unknown): void {
    this.#warnings.warn(
      "telemetry",
      `@ballast/ratelimit: recording rate-limit telemetry failed (${messageOf(error)}); the call goes on, and later failures are not reported`,
    );
  }
}
