import type { Counter, Histogram, Meter } from "@opentelemetry/api";
import {
  DURATION_BUCKETS,
  METRIC_CACHE_SAVINGS,
  METRIC_COST,
  METRIC_DURATION,
  METRIC_MISSED_SAVINGS,
  METRIC_TOKEN_USAGE,
  METRIC_TOKENS,
  METRIC_TTFC,
  TOKEN_BUCKETS,
} from "./semconv.js";

export interface Instruments {
  duration: Histogram;
  tokenUsage: Histogram;
  ttfc: Histogram;
  tokens: Counter;
  cost: Counter;
  cacheSavings: Counter;
  missedSavings: Counter;
}

export function createInstruments(meter: Meter): Instruments {
  return {
    duration: meter.createHistogram(METRIC_DURATION, {
      description: "Duration of Claude API calls",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    tokenUsage: meter.createHistogram(METRIC_TOKEN_USAGE, {
      description: "Tokens per Claude API call (input includes cached tokens)",
      unit: "{token}",
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    }),
    ttfc: meter.createHistogram(METRIC_TTFC, {
      description: "Time from request to the first content chunk of a streamed reply",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    tokens: meter.createCounter(METRIC_TOKENS, {
      description: "Claude tokens by kind: input (uncached), cache_read, cache_write_5m, cache_write_1h, output",
      unit: "{token}",
    }),
    cost: meter.createCounter(METRIC_COST, { description: "USD spent on Claude calls, by token kind", unit: "USD" }),
    cacheSavings: meter.createCounter(METRIC_CACHE_SAVINGS, {
      description: "USD that prompt-cache reads saved against the input price",
      unit: "USD",
    }),
    missedSavings: meter.createCounter(METRIC_MISSED_SAVINGS, {
      description: "USD cache reads would have saved on repeated, cacheable prefixes sent without cache_control",
      unit: "USD",
    }),
  };
}
