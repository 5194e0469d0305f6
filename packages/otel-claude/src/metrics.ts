import type { CallPrice, TokenCounts } from "@ballast/pricing";
import type { Attributes, Context, Histogram, Meter } from "@opentelemetry/api";
import { failedOnce, failureCounts, guard } from "./diag-once.js";
import {
  ATTR_ERROR_TYPE,
  ATTR_FEATURE,
  ATTR_OPERATION,
  ATTR_PROVIDER,
  ATTR_REQUEST_MODEL,
  ATTR_REQUEST_STREAM,
  ATTR_RESPONSE_MODEL,
  ATTR_STOP_REASON,
  ATTR_TELEMETRY_STEP,
  ATTR_TOKEN_KIND,
  ATTR_TOKEN_TYPE,
  DURATION_BUCKETS,
  METRIC_CACHE_SAVINGS,
  METRIC_COST,
  METRIC_DURATION,
  METRIC_MISSED_SAVINGS,
  METRIC_TELEMETRY_FAILURES,
  METRIC_TOKEN_USAGE,
  METRIC_TOKENS,
  METRIC_TTFC,
  TOKEN_BUCKETS,
} from "./semconv.js";

interface Series {
  attributes: Attributes;
  value: number;
}

/**
 * A monotonic sum by request model, feature and (optionally) token kind, added up here and reported
 * when the SDK collects (an asynchronous counter). The exported series are a synchronous counter's,
 * but an add costs three Map lookups on strings the call already has, instead of the SDK sorting and
 * serialising an attribute set per add: with five token kinds and their prices, most of what a call's
 * metrics cost.
 */
export class SumCounter {
  // model → feature ("" for none) → kind ("" for none)
  readonly #series = new Map<string, Map<string, Map<string, Series>>>();
  readonly #all: Series[] = [];
  #overflow: Series | undefined;
  // memory stays bounded: past this many series (well inside the SDK's default cardinality limit of
  // 2000), sums go to one series marked as the overflow, as the SDK's own counters do
  static readonly MAX_SERIES = 1000;

  /** `beforeCollect` runs first in each collection: queued calls go in before the SDK reads anything. */
  constructor(meter: Meter, name: string, options: { description: string; unit: string }, beforeCollect?: () => void) {
    guard(`creating ${name}`, () =>
      meter.createObservableCounter(name, options).addCallback((result) => {
        beforeCollect?.();
        for (const { value, attributes } of this.#all) result.observe(value, attributes);
      }),
    );
  }

  add(value: number, model: string, feature = "", kind = ""): void {
    const series = this.#series.get(model)?.get(feature)?.get(kind) ?? this.#create(model, feature, kind);
    series.value += value;
  }

  #create(model: string, feature: string, kind: string): Series {
    if (this.#all.length >= SumCounter.MAX_SERIES) return this.#overflowSeries(); // and remember nothing more
    const attributes: Attributes = { [ATTR_REQUEST_MODEL]: model };
    if (feature) attributes[ATTR_FEATURE] = feature;
    if (kind) attributes[ATTR_TOKEN_KIND] = kind;
    const series = { attributes, value: 0 };
    this.#all.push(series);
    let byFeature = this.#series.get(model);
    if (!byFeature) {
      byFeature = new Map();
      this.#series.set(model, byFeature);
    }
    let byKind = byFeature.get(feature);
    if (!byKind) {
      byKind = new Map();
      byFeature.set(feature, byKind);
    }
    byKind.set(kind, series);
    return series;
  }

  #overflowSeries(): Series {
    if (!this.#overflow) {
      this.#overflow = { attributes: { "otel.metric.overflow": true }, value: 0 };
      this.#all.push(this.#overflow);
    }
    return this.#overflow;
  }
}

/** What a call's metrics are labelled with (TELEMETRY.md); absent parts are `""`. */
interface CallShape {
  model: string;
  feature: string;
  provider: string;
  responseModel: string;
  stream: boolean;
  errorType: string;
  stopReason: string;
}

/** One finished call, as its metrics count it. */
export interface CallFigures extends CallShape {
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

/** The attribute sets of one shape of call: the duration, token usage and time-to-first-chunk points. */
interface CallAttributes {
  duration: Attributes;
  input: Attributes;
  output: Attributes;
  ttfc: Attributes;
}

/**
 * The histogram attribute sets, made once per shape of call and reused: a call then allocates none
 * of its own for its metrics (the SDK still hashes each set per point). Cleared when it passes
 * MAX_SHAPES, so memory stays bounded whatever the models and features.
 */
class CallAttributeCache {
  readonly #sets = new Map<string, CallAttributes>();
  // most calls have the shape of the call before them: that one is found without building a key
  #last: { shape: CallShape; sets: CallAttributes } | undefined;
  static readonly MAX_SHAPES = 2000;

  get(c: CallShape): CallAttributes {
    const last = this.#last;
    if (last && sameShape(last.shape, c)) return last.sets;
    const key = `${c.model}\0${c.feature}\0${c.provider}\0${c.responseModel}\0${c.stream}\0${c.errorType}\0${c.stopReason}`;
    let sets = this.#sets.get(key);
    if (!sets) {
      sets = attributeSets(c);
      if (this.#sets.size >= CallAttributeCache.MAX_SHAPES) this.#sets.clear();
      this.#sets.set(key, sets);
    }
    // a copy of the shape alone: the call's figures (and the context they hold) are not kept
    const { model, feature, provider, responseModel, stream, errorType, stopReason } = c;
    this.#last = { shape: { model, feature, provider, responseModel, stream, errorType, stopReason }, sets };
    return sets;
  }
}

function sameShape(a: CallShape, b: CallShape): boolean {
  return (
    a.model === b.model &&
    a.feature === b.feature &&
    a.provider === b.provider &&
    a.responseModel === b.responseModel &&
    a.stream === b.stream &&
    a.errorType === b.errorType &&
    a.stopReason === b.stopReason
  );
}

function attributeSets(c: CallShape): CallAttributes {
  const ttfc: Attributes = { [ATTR_OPERATION]: "chat", [ATTR_PROVIDER]: c.provider, [ATTR_REQUEST_MODEL]: c.model };
  if (c.feature) ttfc[ATTR_FEATURE] = c.feature;
  const op: Attributes = { ...ttfc };
  if (c.responseModel) op[ATTR_RESPONSE_MODEL] = c.responseModel;
  if (c.stream) op[ATTR_REQUEST_STREAM] = true;
  const duration: Attributes = { ...op };
  if (c.errorType) duration[ATTR_ERROR_TYPE] = c.errorType;
  if (c.stopReason) duration[ATTR_STOP_REASON] = c.stopReason;
  return {
    duration,
    input: { ...op, [ATTR_TOKEN_TYPE]: "input" },
    output: { ...op, [ATTR_TOKEN_TYPE]: "output" },
    ttfc,
  };
}

/**
 * TELEMETRY.md's per-call metrics. A finished call is queued and the metrics get calls in batches:
 * DRAIN_MS after the first one, at once past MAX_QUEUED calls, and before every collection (each
 * summed counter's callback drains first, so a `forceFlush` or shutdown right after a call has it).
 * Against the same work done as each call ends, between its network and parsing work, a batch runs
 * in warm caches: the SDK's sorting and serialising of each histogram point's attributes, the
 * attribute-set and series lookups. The call path itself only pushes its figures.
 */
export class CallMetrics {
  // two arrays used in turn: no allocation per batch
  #queued: CallFigures[] = [];
  #spare: CallFigures[] = [];
  readonly #attributes = new CallAttributeCache();
  readonly #duration: Histogram;
  readonly #tokenUsage: Histogram;
  readonly #ttfc: Histogram;
  readonly #tokens: SumCounter;
  readonly #cost: SumCounter;
  readonly #cacheSavings: SumCounter;
  readonly #missedSavings: SumCounter;
  static readonly MAX_QUEUED = 512;
  static readonly DRAIN_MS = 100;

  constructor(meter: Meter) {
    this.#duration = meter.createHistogram(METRIC_DURATION, {
      description: "Duration of Claude API calls",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.#tokenUsage = meter.createHistogram(METRIC_TOKEN_USAGE, {
      description: "Tokens per Claude API call (input includes cached tokens)",
      unit: "{token}",
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    });
    this.#ttfc = meter.createHistogram(METRIC_TTFC, {
      description: "Time from request to the first content chunk of a streamed reply",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    const counter = (name: string, description: string, unit: string) =>
      new SumCounter(meter, name, { description, unit }, this.drain);
    this.#tokens = counter(
      METRIC_TOKENS,
      "Claude tokens by kind: input (uncached), cache_read, cache_write_5m, cache_write_1h, output",
      "{token}",
    );
    this.#cost = counter(METRIC_COST, "USD spent on Claude calls, by token kind", "USD");
    this.#cacheSavings = counter(
      METRIC_CACHE_SAVINGS,
      "USD that prompt-cache reads saved against the input price",
      "USD",
    );
    this.#missedSavings = counter(
      METRIC_MISSED_SAVINGS,
      "USD cache reads would have saved on repeated, cacheable prefixes sent without cache_control",
      "USD",
    );
    // Asynchronous: counting a failure never calls into a meter, which may be what failed.
    guard(`creating ${METRIC_TELEMETRY_FAILURES}`, () =>
      meter
        .createObservableCounter(METRIC_TELEMETRY_FAILURES, {
          description: "Steps of recording Claude calls that failed (the calls went on without them), by step",
          unit: "{failure}",
        })
        .addCallback((result) => {
          this.drain(); // the queued calls' failures count in this collection
          for (const [step, times] of failureCounts()) result.observe(times, { [ATTR_TELEMETRY_STEP]: step });
        }),
    );
  }

  record(call: CallFigures): void {
    if (this.#queued.length === 0) setTimeout(this.drain, CallMetrics.DRAIN_MS).unref();
    this.#queued.push(call);
    if (this.#queued.length >= CallMetrics.MAX_QUEUED) this.drain();
  }

  readonly drain = (): void => {
    const calls = this.#queued;
    if (calls.length === 0) return;
    this.#queued = this.#spare;
    for (const call of calls) {
      try {
        this.#count(call);
      } catch (error) {
        failedOnce("recording a call's metrics", error);
      }
    }
    calls.length = 0;
    this.#spare = calls;
  };

  #count(c: CallFigures): void {
    const sets = this.#attributes.get(c);
    if (c.durationS !== undefined) point(this.#duration, c.durationS, sets.duration, c.context);
    const t = c.tokens;
    if (t) {
      point(this.#tokenUsage, t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h, sets.input, c.context);
      point(this.#tokenUsage, t.output, sets.output, c.context);
      const usd = c.priced?.breakdown;
      this.#kind(c, "input", t.input, usd?.input);
      this.#kind(c, "cache_read", t.cacheRead, usd?.cacheRead);
      this.#kind(c, "cache_write_5m", t.cacheWrite5m, usd?.cacheWrite5m);
      this.#kind(c, "cache_write_1h", t.cacheWrite1h, usd?.cacheWrite1h);
      this.#kind(c, "output", t.output, usd?.output);
      const saved = c.priced?.cacheSavingsUsd ?? 0;
      if (saved > 0) this.#cacheSavings.add(saved, c.model, c.feature);
    }
    if (c.missedUsd > 0) this.#missedSavings.add(c.missedUsd, c.model, c.feature);
    if (c.ttftS !== undefined) point(this.#ttfc, c.ttftS, sets.ttfc, c.context);
  }

  /** One token kind's tokens and USD into `ballast.claude.tokens` and `gen_ai.usage.cost`. */
  #kind(c: CallShape, kind: string, tokens: number, usd: number | undefined): void {
    if (tokens > 0) this.#tokens.add(tokens, c.model, c.feature, kind);
    if (usd !== undefined && usd > 0) this.#cost.add(usd, c.model, c.feature, kind);
  }
}

/** A point into the SDK's histogram: one that throws costs that point only, not the call's counts. */
function point(histogram: Histogram, value: number, attributes: Attributes, context: Context): void {
  try {
    histogram.record(value, attributes, context);
  } catch (error) {
    failedOnce("recording a histogram point", error);
  }
}
