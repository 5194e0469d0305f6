import type { CallPrice, TokenCounts } from "@ballast/pricing";
import type { Attributes, Context, Histogram, Meter } from "@opentelemetry/api";
import { failedOnce, failureCounts, guard } from "./diag-once.js";
import * as semconv from "./semconv.js";

interface Series {
  attributes: Attributes;
  value: number;
}
const OVERFLOW = "\u0001overflow";

/**
 * A monotonic sum by request model, feature and (optionally) token kind, added up here and reported
 * when the SDK collects (an asynchronous counter). The exported series are a synchronous counter's,
 * but an add costs one Map lookup instead of the SDK sorting and serialising an attribute set: with
 * five token kinds and their prices, most of what a call's metrics cost.
 */
export class SumCounter {
  readonly #series = new Map<string, Series>();
  // memory stays bounded: past this many series (inside the SDK's default cardinality limit of 2000),
  // sums go to one series marked as the overflow, as the SDK's own counters do
  static readonly MAX_SERIES = 1000;

  constructor(meter: Meter, name: string, options: { description: string; unit: string }) {
    guard(`creating ${name}`, () =>
      meter.createObservableCounter(name, options).addCallback((result) => {
        for (const { value, attributes } of this.#series.values()) result.observe(value, attributes);
      }),
    );
  }

  add(value: number, model: string, feature = "", kind = ""): void {
    const key = `${model}\0${feature}\0${kind}`;
    const series = this.#series.get(key) ?? this.#create(key, model, feature, kind);
    series.value += value;
  }

  #create(key: string, model: string, feature: string, kind: string): Series {
    let series: Series | undefined;
    if (this.#series.size >= SumCounter.MAX_SERIES) {
      series = this.#series.get(OVERFLOW) ?? { attributes: { "otel.metric.overflow": true }, value: 0 };
      this.#series.set(OVERFLOW, series);
      return series;
    }
    const attributes: Attributes = { [semconv.ATTR_REQUEST_MODEL]: model };
    if (feature) attributes[semconv.ATTR_FEATURE] = feature;
    if (kind) attributes[semconv.ATTR_TOKEN_KIND] = kind;
    series = { attributes, value: 0 };
    this.#series.set(key, series);
    return series;
  }
}

/** One finished call, as its metrics count and label it (TELEMETRY.md); absent labels are `""`. */
export interface CallFigures {
  model: string;
  feature: string;
  provider: string;
  responseModel: string;
  stream: boolean;
  errorType: string;
  stopReason: string;
  /** seconds; `undefined` for a Message Batches result (the batch's timing is not the call's) */
  durationS: number | undefined;
  /** `undefined` when the call reported no usage (it failed, or the response cache replayed it) */
  tokens: TokenCounts | undefined;
  priced: CallPrice | undefined;
  missedUsd: number;
  /** seconds to the first content chunk of a stream */
  ttftS: number | undefined;
  /** the context the call was made in: what a View's attributes processor sees for its points */
  context: Context;
}

/** The labels of a call's points (TELEMETRY.md): time to first chunk, token usage, duration. */
function labelsOf(c: CallFigures): { ttfc: Attributes; op: Attributes; duration: Attributes } {
  const ttfc: Attributes = {
    [semconv.ATTR_OPERATION]: "chat",
    [semconv.ATTR_PROVIDER]: c.provider,
    [semconv.ATTR_REQUEST_MODEL]: c.model,
  };
  if (c.feature) ttfc[semconv.ATTR_FEATURE] = c.feature;
  const op: Attributes = { ...ttfc };
  if (c.responseModel) op[semconv.ATTR_RESPONSE_MODEL] = c.responseModel;
  if (c.stream) op[semconv.ATTR_REQUEST_STREAM] = true;
  const duration: Attributes = { ...op };
  if (c.errorType) duration[semconv.ATTR_ERROR_TYPE] = c.errorType;
  if (c.stopReason) duration[semconv.ATTR_STOP_REASON] = c.stopReason;
  return { ttfc, op, duration };
}

/** TELEMETRY.md's per-call metrics, recorded as each call ends. */
export class CallMetrics {
  readonly #duration: Histogram;
  readonly #tokenUsage: Histogram;
  readonly #ttfc: Histogram;
  readonly #tokens: SumCounter;
  readonly #cost: SumCounter;
  readonly #cacheSavings: SumCounter;
  readonly #missedSavings: SumCounter;

  constructor(meter: Meter) {
    this.#duration = meter.createHistogram(semconv.METRIC_DURATION, {
      description: "Duration of Claude API calls",
      unit: "s",
      advice: { explicitBucketBoundaries: semconv.DURATION_BUCKETS },
    });
    this.#tokenUsage = meter.createHistogram(semconv.METRIC_TOKEN_USAGE, {
      description: "Tokens per Claude API call (input includes cached tokens)",
      unit: "{token}",
      advice: { explicitBucketBoundaries: semconv.TOKEN_BUCKETS },
    });
    this.#ttfc = meter.createHistogram(semconv.METRIC_TTFC, {
      description: "Time from request to the first content chunk of a streamed reply",
      unit: "s",
      advice: { explicitBucketBoundaries: semconv.DURATION_BUCKETS },
    });
    const counter = (name: string, description: string, unit: string) =>
      new SumCounter(meter, name, { description, unit });
    this.#tokens = counter(
      semconv.METRIC_TOKENS,
      "Claude tokens by kind: input (uncached), cache_read, cache_write_5m, cache_write_1h, output",
      "{token}",
    );
    this.#cost = counter(semconv.METRIC_COST, "USD spent on Claude calls, by token kind", "USD");
    this.#cacheSavings = counter(
      semconv.METRIC_CACHE_SAVINGS,
      "USD that prompt-cache reads saved against the input price",
      "USD",
    );
    this.#missedSavings = counter(
      semconv.METRIC_MISSED_SAVINGS,
      "USD cache reads would have saved on repeated, cacheable prefixes sent without cache_control",
      "USD",
    );
    // Asynchronous: counting a failure never calls into a meter, which may be what failed.
    guard(`creating ${semconv.METRIC_TELEMETRY_FAILURES}`, () =>
      meter
        .createObservableCounter(semconv.METRIC_TELEMETRY_FAILURES, {
          description: "Steps of recording Claude calls that failed (the calls went on without them), by step",
          unit: "{failure}",
        })
        .addCallback((result) => {
          for (const [step, times] of failureCounts()) result.observe(times, { [semconv.ATTR_TELEMETRY_STEP]: step });
        }),
    );
  }

  /** Records a finished call; a point the SDK refuses costs that point only. */
  record(c: CallFigures): void {
    const labels = labelsOf(c);
    if (c.durationS !== undefined) point(this.#duration, c.durationS, labels.duration, c.context);
    const t = c.tokens;
    if (t) {
      const input = t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
      point(this.#tokenUsage, input, { ...labels.op, [semconv.ATTR_TOKEN_TYPE]: "input" }, c.context);
      point(this.#tokenUsage, t.output, { ...labels.op, [semconv.ATTR_TOKEN_TYPE]: "output" }, c.context);
      const usd = c.priced?.breakdown;
      const byKind: Array<[string, number, number | undefined]> = [
        ["input", t.input, usd?.input],
        ["cache_read", t.cacheRead, usd?.cacheRead],
        ["cache_write_5m", t.cacheWrite5m, usd?.cacheWrite5m],
        ["cache_write_1h", t.cacheWrite1h, usd?.cacheWrite1h],
        ["output", t.output, usd?.output],
      ];
      for (const [kind, tokens, kindUsd] of byKind) {
        if (tokens > 0) this.#tokens.add(tokens, c.model, c.feature, kind);
        if (kindUsd !== undefined && kindUsd > 0) this.#cost.add(kindUsd, c.model, c.feature, kind);
      }
      const saved = c.priced?.cacheSavingsUsd ?? 0;
      if (saved > 0) this.#cacheSavings.add(saved, c.model, c.feature);
    }
    if (c.missedUsd > 0) this.#missedSavings.add(c.missedUsd, c.model, c.feature);
    if (c.ttftS !== undefined) point(this.#ttfc, c.ttftS, labels.ttfc, c.context);
  }
}

/** A point into the SDK's histogram: one that throws costs that point only, not the call's counts. */
export function point(histogram: Histogram, value: number, attributes: Attributes, context?: Context): void {
  try {
    histogram.record(value, attributes, context);
  } catch (error) {
    failedOnce("recording a histogram point", error);
  }
}
