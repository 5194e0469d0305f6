import type { PriceTable } from "@ballast/pricing";
import type { Context } from "@opentelemetry/api";
import { attributionFrom } from "./attribution.js";
import { type ClaudeCall, callFrom, type EndingSpan } from "./call.js";
import { failedOnce } from "./diag-once.js";
import { enrichmentAttributes } from "./enrich.js";
import { ClaudeRun } from "./run.js";
import {
  ATTR_CONVERSATION_ID,
  ATTR_FEATURE,
  ATTR_PRICING_MODEL,
  ATTR_RESPONSE_CACHE,
  ATTR_USER_ID,
  SDK_SCOPE,
  SPAN_TOOL_RUNNER,
} from "./semconv.js";

/** The parts of the SDK's `Span` this processor uses (structural, so any 3.x `sdk-trace` fits). */
export interface EnrichableSpan extends EndingSpan {
  name: string;
  attributes: Record<string, unknown>;
  instrumentationScope?: { name: string };
  setAttributes(attributes: Record<string, unknown>): unknown;
  setAttribute(key: string, value: unknown): unknown;
}

export interface ClaudeSpanProcessorOptions {
  /** the price table for costs; default `PRICE_TABLE` from `@ballast/pricing` */
  pricing?: PriceTable;
}

/** Each SDK tool runner span seen starting in a run's context: the run whose sums it gets as it ends. */
const runOfSpan = new WeakMap<object, ClaudeRun>();

/** Each SDK `messages.create` span seen starting here: the call it records (`null` when there is none or no more). */
const callOfSpan = new WeakMap<object, ClaudeCall | null>();

/**
 * Links `call` to `span`, which an SDK helper (`messages.stream()`) started before the call, as onStart
 * links the spans it sees: true when a ClaudeSpanProcessor saw the span start, so it will see it end too.
 */
export function watchSpan(span: EnrichableSpan, call: ClaudeCall): boolean {
  if (!callOfSpan.has(span)) return false;
  link(span, call);
  return true;
}

/** The call finishes from `span` as that ends; the span gets the call's start attributes now. */
function link(span: EnrichableSpan, call: ClaudeCall): void {
  call.span = span as never;
  call.spanWatched = true;
  callOfSpan.set(span, call);
  const attributes = call.startAttributes();
  if (attributes) span.setAttributes(attributes);
}

/** The call linked to `span`, unlinked: the span may wait for its export long after, its call need not. */
function linkedCall(span: object): ClaudeCall | undefined {
  const call = callOfSpan.get(span);
  if (!call) return undefined;
  callOfSpan.set(span, null);
  return call;
}

function isSdkClaudeSpan(span: EnrichableSpan): boolean {
  return span.name.startsWith("anthropic.messages") && (span.instrumentationScope?.name ?? "").startsWith(SDK_SCOPE);
}

/**
 * Enriches the span `@anthropic-ai/sdk` ≥ 0.134 makes for each call, instead of adding a second one:
 * at start it links the span to ClaudeInstrumentation's view of the call (attribution, sampling
 * parameters), and while the span ends (`onEnding`, before export) the call is finished from the
 * span's attributes: its cost on the span, its metrics and its log record. A span with no call
 * (the instrumentation absent or off) is priced from its own usage attributes, so the processor
 * also works alone. Add it to your tracer provider's `spanProcessors` before the exporting processor.
 */
export class ClaudeSpanProcessor {
  readonly #pricing: PriceTable | undefined;

  constructor(options: ClaudeSpanProcessorOptions = {}) {
    if (options.pricing !== undefined && typeof options.pricing?.entries !== "object") {
      throw new TypeError("ClaudeSpanProcessor: `pricing` must be a price table (PRICE_TABLE or withPrices(...))");
    }
    this.#pricing = options.pricing;
  }

  onStart(span: EnrichableSpan, parentContext: Context): void {
    try {
      if (isSdkClaudeSpan(span)) this.#attribute(span, parentContext);
    } catch (error) {
      failedOnce("span processor onStart", error);
    }
  }

  #attribute(span: EnrichableSpan, parentContext: Context): void {
    if (span.name === SPAN_TOOL_RUNNER) {
      const run = attributionFrom(parentContext).run;
      if (run instanceof ClaudeRun && !run.span) {
        run.span = span as never;
        runOfSpan.set(span, run);
      }
    }
    if (span.name !== "anthropic.messages.create") return this.#attributeAlone(span, parentContext);
    const call = callFrom(parentContext);
    if (!call || call.span) {
      if (!callOfSpan.has(span)) callOfSpan.set(span, null);
      return this.#attributeAlone(span, parentContext);
    }
    link(span, call);
  }

  #attributeAlone(span: EnrichableSpan, parentContext: Context): void {
    const who = attributionFrom(parentContext);
    if (who.userId) span.setAttribute(ATTR_USER_ID, who.userId);
    if (who.feature) span.setAttribute(ATTR_FEATURE, who.feature);
    if (who.conversationId && span.attributes[ATTR_CONVERSATION_ID] === undefined)
      span.setAttribute(ATTR_CONVERSATION_ID, who.conversationId);
    if (Object.keys(who.attributes).length > 0) span.setAttributes(who.attributes);
  }

  onEnding(span: EnrichableSpan): void {
    try {
      const run = runOfSpan.get(span);
      if (run) return void span.setAttributes(run.rollupAttributes(run.outcomeOfSpan(span.status?.code)));
      const call = linkedCall(span);
      if (call?.endsWithSpan) return call.finishFromSpan(span);
      if (!isSdkClaudeSpan(span) || span.attributes[ATTR_PRICING_MODEL] !== undefined) return;
      // an answer @ballast/response-cache replayed used no tokens
      if (span.attributes[ATTR_RESPONSE_CACHE] !== undefined) return;
      span.setAttributes(enrichmentAttributes(span.attributes as never, this.#pricing));
    } catch (error) {
      failedOnce("span processor onEnding", error);
    }
  }

  /** Where the tracer provider never calls `onEnding` (sdk-trace-base before 2.x), the call is finished here. */
  onEnd(span: EndingSpan): void {
    try {
      const call = linkedCall(span);
      if (call?.endsWithSpan) call.finishFromSpan(span);
    } catch (error) {
      failedOnce("span processor onEnd", error);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
