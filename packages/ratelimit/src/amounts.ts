import { estimateMaxCost, type PriceTable, priceCall, tokenCounts, type UsageLike } from "@ballast/pricing";
import type { Rule } from "./rules.js";

/** What a call asks for before it is sent. */
export interface Demand {
  model?: string;
  /** the request's `max_tokens` (reserved as output until settled) */
  maxTokens?: number;
  /** the request's input tokens, e.g. from `countTokens` */
  inputTokens?: number;
}

/** The most tokens one call may count: more is a mistake or an attack, not a call, and would push a count towards inf. */
export const MAX_TOKENS_PER_CALL = 1_000_000_000;

/** A value as an error message shows it: NaN and Infinity as themselves (JSON would say null), strings quoted. */
export const shown = (value: unknown): string => (typeof value === "number" ? String(value) : JSON.stringify(value));

function tokens(what: string, value: unknown): number {
  if (typeof value !== "number" || !(value >= 0 && value <= MAX_TOKENS_PER_CALL)) {
    throw new TypeError(`${what} must be a number from 0 to ${MAX_TOKENS_PER_CALL}; got ${shown(value)}`);
  }
  // whole tokens, rounded up: an estimate such as chars / 4 never reserves less than it says
  return Math.ceil(value);
}

/** A demand's token count (`maxTokens`, `inputTokens`), checked and made whole; 0 when absent. */
export function demandTokens(field: string, value: unknown): number {
  return value === undefined ? 0 : tokens(`acquire: \`${field}\``, value);
}

const USAGE_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
] as const;
const CACHE_CREATION_FIELDS = ["ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"] as const;

/**
 * The API's usage as settle counts it: every count a number from 0 to MAX_TOKENS_PER_CALL, made whole.
 * Numeric strings are refused, not parsed: usage comes from the SDK as numbers, and a string is a sign
 * that it came from somewhere else.
 */
export function settledUsage(usage: unknown): UsageLike {
  if (typeof usage !== "object" || usage === null) {
    throw new TypeError(`settle: \`usage\` must be the API's usage object; got ${shown(usage)}`);
  }
  const given = usage as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of USAGE_FIELDS) {
    if (given[field] != null) out[field] = tokens(`settle: \`usage.${field}\``, given[field]);
  }
  const creation = given.cache_creation as Record<string, unknown> | null | undefined;
  if (creation != null) {
    const split: Record<string, number> = {};
    for (const field of CACHE_CREATION_FIELDS) {
      if (creation[field] != null) split[field] = tokens(`settle: \`usage.cache_creation.${field}\``, creation[field]);
    }
    out.cache_creation = split;
  }
  return out as UsageLike;
}

/** USD at a fixed precision (nano-dollars), so sums in the store do not drift with binary fractions. */
export const usdAmount = (usd: number): number => Math.round(usd * 1e9) / 1e9;

/**
 * What `rule` counts for a demand (a reservation, before the call: its counts checked and made whole by
 * acquire) or for real usage (at settle, checked by settledUsage).
 */
export function ruleCost(rule: Rule, demand: Demand, usage: UsageLike | undefined, pricing: PriceTable | undefined) {
  let input = demand.inputTokens ?? 0;
  let output = demand.maxTokens ?? 0;
  if (usage) {
    const t = tokenCounts(usage);
    input = t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
    output = t.output;
  }
  switch (rule.measure) {
    case "requests":
      return 1;
    case "input_tokens":
      return input;
    case "output_tokens":
      return output;
    case "tokens":
      return input + output;
    case "usd": {
      const model = demand.model ?? "";
      const usd = usage
        ? priceCall({ model, usage }, pricing)?.usd
        : estimateMaxCost({ model, inputTokens: input, maxTokens: output }, pricing);
      if (usd === undefined) {
        throw new TypeError(
          `acquire: rule "${rule.name}" counts USD but model ${JSON.stringify(demand.model)} has no price (give \`model\`, or add it with withPrices)`,
        );
      }
      return usdAmount(usd);
    }
  }
}
