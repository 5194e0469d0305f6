import { resolvePriceEntry } from "./model-id.js";
import { PRICE_TABLE, type PriceTable, type Rates } from "./table.js";

/** The `usage` object of a Message, as loosely as it may arrive (nulls, strings, missing fields). */
export interface UsageLike {
  input_tokens?: number | string | null;
  output_tokens?: number | string | null;
  cache_read_input_tokens?: number | string | null;
  cache_creation_input_tokens?: number | string | null;
  cache_creation?: {
    ephemeral_5m_input_tokens?: number | string | null;
    ephemeral_1h_input_tokens?: number | string | null;
  } | null;
}

export interface PriceCallInput {
  model: string;
  usage: UsageLike | null | undefined;
  /** a Message Batches API call (50% off) */
  batch?: boolean;
  /** `usage.service_tier`; `"batch"` is the same as `batch: true` */
  serviceTier?: string | null;
}

export interface CallPrice {
  /** USD for the whole call, to the nano-dollar (1e-9) */
  usd: number;
  /** USD that cache reads saved against the same tokens at the input price, to the nano-dollar */
  cacheSavingsUsd: number;
  breakdown: { input: number; cacheRead: number; cacheWrite5m: number; cacheWrite1h: number; output: number };
  /** the price-table entry used, with `:long-context` when that tier applied */
  priceId: string;
}

/** A finite count ≥ 0 from whatever the usage object holds; anything else counts as 0. */
function count(value: unknown): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : 0;
}

/** Token counts of a usage object by kind, every one a finite number ≥ 0 (`input` is the uncached part). */
export interface TokenCounts {
  input: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  output: number;
}

/**
 * Reads a loose `usage` into counts by kind. Cache writes not split by TTL in `usage.cache_creation`
 * count as 5-minute writes, the default TTL.
 */
export function tokenCounts(usage: UsageLike | null | undefined): TokenCounts {
  const u = usage ?? {};
  const written = count(u.cache_creation_input_tokens);
  const cacheWrite1h = Math.min(written, count(u.cache_creation?.ephemeral_1h_input_tokens));
  return {
    input: count(u.input_tokens),
    cacheRead: count(u.cache_read_input_tokens),
    cacheWrite5m: written - cacheWrite1h,
    cacheWrite1h,
    output: count(u.output_tokens),
  };
}

/** USD of one call from its usage, or `undefined` for a model the table does not know (never a guess). */
export function priceCall(call: PriceCallInput, table: PriceTable = PRICE_TABLE): CallPrice | undefined {
  const entry = resolvePriceEntry(call.model, table);
  if (!entry) return undefined;
  const { input, cacheRead, cacheWrite5m: split5m, cacheWrite1h: split1h, output } = tokenCounts(call.usage);
  const written = split5m + split1h;
  const long = entry.longContext && input + cacheRead + written > entry.longContext.thresholdTokens;
  const r: Rates = long && entry.longContext ? entry.longContext : entry;
  const batch = call.batch || call.serviceTier === "batch" ? table.batchMultiplier : 1;
  // tokens × rate ÷ 1e6, in that order: exact for whole-cent rates (1e6 × 0.8 / 1e6 is 0.8; × 1e-6 is not)
  const usd = (tokens: number, rate: number) => (tokens * rate * batch) / 1_000_000;
  const breakdown = {
    input: usd(input, r.input),
    cacheRead: usd(cacheRead, r.cacheRead),
    cacheWrite5m: usd(split5m, r.cacheWrite5m),
    cacheWrite1h: usd(split1h, r.cacheWrite1h),
    output: usd(output, r.output),
  };
  // a sum of exact parts can still print as 0.0020340000000000002: rounded to what a price can mean
  const nano = (x: number) => Math.round(x * 1e9) / 1e9;
  return {
    usd: nano(
      breakdown.input + breakdown.cacheRead + breakdown.cacheWrite5m + breakdown.cacheWrite1h + breakdown.output,
    ),
    cacheSavingsUsd: nano(usd(cacheRead, r.input - r.cacheRead)),
    breakdown,
    priceId: long ? `${entry.id}:long-context` : entry.id,
  };
}

export interface MaxCostInput {
  model: string;
  /** input tokens of the request, cached or not (e.g. from `countTokens`) */
  inputTokens: number;
  /** the request's `max_tokens` */
  maxTokens: number;
  batch?: boolean;
}

/**
 * An upper bound on a call's USD before it is made, for budget reservations: every input token at
 * the dearest input rate (a 1-hour cache write), `maxTokens` of output, the long-context tier when
 * the input passes its threshold. `undefined` for an unknown model.
 */
export function estimateMaxCost(call: MaxCostInput, table: PriceTable = PRICE_TABLE): number | undefined {
  for (const key of ["inputTokens", "maxTokens"] as const) {
    const v = call[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new TypeError(`estimateMaxCost: \`${key}\` must be a number ≥ 0; got ${JSON.stringify(v)}`);
    }
  }
  const entry = resolvePriceEntry(call.model, table);
  if (!entry) return undefined;
  const long = entry.longContext && call.inputTokens > entry.longContext.thresholdTokens;
  const r: Rates = long && entry.longContext ? entry.longContext : entry;
  const batch = call.batch ? table.batchMultiplier : 1;
  const dearestInput = Math.max(r.input, r.cacheWrite5m, r.cacheWrite1h);
  return ((call.inputTokens * dearestInput + call.maxTokens * r.output) * batch) / 1_000_000;
}
