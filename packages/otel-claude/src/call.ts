import { type UserCall, userCallFrom } from "@ballast/intercept";
import { type CallPrice, type PriceTable, priceCall, tokenCounts, type UsageLike } from "@ballast/pricing";
import {
  type Attributes,
  type Context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { attributionFrom } from "./attribution.js";
import { failedOnce } from "./diag-once.js";
import { addCostAttributes, usageFromAttributes, warnUnpriced } from "./enrich.js";
import type { CallMetrics } from "./metrics.js";
import type { ClaudeRun } from "./run.js";
import * as semconv from "./semconv.js";
import type { StreamEnd } from "./stream-observer.js";

type Json = Record<string, unknown>;
/** The fetch Response the SDK got, as far as Ballast reads it. */
export type SdkResponse = { headers?: { get(name: string): string | null } };
/** The SDK's span of a call as it ends, as far as Ballast reads it. */
export interface EndingSpan {
  attributes: Attributes;
  status?: { code: number };
}

/** The per-call log record (TELEMETRY.md), handed to `onCall` and emitted as `ballast.claude.call`. */
export interface ClaudeCallRecord {
  request_id: string | null;
  timestamp: string;
  user_id: string | null;
  feature: string | null;
  /** `gen_ai.conversation.id`: from `withClaudeContext`, or the SDK's `openTelemetry.conversationId` request option */
  conversation_id: string | null;
  /** the agent run the call was made in (a tool runner's, or `withClaudeRun`'s) */
  run_id: string | null;
  provider: string;
  model: string;
  response_model: string | null;
  stream: boolean;
  /** a Message Batches result, priced at the batch rate */
  batch: boolean;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  latency_ms: number;
  ttft_ms: number | null;
  cost_usd: number | null;
  cache_savings_usd: number | null;
  missed_savings_usd: number | null;
  stop_reason: string | null;
  retries: number;
  /** `completed`, `failed`, or for streams also `abandoned` (the caller stopped reading) and `aborted` */
  outcome: StreamEnd;
  error: string | null;
  trace_id: string | null;
  span_id: string | null;
}

export interface CallSettings {
  tracer: Tracer;
  metrics: CallMetrics;
  pricing: PriceTable | undefined;
  captureContent: { maxBytes: number } | undefined;
  /** `timeMs`: the record's `timestamp`, as epoch ms; `userCall`: the wrapped call this request was made for */
  emit(record: ClaudeCallRecord, ctx: Context, timeMs: number, userCall: UserCall | undefined): void;
  /** never throws (a problem goes to the diag logger once) */
  missedSavingsTokens(body: Json, model: string, now: number): number;
  /** the model id as a metric label, with bounded cardinality */
  metricModel(model: string): string;
}

const CALL_KEY = Symbol.for("ballast.claude.call");

/** sampling parameters the SDK's span leaves out: attribute and body field */
const SAMPLING = [
  [semconv.ATTR_REQUEST_TEMPERATURE, "temperature"],
  [semconv.ATTR_REQUEST_TOP_P, "top_p"],
  [semconv.ATTR_REQUEST_TOP_K, "top_k"],
] as const;

/** The call being made in `ctx`, for the span processor to attribute the SDK's own span. */
export function callFrom(ctx: Context): ClaudeCall | undefined {
  return ctx.getValue(CALL_KEY) as ClaudeCall | undefined;
}

/** `server.address` / `server.port` of a client's base URL. */
function serverOf(baseURL: unknown): Attributes {
  try {
    const url = new URL(String(baseURL));
    return {
      [semconv.ATTR_SERVER_ADDRESS]: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      [semconv.ATTR_SERVER_PORT]: url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443,
    };
  } catch {
    return {};
  }
}

/** `error.type` as the SDK's native tracing names it. */
export function errorType(error: unknown): string {
  const e = error as {
    constructor?: { name?: string };
    status?: number;
    error?: { error?: { type?: string } };
    type?: string;
  };
  const name = e?.constructor?.name ?? "";
  if (name === "APIConnectionTimeoutError") return "client_timeout_error";
  if (name === "APIConnectionError") return "connection_error";
  const type = e?.error?.error?.type ?? e?.type;
  if (typeof type === "string" && type) return type;
  if (typeof e?.status === "number") return String(e.status);
  return name || "Error";
}

function truncate(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  return bytes.length <= maxBytes ? text : `${bytes.subarray(0, maxBytes).toString("utf8")}…`;
}

/**
 * One Claude API call as Ballast observes it: metrics and the log record come from here, whatever the
 * trace sampler decides. On SDKs without native tracing it also owns the call's span.
 */
export class ClaudeCall {
  readonly context: Context;
  readonly startedAt = performance.now();
  readonly startedAtMs = Date.now();
  readonly model: string;
  readonly stream: boolean;
  readonly provider: string;
  readonly userId: string | undefined;
  readonly feature: string | undefined;
  readonly conversationId: string | undefined;
  readonly extraAttributes: Attributes;
  /** the agent run this call is one of */
  readonly run: ClaudeRun | undefined;
  /** the span of this call: the SDK's (linked by the span processor) or our own */
  span: Span | undefined;
  ownSpan = false;
  /** the span is the SDK's and ClaudeSpanProcessor sees it start and end */
  spanWatched = false;
  attempts = 0;

  #usage: Json | undefined;
  #stopReason: string | undefined;
  #responseModel: string | undefined;
  #responseId: string | undefined;
  #requestId: string | undefined;
  #responseCache: string | undefined;
  #ttftMs: number | undefined;
  #content: unknown[] | undefined;
  #streamResponse: SdkResponse | undefined;
  // a stream's: the caller's abort, told apart from the caller closing the stream
  #controller: AbortController | undefined;
  #sawStop = false;
  #finished = false;
  readonly #settings: CallSettings;
  readonly #body: Json;
  readonly #client: Json;
  // the call the user made on a wrapped client, which this request is one of
  readonly #userCall: UserCall | undefined;
  readonly #requestDone: (() => void) | undefined;

  /** a Message Batches result: priced at the batch rate, no duration (the batch's timing is not the call's) */
  readonly batch: boolean;

  constructor(
    settings: CallSettings,
    client: Json,
    body: Json,
    parent: Context,
    options: { batch?: boolean; conversationId?: unknown } = {},
  ) {
    this.#settings = settings;
    this.batch = options.batch === true;
    this.#body = body;
    this.#client = client;
    this.model = typeof body.model === "string" ? body.model : "unknown";
    this.stream = body.stream === true;
    this.provider = typeof client._genAIProviderName === "string" ? client._genAIProviderName : providerOf(client);
    const who = attributionFrom(parent);
    this.userId = who.userId;
    this.feature = who.feature;
    this.extraAttributes = who.attributes;
    this.conversationId = typeof options.conversationId === "string" ? options.conversationId : who.conversationId;
    // a run of this package (the only kind that adds up calls)
    this.run = typeof (who.run as ClaudeRun | undefined)?.addCall === "function" ? (who.run as ClaudeRun) : undefined;
    this.#userCall = this.batch ? undefined : userCallFrom(parent);
    this.#requestDone = this.#userCall?.begin();
    this.context = parent.setValue(CALL_KEY, this);
  }

  /** The request attributes of the SDK's native span, for our own span on SDKs that make none. */
  requestAttributes(): Attributes {
    const body = this.#body;
    const req: Attributes = {
      [semconv.ATTR_OPERATION]: "chat",
      [semconv.ATTR_PROVIDER]: this.provider,
      [semconv.ATTR_REQUEST_MODEL]: this.model,
      ...serverOf(this.#client.baseURL),
    };
    if (typeof body.max_tokens === "number") req[semconv.ATTR_REQUEST_MAX_TOKENS] = body.max_tokens;
    if (this.stream) req[semconv.ATTR_REQUEST_STREAM] = true;
    return req;
  }

  /**
   * Attributes Ballast adds at span start: attribution, and the sampling parameters the SDK leaves
   * out. `undefined` when there are none, as for most calls.
   */
  startAttributes(): Attributes | undefined {
    const body = this.#body;
    const sampled: Attributes = {};
    for (const [attribute, field] of SAMPLING) if (typeof body[field] === "number") sampled[attribute] = body[field];
    const none = (o: object) => Object.keys(o).length === 0;
    if (none(sampled) && !this.userId && !this.feature && !this.conversationId && none(this.extraAttributes))
      return undefined;
    const a: Attributes = { ...this.extraAttributes };
    if (this.userId) a[semconv.ATTR_USER_ID] = this.userId;
    if (this.feature) a[semconv.ATTR_FEATURE] = this.feature;
    if (this.conversationId) a[semconv.ATTR_CONVERSATION_ID] = this.conversationId;
    return Object.assign(a, sampled);
  }

  /** Our own span, shaped like the SDK's native one, for SDK versions that trace nothing. */
  startOwnSpan(): void {
    this.span = this.#settings.tracer.startSpan(
      semconv.SPAN_CREATE,
      { kind: SpanKind.CLIENT, attributes: { ...this.requestAttributes(), ...this.startAttributes() } },
      this.context,
    );
    this.ownSpan = true;
  }

  /**
   * The call is finished from its SDK span as that ends (`finishFromSpan`): the span holds what the
   * call's record needs, so its parsed body and stream events are not observed. Content capture reads
   * the reply's content from the response itself.
   */
  get endsWithSpan(): boolean {
    return this.spanWatched && !this.#settings.captureContent;
  }

  /** The HTTP response, before its body is parsed (a stream's request id is in its headers only). */
  onResponse({ response, controller }: { response?: SdkResponse; controller?: AbortController } = {}): void {
    if (this.stream) {
      this.#streamResponse = response;
      this.#controller = controller;
    }
    const cached = (response as Record<symbol, unknown> | undefined)?.[semconv.RESPONSE_REPLAYED];
    if (typeof cached === "string") {
      this.#responseCache = cached;
      // now, while the SDK's span is open: ClaudeSpanProcessor then leaves it unpriced
      if (this.span?.isRecording()) this.span.setAttribute(semconv.ATTR_RESPONSE_CACHE, cached);
    }
  }

  /**
   * The `request-id` header. Read only where no parsed Message carries it (`_request_id`, read in
   * onMessage): undici's `Headers.get` validates its argument on every call.
   */
  requestIdFrom(response: SdkResponse | undefined): void {
    const id = response?.headers?.get("request-id");
    if (id) this.#requestId = id;
  }

  onMessage(message: unknown): void {
    if (typeof message !== "object" || message === null) return;
    const m = message as Json;
    if (typeof m.id === "string") this.#responseId = m.id;
    if (typeof m.model === "string") this.#responseModel = m.model;
    if (typeof m.stop_reason === "string") this.#stopReason = m.stop_reason;
    // a stream's totals are updated in place by its message_delta, so it gets a copy
    if (typeof m.usage === "object" && m.usage !== null)
      this.#usage = this.stream ? { ...(m.usage as Json) } : (m.usage as Json);
    if (Array.isArray(m.content)) this.#content = m.content;
    if (typeof m._request_id === "string") this.#requestId = m._request_id;
  }

  onStreamEvent(event: unknown): void {
    const e = event as Json;
    switch (e?.type) {
      case "message_start":
        this.onMessage(e.message);
        // a placeholder until message_delta's final count (the SDK's span leaves it out too)
        if (this.#usage) this.#usage.output_tokens = 0;
        break;
      case "content_block_delta":
        this.#ttftMs ??= performance.now() - this.startedAt;
        break;
      case "message_stop":
        this.#sawStop = true;
        break;
      case "message_delta": {
        const delta = e.delta as Json | undefined;
        if (typeof delta?.stop_reason === "string") this.#stopReason = delta.stop_reason;
        const totals = e.usage as Json | undefined;
        if (totals && this.#usage) {
          for (const [key, value] of Object.entries(totals)) if (value != null) this.#usage[key] = value;
        }
        break;
      }
    }
  }

  /** Records the call once: metrics, the log record and (when it owns one) the span. Never throws. */
  finish(outcome: StreamEnd, error?: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    // an APIError carries the request id of the response that failed
    const failedId = (error as { requestID?: unknown } | undefined)?.requestID;
    if (typeof failedId === "string" && failedId) this.#requestId ??= failedId;
    if (this.#requestId === undefined && this.#streamResponse) {
      // The SDK's recording span has it from the headers already; read them only without one.
      const onSpan = (this.span as { attributes?: Attributes } | undefined)?.attributes?.[semconv.ATTR_REQUEST_ID];
      if (typeof onSpan === "string") this.#requestId = onSpan;
      else this.requestIdFrom(this.#streamResponse);
    }
    this.#recordOnce(outcome, outcome === "failed" ? errorType(error) : undefined);
  }

  /**
   * Finishes a stream as its reader saw it end. Server-sent events have no end of their own: a stream
   * that ends without `message_stop` was cut short, and fails as `api_error`, as the SDK's span says.
   */
  finishStream(how: StreamEnd, error?: unknown): void {
    if (how === "completed" && !this.#sawStop) this.finish("failed", { type: "api_error" });
    else this.finish(how, error);
  }

  /**
   * Finishes the call from its SDK span, called by ClaudeSpanProcessor as the span ends: the SDK has
   * recorded the usage, stop reason, request id, resends, time to first chunk and error type there.
   * The span's status gives the outcome; left unset, the caller aborted the call, or closed its
   * stream (`abandoned`): the SDK ends the span of a closed stream before the stream aborts its own
   * controller, so only the caller's abort shows on the controller here.
   */
  finishFromSpan(span: EndingSpan): void {
    if (this.#finished) return;
    this.#finished = true;
    const a = span.attributes;
    this.#usage = usageFromAttributes(a) as Json | undefined;
    this.#stopReason = text(a[semconv.ATTR_STOP_REASON]);
    this.#responseModel = text(a[semconv.ATTR_RESPONSE_MODEL]);
    this.#requestId = text(a[semconv.ATTR_REQUEST_ID]);
    const ttfc = a[semconv.ATTR_TTFC];
    if (typeof ttfc === "number") this.#ttftMs = ttfc * 1000;
    const resends = a[semconv.ATTR_RESEND_COUNT];
    this.attempts = 1 + (typeof resends === "number" ? resends : 0);
    const code = span.status?.code;
    const outcome: StreamEnd =
      code === SpanStatusCode.ERROR
        ? "failed"
        : code === SpanStatusCode.OK
          ? "completed"
          : this.stream && this.#controller?.signal.aborted === false
            ? "abandoned"
            : "aborted";
    this.#recordOnce(outcome, outcome === "failed" ? (text(a[semconv.ATTR_ERROR_TYPE]) ?? "client_error") : undefined);
  }

  #recordOnce(outcome: StreamEnd, errType: string | undefined): void {
    try {
      this.#record(outcome, errType);
    } catch (problem) {
      failedOnce("recording a call", problem);
    } finally {
      this.#requestDone?.();
    }
  }

  #record(outcome: StreamEnd, errType: string | undefined): void {
    const latencyMs = performance.now() - this.startedAt;
    // An answer the response cache replayed used no tokens: nothing is counted or priced.
    const usage = this.#responseCache ? undefined : this.#usage;
    const tokens = tokenCounts(usage);
    const { input, cacheRead: read, cacheWrite5m: w5m, cacheWrite1h: w1h, output } = tokens;
    const write = w5m + w1h;
    const priced = usage ? this.#price(usage) : undefined;
    const missedTokens = this.batch
      ? 0
      : this.#settings.missedSavingsTokens(this.#body, this.#responseModel ?? this.model, this.startedAtMs);
    const missedUsd = missedTokens ? this.#missedUsd(missedTokens) : 0;

    this.#settings.metrics.record({
      model: this.#settings.metricModel(this.model),
      feature: this.feature ?? "",
      provider: this.provider,
      responseModel: this.#settings.metricModel(this.#responseModel ?? ""),
      stream: this.stream,
      errorType: errType ?? "",
      stopReason: this.#stopReason ?? "",
      durationS: this.batch ? undefined : latencyMs / 1000,
      tokens: usage ? tokens : undefined,
      priced,
      missedUsd,
      ttftS: this.#ttftMs === undefined ? undefined : this.#ttftMs / 1000,
      context: this.context,
    });

    if (this.span && this.#settings.captureContent) this.#captureContent(this.span);
    if (this.span) {
      // Priced once, here: the span gets this call's price, so ClaudeSpanProcessor has nothing left to do.
      const enrichment = this.#enrichment(priced, write);
      if (this.ownSpan) this.#endOwnSpan(errType, outcome, { input, read, w5m, w1h, output }, enrichment);
      else if (this.span.isRecording()) this.span.setAttributes(enrichment);
    }

    this.run?.addCall({ model: this.model, tokens: usage ? tokens : undefined, costUsd: priced?.usd });

    const spanContext = this.span?.spanContext();
    this.#settings.emit(
      {
        request_id: this.#requestId ?? null,
        timestamp: new Date(this.startedAtMs).toISOString(),
        user_id: this.userId ?? null,
        feature: this.feature ?? null,
        conversation_id: this.conversationId ?? null,
        run_id: this.run?.id ?? null,
        provider: this.provider,
        model: this.model,
        response_model: this.#responseModel ?? null,
        stream: this.stream,
        batch: this.batch,
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_write_tokens: write,
        cache_write_5m_tokens: w5m,
        cache_write_1h_tokens: w1h,
        latency_ms: this.batch ? 0 : Math.round(latencyMs),
        ttft_ms: this.#ttftMs === undefined ? null : Math.round(this.#ttftMs),
        cost_usd: priced ? priced.usd : null,
        cache_savings_usd: priced ? priced.cacheSavingsUsd : null,
        missed_savings_usd: missedUsd > 0 ? missedUsd : null,
        stop_reason: this.#stopReason ?? null,
        retries: Math.max(0, this.attempts - 1),
        outcome,
        error: errType ?? null,
        trace_id: spanContext?.traceId ?? null,
        span_id: spanContext?.spanId ?? null,
      },
      this.span ? trace.setSpan(this.context, this.span) : this.context,
      this.startedAtMs,
      this.#userCall,
    );
  }

  #price(usage: UsageLike): CallPrice | undefined {
    const model = this.#responseModel ?? this.model;
    const price = priceCall({ model, usage, batch: this.batch }, this.#settings.pricing);
    if (!price) warnUnpriced(model);
    return price;
  }

  /** What cache reads of `tokens` would have saved: the savings of the same tokens read from cache. */
  #missedUsd(tokens: number): number {
    const model = this.#responseModel ?? this.model;
    return (
      priceCall({ model, usage: { cache_read_input_tokens: tokens } }, this.#settings.pricing)?.cacheSavingsUsd ?? 0
    );
  }

  /** finish_reasons, the semconv aliases of the cache-write count, and the cost (TELEMETRY.md). */
  #enrichment(priced: CallPrice | undefined, write: number): Attributes {
    const a: Attributes = {};
    if (this.#stopReason) a[semconv.ATTR_FINISH_REASONS] = [this.#stopReason];
    if (this.#responseCache) a[semconv.ATTR_RESPONSE_CACHE] = this.#responseCache;
    else if (this.#usage) {
      a[semconv.ATTR_USAGE_CACHE_WRITE] = write;
      a[semconv.ATTR_USAGE_CACHE_CREATION] = write;
      addCostAttributes(a, priced);
    }
    return a;
  }

  /** Ends our own span (SDKs without native tracing) with the SDK's attribute names. */
  #endOwnSpan(
    errType: string | undefined,
    outcome: StreamEnd,
    t: { input: number; read: number; w5m: number; w1h: number; output: number },
    enrichment: Attributes,
  ): void {
    const span = this.span as Span;
    const a: Attributes = { ...enrichment };
    if (this.#responseId) a[semconv.ATTR_RESPONSE_ID] = this.#responseId;
    if (this.#responseModel) a[semconv.ATTR_RESPONSE_MODEL] = this.#responseModel;
    if (this.#requestId) a[semconv.ATTR_REQUEST_ID] = this.#requestId;
    if (this.#stopReason) a[semconv.ATTR_STOP_REASON] = this.#stopReason;
    if (this.#ttftMs !== undefined) a[semconv.ATTR_TTFC] = this.#ttftMs / 1000;
    if (this.attempts > 1) a[semconv.ATTR_RESEND_COUNT] = this.attempts - 1;
    if (this.#usage) {
      a[semconv.ATTR_USAGE_INPUT] = t.input + t.read + t.w5m + t.w1h;
      a[semconv.ATTR_USAGE_OUTPUT] = t.output;
      a[semconv.ATTR_USAGE_CACHE_READ] = t.read;
      a[semconv.ATTR_USAGE_5M] = t.w5m;
      a[semconv.ATTR_USAGE_1H] = t.w1h;
    }
    span.setAttributes(a);
    if (errType) {
      span.setAttribute(semconv.ATTR_ERROR_TYPE, errType);
      span.setStatus({ code: SpanStatusCode.ERROR });
    } else if (outcome === "completed") span.setStatus({ code: SpanStatusCode.OK });
    span.end();
  }

  #captureContent(span: Span): void {
    if (!span.isRecording() || !this.#settings.captureContent) return;
    const max = this.#settings.captureContent.maxBytes;
    const put = (key: string, value: unknown) => {
      if (value !== undefined)
        span.setAttribute(key, truncate(typeof value === "string" ? value : JSON.stringify(value), max));
    };
    put(semconv.ATTR_SYSTEM_INSTRUCTIONS, this.#body.system);
    put(semconv.ATTR_INPUT_MESSAGES, this.#body.messages);
    if (this.#content) put(semconv.ATTR_OUTPUT_MESSAGES, [{ role: "assistant", parts: this.#content }]);
  }
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function providerOf(client: Json): string {
  const name = (client.constructor as { name?: string } | undefined)?.name ?? "";
  if (/bedrock/i.test(name)) return "aws.bedrock";
  if (/vertex/i.test(name)) return "gcp.vertex_ai";
  return "anthropic";
}
