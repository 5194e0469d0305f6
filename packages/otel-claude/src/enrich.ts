import { type CallPrice, type PriceTable, priceCall, type UsageLike } from "@ballast/pricing";
import type { Attributes } from "@opentelemetry/api";
import { warnOnce } from "./diag-once.js";
import * as semconv from "./semconv.js";

/** Says once per model that its calls carry no cost. */
const unpriced = new Set<string>();
const MAX_UNPRICED_REPORTED = 20;

/** Reports each model without a price once, the first MAX_UNPRICED_REPORTED of them: the set stays bounded. */
export function warnUnpriced(model: string): void {
  if (unpriced.has(model) || unpriced.size > MAX_UNPRICED_REPORTED) return;
  unpriced.add(model);
  if (unpriced.size > MAX_UNPRICED_REPORTED) {
    warnOnce("unpriced:more", `more models without a price than ${MAX_UNPRICED_REPORTED}: not reported one by one`);
  } else {
    warnOnce(`unpriced:${model}`, `no price for model "${model}": its calls carry no cost (add it with withPrices)`);
  }
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** The API's `usage` back from a span's attributes (`gen_ai.usage.input_tokens` includes cached tokens). */
export function usageFromAttributes(a: Attributes): UsageLike | undefined {
  if (a[semconv.ATTR_USAGE_INPUT] === undefined && a[semconv.ATTR_USAGE_OUTPUT] === undefined) return undefined;
  const read = num(a[semconv.ATTR_USAGE_CACHE_READ]);
  const write = num(a[semconv.ATTR_USAGE_CACHE_WRITE] ?? a[semconv.ATTR_USAGE_CACHE_CREATION]);
  return {
    input_tokens: Math.max(0, num(a[semconv.ATTR_USAGE_INPUT]) - read - write),
    cache_read_input_tokens: read,
    cache_creation_input_tokens: write,
    cache_creation: {
      ephemeral_5m_input_tokens: num(a[semconv.ATTR_USAGE_5M]),
      ephemeral_1h_input_tokens: num(a[semconv.ATTR_USAGE_1H]),
    },
    output_tokens: num(a[semconv.ATTR_USAGE_OUTPUT]),
  };
}

/**
 * What Ballast adds to a call's span: the semconv aliases the SDK leaves out, `finish_reasons`, and
 * the cost. An unknown model gets `ballast.pricing.model = "unknown"` and no cost, never a guess.
 */
export function enrichmentAttributes(a: Attributes, table: PriceTable | undefined, batch = false): Attributes {
  const out: Attributes = {};
  const stop = a[semconv.ATTR_STOP_REASON];
  if (typeof stop === "string" && a[semconv.ATTR_FINISH_REASONS] === undefined)
    out[semconv.ATTR_FINISH_REASONS] = [stop];
  const write = a[semconv.ATTR_USAGE_CACHE_WRITE] ?? a[semconv.ATTR_USAGE_CACHE_CREATION];
  if (typeof write === "number") {
    out[semconv.ATTR_USAGE_CACHE_WRITE] = write;
    out[semconv.ATTR_USAGE_CACHE_CREATION] = write;
  }
  const usage = usageFromAttributes(a);
  const model = a[semconv.ATTR_RESPONSE_MODEL] ?? a[semconv.ATTR_REQUEST_MODEL];
  if (!usage || typeof model !== "string") return out;
  const price = priceCall({ model, usage, batch }, table);
  if (!price) warnUnpriced(model);
  return addCostAttributes(out, price);
}

/** Adds to `a` the cost attributes of a call priced (or not) already: no second pricing of the same call. */
export function addCostAttributes(a: Attributes, price: CallPrice | undefined): Attributes {
  if (price) {
    a[semconv.ATTR_COST] = price.usd;
    a[semconv.ATTR_CACHE_SAVINGS] = price.cacheSavingsUsd;
  }
  a[semconv.ATTR_PRICING_MODEL] = price ? price.priceId : "unknown";
  return a;
}
