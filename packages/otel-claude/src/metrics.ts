import type { Attributes, Histogram, Meter } from "@opentelemetry/api";
import { guard } from "./diag-once.js";
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

/**
 * A monotonic sum added up here and reported when the SDK collects (an asynchronous counter): the
 * exported series are the same as a synchronous counter's, but a call costs one Map update per series
 * instead of the SDK sorting and serialising an attribute set for every `add` — the bulk of what a
 * call's metrics cost, with five token kinds and their prices per call.
 */
const OVERFLOW = "\u0000overflow";

export class SumCounter {
  readonly #series = new Map<string, { attributes: Attributes; value: number }>();
  // memory stays bounded: past this many series (well inside the SDK's default cardinality limit of
  // 2000), sums go to one series marked as the overflow, as the SDK's own counters do
  static readonly MAX_SERIES = 1000;

  constructor(meter: Meter, name: string, options: { description: string; unit: string }) {
    guard(`creating ${name}`, () =>
      meter.createObservableCounter(name, options).addCallback((result) => {
        for (const { value, attributes } of this.#series.values()) result.observe(value, attributes);
      }),
    );
  }

  /** Adds `value` to the series `key` names; `attributes` makes that series' attributes the first time. */
  add(value: number, key: string, attributes: () => Attributes): void {
    let series = this.#series.get(key);
    if (!series) {
      const full = this.#series.size >= SumCounter.MAX_SERIES;
      series = full ? this.#overflow() : { attributes: attributes(), value: 0 };
      if (!full) this.#series.set(key, series);
    }
    series.value += value;
  }

  #overflow(): { attributes: Attributes; value: number } {
    let series = this.#series.get(OVERFLOW);
    if (!series) {
      series = { attributes: { "otel.metric.overflow": true }, value: 0 };
      this.#series.set(OVERFLOW, series);
    }
    return series;
  }
}

export interface Instruments {
  duration: Histogram;
  tokenUsage: Histogram;
  ttfc: Histogram;
  tokens: SumCounter;
  cost: SumCounter;
  cacheSavings: SumCounter;
  missedSavings: SumCounter;
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
    tokens: new SumCounter(meter, METRIC_TOKENS, {
      description: "Claude tokens by kind: input (uncached), cache_read, cache_write_5m, cache_write_1h, output",
      unit: "{token}",
    }),
    cost: new SumCounter(meter, METRIC_COST, { description: "USD spent on Claude calls, by token kind", unit: "USD" }),
    cacheSavings: new SumCounter(meter, METRIC_CACHE_SAVINGS, {
      description: "USD that prompt-cache reads saved against the input price",
      unit: "USD",
    }),
    missedSavings: new SumCounter(meter, METRIC_MISSED_SAVINGS, {
      description: "USD cache reads would have saved on repeated, cacheable prefixes sent without cache_control",
      unit: "USD",
    }),
  };
}
