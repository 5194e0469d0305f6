// The least that TELEMETRY.md's contract asks of every Claude call through the OpenTelemetry SDKs, with none of
// Ballast's bookkeeping: what a span processor's onEnding does as each SDK span ends — it sets the six span attributes Ballast adds
// (fixed values, no pricing) and queues the call; each batch (512 calls, or 100 ms) then makes its histogram points
// (duration, input and output tokens, time to first chunk for streams) with attribute sets made once, and its log
// record. No call object, no context switch, no stream observation, no attribution, no counters: what any
// implementation of the contract pays at least, so bench/otel-overhead-ab.ts can set Ballast's cost against it.
import { semconv as c } from "@ballast/otel-claude";
import {
  type Attributes,
  type Context,
  context,
  type Histogram,
  type Logger,
  SeverityNumber,
  type Span,
  trace,
} from "@opentelemetry/api";
import type { LoggerProvider } from "@opentelemetry/sdk-logs";
import type { MeterProvider } from "@opentelemetry/sdk-metrics";
import { params } from "./claude-calls.ts";

interface EndingSpan {
  name: string;
  attributes: Attributes;
  setAttributes(attributes: Attributes): unknown;
  spanContext(): { traceId: string; spanId: string };
}
interface Queued {
  attributes: Attributes;
  traceId: string;
  spanId: string;
  /** the context the span ends in, with the span: the points' context, and the log record's trace and span ids */
  context: Context;
  endedAtMs: number;
}

const num = (v: unknown) => (typeof v === "number" ? v : 0);

export class ContractFloorProcessor {
  #queue: Queued[] = [];
  readonly #duration: Histogram;
  readonly #tokens: Histogram;
  readonly #ttfc: Histogram;
  readonly #logger: Logger;
  // the bench's calls all have one shape: one attribute set per point kind, made here
  readonly #sets: Record<"duration" | "input" | "output" | "ttfc", Attributes>;
  readonly #streamSets: Record<"duration" | "input" | "output" | "ttfc", Attributes>;

  constructor(meterProvider: MeterProvider, loggerProvider: LoggerProvider) {
    const meter = meterProvider.getMeter("contract-floor");
    const buckets = (b: number[]) => ({ advice: { explicitBucketBoundaries: b } });
    this.#duration = meter.createHistogram(c.METRIC_DURATION, { unit: "s", ...buckets(c.DURATION_BUCKETS) });
    this.#tokens = meter.createHistogram(c.METRIC_TOKEN_USAGE, { unit: "{token}", ...buckets(c.TOKEN_BUCKETS) });
    this.#ttfc = meter.createHistogram(c.METRIC_TTFC, { unit: "s", ...buckets(c.DURATION_BUCKETS) });
    this.#logger = loggerProvider.getLogger("contract-floor");
    const sets = (stream: boolean) => {
      const ttfc = { [c.ATTR_OPERATION]: "chat", [c.ATTR_PROVIDER]: "anthropic", [c.ATTR_REQUEST_MODEL]: params.model };
      const op = {
        ...ttfc,
        [c.ATTR_RESPONSE_MODEL]: params.model,
        ...(stream ? { [c.ATTR_REQUEST_STREAM]: true } : {}),
      };
      return {
        duration: { ...op, [c.ATTR_STOP_REASON]: "end_turn" },
        input: { ...op, [c.ATTR_TOKEN_TYPE]: "input" },
        output: { ...op, [c.ATTR_TOKEN_TYPE]: "output" },
        ttfc,
      };
    };
    this.#sets = sets(false);
    this.#streamSets = sets(true);
  }

  onEnding(span: EndingSpan): void {
    if (span.name !== c.SPAN_CREATE) return;
    const a = span.attributes;
    span.setAttributes({
      [c.ATTR_FINISH_REASONS]: [String(a[c.ATTR_STOP_REASON])],
      [c.ATTR_USAGE_CACHE_WRITE]: 0,
      [c.ATTR_USAGE_CACHE_CREATION]: 0,
      [c.ATTR_COST]: 0.001,
      [c.ATTR_CACHE_SAVINGS]: 0,
      [c.ATTR_PRICING_MODEL]: params.model,
    });
    const { traceId, spanId } = span.spanContext();
    const ctx = trace.setSpan(context.active(), span as unknown as Span);
    if (this.#queue.length === 0) setTimeout(this.#drain, 100).unref();
    this.#queue.push({ attributes: a, traceId, spanId, context: ctx, endedAtMs: Date.now() });
    if (this.#queue.length >= 512) this.#drain();
  }

  readonly #drain = (): void => {
    const queue = this.#queue;
    this.#queue = [];
    for (const q of queue) {
      const a = q.attributes;
      const sets = a[c.ATTR_REQUEST_STREAM] ? this.#streamSets : this.#sets;
      this.#duration.record(0.05, sets.duration, q.context);
      this.#tokens.record(num(a[c.ATTR_USAGE_INPUT]), sets.input, q.context);
      this.#tokens.record(num(a[c.ATTR_USAGE_OUTPUT]), sets.output, q.context);
      if (typeof a[c.ATTR_TTFC] === "number") this.#ttfc.record(a[c.ATTR_TTFC], sets.ttfc, q.context);
    }
    for (const q of queue) {
      const a = q.attributes;
      this.#logger.emit({
        eventName: c.LOG_EVENT,
        severityNumber: SeverityNumber.INFO,
        severityText: "INFO",
        timestamp: q.endedAtMs,
        context: q.context,
        body: {
          request_id: a[c.ATTR_REQUEST_ID] ?? null,
          timestamp: "2026-12-02T00:00:00.000Z",
          user_id: null,
          feature: null,
          provider: "anthropic",
          model: params.model,
          response_model: a[c.ATTR_RESPONSE_MODEL] ?? null,
          stream: a[c.ATTR_REQUEST_STREAM] === true,
          batch: false,
          input_tokens: num(a[c.ATTR_USAGE_INPUT]),
          output_tokens: num(a[c.ATTR_USAGE_OUTPUT]),
          cache_read_tokens: 0,
          cache_write_tokens: 0,
          cache_write_5m_tokens: 0,
          cache_write_1h_tokens: 0,
          latency_ms: 50,
          ttft_ms: null,
          cost_usd: 0.001,
          cache_savings_usd: 0,
          missed_savings_usd: null,
          stop_reason: a[c.ATTR_STOP_REASON] ?? null,
          retries: 0,
          outcome: "completed",
          error: null,
          trace_id: q.traceId,
          span_id: q.spanId,
        } as never,
      });
    }
  };
}
