import { isAbortError, scopeFrom } from "@ballast/intercept";
import { PRICE_TABLE, type PriceTable, resolvePriceEntry } from "@ballast/pricing";
import { type Context, context, SeverityNumber, type Span, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  InstrumentationBase,
  type InstrumentationConfig,
  InstrumentationNodeModuleDefinition,
  isWrapped,
} from "@opentelemetry/instrumentation";
import { type CallSettings, ClaudeCall, type ClaudeCallRecord, callFrom, errorType, type SdkResponse } from "./call.js";
import { failedOnce, guard } from "./diag-once.js";
import { CallMetrics } from "./metrics.js";
import { MissedCacheDetector } from "./missed-savings.js";
import { ModelLabels } from "./model-labels.js";
import { ClaudeRun, type ClaudeRunRecord, type RunSettings, recordRunsWith } from "./run.js";
import { RunMetrics } from "./run-metrics.js";
import { sdkModulesInUse } from "./sdk-module.js";
import {
  ATTR_ERROR_TYPE,
  ATTR_PROVIDER,
  ATTR_REQUEST_MODEL,
  LOG_EVENT,
  LOG_EVENT_RUN,
  SPAN_COUNT_TOKENS,
} from "./semconv.js";
import { watchSpan } from "./span-processor.js";
import { observeStream } from "./stream-observer.js";
import { type RecordedRequest, UserCallRecords } from "./user-call-record.js";
import { VERSION } from "./version.js";

export interface ClaudeInstrumentationConfig extends InstrumentationConfig {
  /** record prompts and replies on spans (`gen_ai.input.messages` …), truncated; off by default */
  captureContent?: boolean | { maxBytes?: number };
  /** the price table for costs; default `PRICE_TABLE` from `@ballast/pricing` */
  pricing?: PriceTable;
  /** called with every call's log record, e.g. to log it with pino; errors it throws are contained */
  onCall?: (record: ClaudeCallRecord) => void;
  /** called with every agent run's log record (a tool runner's loop, or `withClaudeRun`) */
  onRun?: (record: ClaudeRunRecord) => void;
}

const DEFAULT_CONTENT_BYTES = 16_384;
const fetchWrapped = new WeakSet<object>();
// Module-level because the base class calls enable() and _updateMetricInstruments() from its
// constructor, before this class's own fields exist.
const metricsOf = new WeakMap<object, CallMetrics>();
const runMetricsOf = new WeakMap<object, RunMetrics>();
const manualModules = new WeakMap<object, Set<unknown>>();
const settingsOf = new WeakMap<object, CallSettings>();
const runSettingsOf = new WeakMap<object, RunSettings>();
const constructed = new WeakSet<object>();
let loaderHooks = false;

/** `register`'s loader hooks patch the SDK as the app imports it: instrumentations made from now on leave it to them. */
export function useLoaderHooks(): void {
  loaderHooks = true;
}

type Json = Record<string, unknown>;
type AnyFn = (this: unknown, ...args: unknown[]) => unknown;
interface SdkPromise {
  responsePromise?: Promise<{ response?: SdkResponse; controller?: AbortController }>;
  parseResponse?: AnyFn;
  parsedPromise?: unknown;
}

function validate(config: ClaudeInstrumentationConfig): ClaudeInstrumentationConfig {
  const c = config.captureContent;
  if (c !== undefined && typeof c !== "boolean") {
    const max = (c as { maxBytes?: unknown })?.maxBytes;
    if (
      typeof c !== "object" ||
      c === null ||
      (max !== undefined && !(Number.isInteger(max) && (max as number) >= 1))
    ) {
      throw new TypeError(
        `ClaudeInstrumentation: \`captureContent\` must be a boolean or { maxBytes: integer ≥ 1 }; got ${JSON.stringify(c)}`,
      );
    }
  }
  for (const hook of ["onCall", "onRun"] as const) {
    if (config[hook] !== undefined && typeof config[hook] !== "function") {
      throw new TypeError(`ClaudeInstrumentation: \`${hook}\` must be a function (record) => void`);
    }
  }
  if (
    config.pricing !== undefined &&
    (typeof config.pricing !== "object" || typeof config.pricing?.entries !== "object")
  ) {
    throw new TypeError("ClaudeInstrumentation: `pricing` must be a price table (PRICE_TABLE or withPrices(...))");
  }
  return config;
}

/**
 * Observes every Messages API call of `@anthropic-ai/sdk` (and the Bedrock and Vertex clients, which
 * share its `Messages` resource): metrics and the per-call log record, and a span shaped like the SDK's
 * own on versions that do not trace natively. Pair it with `ClaudeSpanProcessor` for costs and
 * attribution on natively traced spans.
 */
export class ClaudeInstrumentation extends InstrumentationBase<ClaudeInstrumentationConfig> {
  #missed: MissedCacheDetector | undefined;
  #modelLabels: ModelLabels | undefined;
  readonly #userCallRecords = new UserCallRecords((request) => this.#emit(request));

  constructor(config: ClaudeInstrumentationConfig = {}) {
    super("@ballast/otel-claude", VERSION, validate(config));
    constructed.add(this);
    if (this.isEnabled()) {
      this.#patchImported();
      recordRunsWith(this, () => this.#runSettings());
    }
  }

  override setConfig(config: ClaudeInstrumentationConfig = {}): void {
    super.setConfig(validate(config));
    settingsOf.delete(this);
    runSettingsOf.delete(this);
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        "@anthropic-ai/sdk",
        [">=0.30.0 <2"],
        (exports) => {
          this.#patch(exports);
          return exports;
        },
        (exports) => {
          if (exports) this.#unpatch(exports);
        },
      ),
    ];
  }

  // Called by the base class constructor (before this class's fields exist) and on setMeterProvider.
  protected override _updateMetricInstruments(): void {
    metricsOf.set(this, new CallMetrics(this.meter));
    runMetricsOf.set(this, new RunMetrics(this.meter));
    settingsOf.delete(this);
    runSettingsOf.delete(this);
  }

  /** Patches an `@anthropic-ai/sdk` module object you loaded yourself (bundlers, tests, no loader hooks). */
  manuallyInstrument(sdk: unknown): void {
    const modules = manualModules.get(this) ?? new Set();
    manualModules.set(this, modules);
    modules.add(sdk);
    if (this.isEnabled()) this.#patch(sdk);
  }

  override enable(): void {
    super.enable();
    // the base class's constructor enables it before this class's private methods exist
    if (!constructed.has(this)) return;
    for (const sdk of manualModules.get(this) ?? []) this.#patch(sdk);
    this.#patchImported();
    recordRunsWith(this, () => this.#runSettings());
  }

  /**
   * An ESM app's `import` of the SDK passes the require hook by, as does a `require` made before this: those
   * modules are patched here. Under the loader hooks (`register`) none is loaded here first: the app's hooked
   * import would be another copy.
   */
  #patchImported(): void {
    if (!loaderHooks) for (const sdk of sdkModulesInUse()) this.manuallyInstrument(sdk);
  }

  override disable(): void {
    super.disable();
    recordRunsWith(this, undefined);
    for (const sdk of manualModules.get(this) ?? []) this.#unpatch(sdk);
  }

  #patch(sdk: unknown): void {
    guard("patching @anthropic-ai/sdk", () => {
      for (const proto of this.#prototypes(sdk)) {
        if (typeof proto.create === "function" && !isWrapped(proto.create)) {
          this._wrap(proto, "create", ((original: AnyFn) => this.#wrapCreate(original)) as never);
        }
        if (typeof proto.countTokens === "function" && !isWrapped(proto.countTokens)) {
          this._wrap(proto, "countTokens", ((original: AnyFn) => this.#wrapCountTokens(original)) as never);
        }
        if (typeof proto.toolRunner === "function" && !isWrapped(proto.toolRunner)) {
          this._wrap(proto, "toolRunner", ((original: AnyFn) => this.#wrapToolRunner(original)) as never);
        }
      }
      for (const proto of this.#batchPrototypes(sdk)) {
        if (typeof proto.results === "function" && !isWrapped(proto.results)) {
          this._wrap(proto, "results", ((original: AnyFn) => this.#wrapBatchResults(original)) as never);
        }
      }
    });
  }

  #prototypes(sdk: unknown): Json[] {
    const m = sdk as Json | undefined;
    const Anthropic = (m?.Anthropic ?? m?.default ?? m) as Json | undefined;
    const classes = [Anthropic?.Messages, (Anthropic?.Beta as Json | undefined)?.Messages];
    return classes.map((c) => (c as { prototype?: Json } | undefined)?.prototype).filter((p): p is Json => !!p);
  }

  #batchPrototypes(sdk: unknown): Json[] {
    return this.#prototypes(sdk)
      .map((proto) => (proto.constructor as { Batches?: { prototype?: Json } } | undefined)?.Batches?.prototype)
      .filter((p): p is Json => !!p);
  }

  #unpatch(sdk: unknown): void {
    for (const proto of this.#prototypes(sdk)) {
      if (isWrapped(proto.create)) this._unwrap(proto, "create");
      if (isWrapped(proto.countTokens)) this._unwrap(proto, "countTokens");
      if (isWrapped(proto.toolRunner)) this._unwrap(proto, "toolRunner");
    }
    for (const proto of this.#batchPrototypes(sdk)) {
      if (isWrapped(proto.results)) this._unwrap(proto, "results");
    }
  }

  /** Each succeeded batch result is recorded as a call at the batch price, as it is read. */
  #wrapBatchResults(original: AnyFn): AnyFn {
    const instrumentation = this;
    return async function results(this: unknown, ...args: unknown[]) {
      const decoder = await original.apply(this, args);
      const client = (this as { _client?: Json })?._client;
      if (instrumentation.isEnabled() && client && typeof (decoder as Json)?.decoder === "function") {
        guard("observing batch results", () =>
          observeStream(
            decoder as never,
            {
              onItem: (item: unknown) => {
                const result = (item as { result?: { type?: string; message?: Json } })?.result;
                if (result?.type !== "succeeded" || !result.message) return;
                const call = new ClaudeCall(
                  instrumentation.#settings(),
                  client,
                  { model: result.message.model },
                  context.active(),
                  { batch: true },
                );
                call.onMessage(result.message);
                call.finish("completed");
              },
              onEnd: () => {},
            },
            "decoder",
          ),
        );
      }
      return decoder;
    };
  }

  /** What every call needs from the instrumentation, built once and rebuilt when config or providers change. */
  #settings(): CallSettings {
    const cached = settingsOf.get(this);
    if (cached) return cached;
    const config = this.getConfig();
    const c = config.captureContent;
    let metrics = metricsOf.get(this);
    if (!metrics) {
      metrics = new CallMetrics(this.meter);
      metricsOf.set(this, metrics);
    }
    this.#missed ??= new MissedCacheDetector();
    const missed = this.#missed;
    const minCacheableTokens = (model: string) =>
      resolvePriceEntry(model, config.pricing ?? PRICE_TABLE)?.minCacheableTokens ?? 1024;
    // kept across config changes: a model that has its own label keeps it
    this.#modelLabels ??= new ModelLabels(
      (model) => resolvePriceEntry(model, this.getConfig().pricing ?? PRICE_TABLE) !== undefined,
    );
    const modelLabels = this.#modelLabels;
    const settings: CallSettings = {
      tracer: this.tracer,
      metrics,
      pricing: config.pricing,
      captureContent: c ? { maxBytes: (typeof c === "object" && c.maxBytes) || DEFAULT_CONTENT_BYTES } : undefined,
      emit: (record, ctx, timeMs, userCall) => {
        if (userCall) this.#userCallRecords.add(userCall, { record, context: ctx, timeMs });
        else this.#emit({ record, context: ctx, timeMs });
      },
      metricModel: (model: string) => modelLabels.of(model),
      missedSavingsTokens: (body: Json, model: string, now: number) => {
        try {
          return missed.check(body, model, now, minCacheableTokens);
        } catch (error) {
          failedOnce("missed-savings", error);
          return 0;
        }
      },
    };
    settingsOf.set(this, settings);
    return settings;
  }

  /** What every run needs from the instrumentation, built once and rebuilt when config or providers change. */
  #runSettings(): RunSettings {
    const cached = runSettingsOf.get(this);
    if (cached) return cached;
    let metrics = runMetricsOf.get(this);
    if (!metrics) {
      metrics = new RunMetrics(this.meter);
      runMetricsOf.set(this, metrics);
    }
    const settings: RunSettings = {
      tracer: this.tracer,
      metrics,
      emit: (record, ctx) =>
        this.#emitRecord(LOG_EVENT_RUN, record, {
          warn: record.outcome !== "completed",
          timeMs: Date.parse(record.timestamp),
          context: ctx,
          hook: ["onRun", this.getConfig().onRun],
          step: "emitting the run log record",
        }),
    };
    runSettingsOf.set(this, settings);
    return settings;
  }

  override setTracerProvider(provider: Parameters<InstrumentationBase["setTracerProvider"]>[0]): void {
    super.setTracerProvider(provider);
    settingsOf.delete(this);
    runSettingsOf.delete(this);
  }

  #emit({ record, context: ctx, timeMs }: RecordedRequest): void {
    this.#emitRecord(LOG_EVENT, record, {
      warn: record.error !== null,
      timeMs,
      context: ctx,
      hook: ["onCall", this.getConfig().onCall],
      step: "emitting the log record",
    });
  }

  /** A log record through the OTel Logs API, then the user's hook: neither can fail the call or the run. */
  #emitRecord<R>(
    event: string,
    record: R,
    options: {
      warn: boolean;
      timeMs: number;
      context: Context;
      hook: [string, ((record: R) => void) | undefined];
      step: string;
    },
  ): void {
    try {
      this.logger.emit({
        eventName: event,
        severityNumber: options.warn ? SeverityNumber.WARN : SeverityNumber.INFO,
        severityText: options.warn ? "WARN" : "INFO",
        timestamp: options.timeMs,
        body: record as never,
        context: options.context,
      });
    } catch (error) {
      failedOnce(options.step, error);
    }
    const [name, hook] = options.hook;
    if (hook) guard(name, () => hook(record));
  }

  #wrapCreate(original: AnyFn): AnyFn {
    const instrumentation = this;
    return function create(this: unknown, ...args: unknown[]) {
      const [body] = args;
      const client = (this as { _client?: Json })?._client;
      let call: ClaudeCall | undefined;
      if (instrumentation.isEnabled() && client && typeof body === "object" && body !== null) {
        try {
          call = instrumentation.#startCall(client, body as Json, args[1] as Json | undefined);
        } catch (error) {
          failedOnce("starting a call", error);
        }
      }
      if (!call) return original.apply(this, args);
      const promise = context.with(call.context, () => original.apply(this, args));
      try {
        observe(call, promise as SdkPromise);
      } catch (error) {
        failedOnce("observing a call", error);
      }
      return promise;
    };
  }

  #startCall(client: Json, body: Json, options: Json | undefined): ClaudeCall {
    wrapFetch(client);
    const conversationId = (options?.openTelemetry as Json | undefined)?.conversationId;
    const call = new ClaudeCall(this.#settings(), client, body, context.active(), { conversationId });
    // SDK 1.x helpers (`messages.stream()`) start the span before calling create and pass it along.
    const started = (options?.__span as { span?: Span } | undefined)?.span;
    if (started && typeof started.spanContext === "function" && !watchSpan(started as never, call)) {
      call.span = started;
      const attributes = started.isRecording() ? call.startAttributes() : undefined;
      if (attributes) started.setAttributes(attributes);
    }
    // SDK ≥ 0.134 traces natively (its span is enriched by ClaudeSpanProcessor); before that, or with
    // its tracing turned off, Ballast makes the span itself, named and shaped the same.
    if (client._tracer === undefined) call.startOwnSpan();
    return call;
  }

  /**
   * A tool runner's loop is one run: it starts when the loop is first iterated (`for await`, `await
   * runner`, `runUntilDone()`), its calls and tools are added up in its context, and it ends with the loop.
   */
  #wrapToolRunner(original: AnyFn): AnyFn {
    const instrumentation = this;
    return function toolRunner(this: unknown, ...args: unknown[]) {
      const [body, options] = args as [Json | undefined, Json | undefined];
      const client = (this as { _client?: Json })?._client;
      if (!instrumentation.isEnabled() || typeof body !== "object" || body === null || !client) {
        return original.apply(this, args);
      }
      const runner = original.call(this, withTimedTools(body), options) as Json;
      // the run belongs where the runner was made (`withClaudeContext(…, () => toolRunner(…))`), even when
      // the loop is started later, by an `await` outside that context
      const made = context.active();
      guard("observing a tool runner", () =>
        observeRunner(runner, () => {
          const conversationId = (options?.openTelemetry as Json | undefined)?.conversationId;
          return new ClaudeRun(instrumentation.#runSettings(), made, {
            name: "tool_runner",
            conversationId: typeof conversationId === "string" ? conversationId : undefined,
            // SDK ≥ 0.134 makes the run's span itself (ClaudeSpanProcessor adds the sums to it)
            ownSpan: client._tracer === undefined,
            model: body.model,
          });
        }),
      );
      return runner;
    };
  }

  #wrapCountTokens(original: AnyFn): AnyFn {
    const instrumentation = this;
    return function countTokens(this: unknown, ...args: unknown[]) {
      const client = (this as { _client?: Json })?._client;
      const body = args[0] as Json | undefined;
      if (!instrumentation.isEnabled() || !client || client._tracer !== undefined) return original.apply(this, args);
      const span = guard("count_tokens span", () =>
        instrumentation.tracer.startSpan(SPAN_COUNT_TOKENS, {
          kind: SpanKind.CLIENT,
          attributes: {
            [ATTR_PROVIDER]: "anthropic",
            ...(typeof body?.model === "string" ? { [ATTR_REQUEST_MODEL]: body.model } : {}),
          },
        }),
      );
      const promise = original.apply(this, args) as Promise<unknown>;
      if (span) {
        (promise as SdkPromise).responsePromise?.then(
          () => {
            span.setStatus({ code: SpanStatusCode.OK });
            span.end();
          },
          (error: unknown) => {
            span.setAttribute(ATTR_ERROR_TYPE, errorType(error));
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.end();
          },
        );
      }
      return promise;
    };
  }
}

/** Counts the attempts (the SDK's own retries) of the call running in the current context. */
function wrapFetch(client: Json): void {
  if (fetchWrapped.has(client) || typeof client.fetch !== "function") return;
  const fetch = client.fetch as AnyFn;
  client.fetch = function (this: unknown, ...args: unknown[]) {
    const call = callFrom(context.active());
    if (call) call.attempts++;
    return fetch.apply(this, args);
  };
  fetchWrapped.add(client);
}

/**
 * Follows an SDK `APIPromise` without consuming it: the raw response through `responsePromise`, the
 * parsed Message or Stream through its `parseResponse` (run only if the caller reads the body, so
 * `.asResponse()` keeps an unread body). A call that ends with its SDK span needs only the first:
 * the span records the body.
 */
function observe(call: ClaudeCall, promise: SdkPromise): void {
  if (!promise?.responsePromise || typeof promise.parseResponse !== "function") {
    failedOnce(
      "reading the SDK's APIPromise",
      undefined,
      "this @anthropic-ai/sdk version's APIPromise is not the shape Ballast knows; calls are not recorded",
    );
    return;
  }
  promise.responsePromise.then(
    (props) => responded(call, promise, props),
    (error: unknown) => failed(call, error),
  );
  if (!call.endsWithSpan) promise.parseResponse = observedParse(call, promise.parseResponse);
}

function responded(
  call: ClaudeCall,
  promise: SdkPromise,
  props: { response?: SdkResponse; controller?: AbortController } | undefined,
): void {
  call.onResponse(props);
  // The SDK ends its span whichever way the body is read: as the caller parses it, in `.asResponse()`, or
  // in a helper that parses the props itself (the tool runner's message threads).
  if (call.endsWithSpan) return;
  // Awaiting the call asks for the parse long before the response comes. Without one by the next
  // microtask the caller took the raw Response (`.asResponse()`) and the body stays theirs.
  if (promise.parsedPromise) return;
  queueMicrotask(() => {
    if (promise.parsedPromise) return;
    if (!call.stream) call.requestIdFrom(props?.response);
    call.finish("completed");
  });
}

function failed(call: ClaudeCall, error: unknown): void {
  call.finish(isAbortError(error) ? "aborted" : "failed", error);
}

/** `parse`, observed: made apart from `observe`, so the closure left on the APIPromise keeps only the call and `parse`. */
function observedParse(call: ClaudeCall, parse: AnyFn): AnyFn {
  return async function (this: unknown, ...args: unknown[]) {
    let data: unknown;
    try {
      data = await parse.apply(this, args);
    } catch (error) {
      failed(call, error);
      throw error;
    }
    try {
      observed(call, data);
    } catch (error) {
      failedOnce("observing a response", error);
    }
    return data;
  };
}

function observed(call: ClaudeCall, data: unknown): void {
  const stream = data as { iterator?: unknown; controller?: AbortController };
  if (call.stream && typeof stream?.iterator === "function") {
    observeStream(stream as never, {
      onItem: (event) => call.onStreamEvent(event),
      onEnd: (how, error) => call.finishStream(how, error),
    });
  } else {
    call.onMessage(data);
    call.finish("completed");
  }
}

/** The tool runner's tools, each timed as it runs and added to the run it runs in. */
function withTimedTools(body: Json): Json {
  if (!Array.isArray(body.tools)) return body;
  return { ...body, tools: body.tools.map((tool) => (typeof tool?.run === "function" ? timedTool(tool) : tool)) };
}

/** `tool` with its `run` timed; everything else (its name, schema, parse, the SDK's helper marks) as it is. */
function timedTool(tool: Json & { run: AnyFn }): Json {
  const name = typeof tool.name === "string" ? tool.name : "unknown";
  const run = tool.run;
  async function timed(this: unknown, ...args: unknown[]) {
    const ofRun = scopeFrom(context.active())?.run as ClaudeRun | undefined;
    const started = performance.now();
    const ended = (error: string | undefined) => ofRun?.addTool?.(name, (performance.now() - started) / 1000, error);
    try {
      const result = await run.apply(tool, args);
      ended(undefined);
      return result;
    } catch (error) {
      ended(errorType(error));
      throw error;
    }
  }
  return new Proxy(tool, {
    get: (target, key, receiver) => (key === "run" ? timed : Reflect.get(target, key, receiver)),
  });
}

/**
 * Makes each iteration of `runner` one run: `makeRun` is called as the loop starts, and every step of
 * the loop runs in the run's context, so its calls and tools find it. The run ends with the loop.
 */
function observeRunner(runner: Json, makeRun: () => ClaudeRun): void {
  const iterate = runner[Symbol.asyncIterator as never] as AnyFn | undefined;
  if (typeof iterate !== "function") return;
  Object.defineProperty(runner, Symbol.asyncIterator, {
    configurable: true,
    writable: true,
    value: function (this: unknown) {
      const run = makeRun();
      const loop = context.with(run.context, () => iterate.call(this)) as AsyncIterator<unknown>;
      const step = (next: () => Promise<IteratorResult<unknown>> | undefined, closing = false) => {
        const result = context.with(run.context, next);
        if (!result) {
          run.finish(undefined, closing);
          return Promise.resolve({ done: true, value: undefined });
        }
        return result.then(
          (r) => {
            if (r.done || closing) run.finish(undefined, closing);
            return r;
          },
          (error: unknown) => {
            run.finish(error);
            throw error;
          },
        );
      };
      return {
        next: (...args: [] | [unknown]) => step(() => loop.next(...args)),
        return: (value?: unknown) => step(() => loop.return?.(value), true),
        throw: (error?: unknown) => step(() => loop.throw?.(error)),
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  });
}
