import type { Attributes, Histogram, Meter } from "@opentelemetry/api";
import { guard, warnOnce } from "./diag-once.js";
import {
  ATTR_ERROR_TYPE,
  ATTR_FEATURE,
  ATTR_OPERATION,
  ATTR_PROVIDER,
  ATTR_REQUEST_MODEL,
  ATTR_REQUEST_STREAM,
  ATTR_RESPONSE_MODEL,
  ATTR_STOP_REASON,
  ATTR_TOKEN_KIND,
  ATTR_TOKEN_TYPE,
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

  /** `beforeCollect` runs first in each collection: queued histogram points go in before the SDK reads them. */
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

/** What a call records into a histogram. */
export type HistogramPoints = Pick<Histogram, "record">;

/**
 * Histogram points that calls queue and the SDK gets in batches: DRAIN_MS after the first one, before
 * every collection (the first summed counter's callback) and at once past MAX_QUEUED points. The SDK
 * sorts and serialises each point's attributes, most of what a call's metrics cost, and that code
 * runs several times faster many points in a row than once between a call's network and parsing
 * work. Nothing is lost: a collection, the one at shutdown included, takes the whole queue first.
 */
export class PointQueue {
  // histogram, value, attributes, histogram, …: no object per point; two arrays used in turn
  #points: unknown[] = [];
  #spare: unknown[] = [];
  static readonly MAX_QUEUED = 512;
  static readonly DRAIN_MS = 100;

  readonly drain = (): void => {
    const points = this.#points;
    if (points.length === 0) return;
    this.#points = this.#spare;
    for (let i = 0; i < points.length; i += 3) {
      try {
        (points[i] as Histogram).record(points[i + 1] as number, points[i + 2] as Attributes);
      } catch (error) {
        warnOnce("histogram", "recording a histogram point failed; the call goes on without it", error);
      }
    }
    points.length = 0;
    this.#spare = points;
  };

  /** `histogram`, its points queued. */
  of(histogram: Histogram): HistogramPoints {
    return { record: (value, attributes) => this.#push(histogram, value, attributes) };
  }

  #push(histogram: Histogram, value: number, attributes: Attributes | undefined): void {
    if (this.#points.length === 0) setTimeout(this.drain, PointQueue.DRAIN_MS).unref();
    this.#points.push(histogram, value, attributes);
    if (this.#points.length >= 3 * PointQueue.MAX_QUEUED) this.drain();
  }
}

/** What a call's histogram points are labelled with (TELEMETRY.md); absent parts are `""`. */
export interface CallShape {
  model: string;
  feature: string;
  provider: string;
  responseModel: string;
  stream: boolean;
  errorType: string;
  stopReason: string;
}

/** The attribute sets of one shape of call: the duration, token usage and time-to-first-chunk points. */
export interface CallAttributes {
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
export class CallAttributeCache {
  readonly #sets = new Map<string, CallAttributes>();
  static readonly MAX_SHAPES = 2000;

  get(c: CallShape): CallAttributes {
    const key = `${c.model}\0${c.feature}\0${c.provider}\0${c.responseModel}\0${c.stream}\0${c.errorType}\0${c.stopReason}`;
    let sets = this.#sets.get(key);
    if (!sets) {
      sets = attributeSets(c);
      if (this.#sets.size >= CallAttributeCache.MAX_SHAPES) this.#sets.clear();
      this.#sets.set(key, sets);
    }
    return sets;
  }
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

export interface Instruments {
  duration: HistogramPoints;
  tokenUsage: HistogramPoints;
  ttfc: HistogramPoints;
  tokens: SumCounter;
  cost: SumCounter;
  cacheSavings: SumCounter;
  missedSavings: SumCounter;
  attributes: CallAttributeCache;
}

export function createInstruments(meter: Meter): Instruments {
  const queue = new PointQueue();
  return {
    duration: queue.of(
      meter.createHistogram(METRIC_DURATION, {
        description: "Duration of Claude API calls",
        unit: "s",
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
      }),
    ),
    tokenUsage: queue.of(
      meter.createHistogram(METRIC_TOKEN_USAGE, {
        description: "Tokens per Claude API call (input includes cached tokens)",
        unit: "{token}",
        advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
      }),
    ),
    ttfc: queue.of(
      meter.createHistogram(METRIC_TTFC, {
        description: "Time from request to the first content chunk of a streamed reply",
        unit: "s",
        advice: { explicitBucketBoundaries: DURATION_BUCKETS },
      }),
    ),
    tokens: new SumCounter(
      meter,
      METRIC_TOKENS,
      {
        description: "Claude tokens by kind: input (uncached), cache_read, cache_write_5m, cache_write_1h, output",
        unit: "{token}",
      },
      queue.drain,
    ),
    cost: new SumCounter(meter, METRIC_COST, { description: "USD spent on Claude calls, by token kind", unit: "USD" }),
    cacheSavings: new SumCounter(meter, METRIC_CACHE_SAVINGS, {
      description: "USD that prompt-cache reads saved against the input price",
      unit: "USD",
    }),
    missedSavings: new SumCounter(meter, METRIC_MISSED_SAVINGS, {
      description: "USD cache reads would have saved on repeated, cacheable prefixes sent without cache_control",
      unit: "USD",
    }),
    attributes: new CallAttributeCache(),
  };
}
