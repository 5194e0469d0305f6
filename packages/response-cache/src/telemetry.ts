import { messageOf, otelApi, WarnOnce } from "@ballast/intercept";
import { type PriceTable, priceCall } from "@ballast/pricing";

export type Outcome = "hit" | "miss" | "stale";

/** `ballast.response_cache.requests` by outcome, `ballast.response_cache.saved` (USD), store errors. */
export class CacheTelemetry {
  readonly #requests;
  readonly #saved;
  readonly #storeErrors;
  readonly #warnings = new WarnOnce(console.warn);

  constructor(
    private readonly namespace: string,
    private readonly prices?: PriceTable,
  ) {
    const meter = otelApi()?.metrics.getMeter("@ballast/response-cache");
    this.#requests = meter?.createCounter("ballast.response_cache.requests", {
      description: "Cacheable Claude requests by outcome: hit, miss, stale",
      unit: "{request}",
    });
    this.#saved = meter?.createCounter("ballast.response_cache.saved", {
      description: "What the answers served from the cache would have cost from the API",
      unit: "USD",
    });
    this.#storeErrors = meter?.createCounter("ballast.response_cache.store_errors", { unit: "{error}" });
  }

  /** One cacheable request; for a hit or stale serve, `usage` is what the API call would have used. */
  served(outcome: Outcome, model: unknown, usage?: unknown): void {
    const attrs = { "ballast.response_cache.namespace": this.namespace, "ballast.response_cache.outcome": outcome };
    if (typeof model !== "string") {
      this.#requests?.add(1, attrs);
      return;
    }
    this.#requests?.add(1, { ...attrs, "gen_ai.request.model": model });
    if (outcome === "miss" || !usage) return;
    const price = priceCall({ model, usage: usage as never }, this.prices);
    if (price)
      this.#saved?.add(price.usd, {
        "ballast.response_cache.namespace": this.namespace,
        "gen_ai.request.model": model,
      });
  }

  /** A store that fails never fails the call: the request goes to the API, the error is counted and logged once. */
  storeError(operation: string, error: unknown): void {
    this.#storeErrors?.add(1, { "ballast.response_cache.namespace": this.namespace, operation });
    this.#warnings.warn(
      operation,
      `@ballast/response-cache: store ${operation} failed, answering from the API (further failures are counted in ballast.response_cache.store_errors): ${messageOf(error)}`,
    );
  }
}
