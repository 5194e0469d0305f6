import { randomUUID } from "node:crypto";
import { isAbortError, type RunScope, withScope } from "@ballast/intercept";
import type { TokenCounts } from "@ballast/pricing";
import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { type Attribution, attributionFrom } from "./attribution.js";
import { errorType } from "./call.js";
import { failedOnce } from "./diag-once.js";
import type { RunMetrics } from "./run-metrics.js";
import * as semconv from "./semconv.js";

export type RunOutcome = "completed" | "failed" | "stopped_by_budget" | "aborted";

/** The per-run log record, handed to `onRun` and emitted as `ballast.claude.run`. */
export interface ClaudeRunRecord {
  run_id: string;
  /** `tool_runner` for the SDK's tool runner, else the name given to `withClaudeRun` */
  name: string;
  conversation_id: string | null;
  timestamp: string;
  user_id: string | null;
  feature: string | null;
  /** the models the run's calls asked for, in the order first used */
  models: string[];
  calls: number;
  tool_calls: number;
  tool_errors: number;
  /** tool executions by tool name */
  tools: Record<string, { calls: number; errors: number }>;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** USD of the run's priced calls */
  cost_usd: number;
  /** calls whose model has no price (their cost is not in `cost_usd`) */
  unpriced_calls: number;
  duration_ms: number;
  outcome: RunOutcome;
  error: string | null;
  trace_id: string | null;
  span_id: string | null;
}

/** What every run needs from the instrumentation. */
export interface RunSettings {
  tracer: Tracer;
  metrics: RunMetrics;
  emit(record: ClaudeRunRecord, ctx: Context): void;
}

// `withClaudeRun` records its runs with the instrumentation enabled last (there is normally one)
let recorder: { owner: object; settings: () => RunSettings } | undefined;

/** Makes `owner`'s settings the ones `withClaudeRun` records with; `undefined` stops that if `owner` had it. */
export function recordRunsWith(owner: object, settings: (() => RunSettings) | undefined): void {
  if (settings) recorder = { owner, settings };
  else if (recorder?.owner === owner) recorder = undefined;
}

export interface ClaudeRunOptions {
  /** what the run is, e.g. `order_lookup` (`gen_ai.agent.name`, a metric label: keep it low-cardinality) */
  name: string;
  /** the conversation the run belongs to (`gen_ai.conversation.id`) */
  conversationId?: string;
}

/**
 * Runs `fn` as one agent run, for loops you write yourself: the Claude calls made inside it are added up
 * on a run span around it (named and shaped as the tool runner's), in one `ballast.claude.run` log record
 * and in the run metrics. A run inside another adds to both. Without an enabled ClaudeInstrumentation,
 * `fn` still runs, in a context that carries the run's and conversation's ids (for `withRateLimit` keys).
 */
export async function withClaudeRun<T>(options: ClaudeRunOptions, fn: () => Promise<T> | T): Promise<T> {
  if (typeof options !== "object" || options === null || typeof options.name !== "string" || !options.name) {
    throw new TypeError("withClaudeRun: the first argument must be { name: string, conversationId?: string }");
  }
  if (options.conversationId !== undefined && (typeof options.conversationId !== "string" || !options.conversationId)) {
    throw new TypeError(
      `withClaudeRun: \`conversationId\` must be a non-empty string; got ${JSON.stringify(options.conversationId)}`,
    );
  }
  const run = new ClaudeRun(recorder?.settings(), context.active(), { ...options, ownSpan: true });
  try {
    const result = await context.with(run.context, fn);
    run.finish();
    return result;
  } catch (error) {
    run.finish(error);
    throw error;
  }
}

/** One call of a run, as the run adds it up. */
export interface RunCall {
  model: string;
  tokens: TokenCounts | undefined;
  costUsd: number | undefined;
}

/**
 * One agent run: a tool runner's loop, or the function given to `withClaudeRun`. The calls made in its
 * context add to its totals (and to those of the runs around it), its tools' executions are timed, and
 * as it ends its span gets the sums, and its log record and metrics are written, whatever the sampler
 * decided. A limiter that refuses one of its calls marks it `stopped_by_budget`.
 */
export class ClaudeRun implements RunScope {
  readonly id = randomUUID();
  readonly name: string;
  readonly context: Context;
  readonly conversationId: string | undefined;
  /** the run's span: the SDK's (linked by ClaudeSpanProcessor) or Ballast's own */
  span: Span | undefined;
  #ownSpan = false;
  readonly #settings: RunSettings | undefined;
  readonly #who: Attribution;
  readonly #parent: ClaudeRun | undefined;
  readonly #startedAt = performance.now();
  readonly #startedAtMs = Date.now();
  #stopped: "stopped_by_budget" | undefined;
  #finished = false;
  readonly #models = new Set<string>();
  readonly #tools = new Map<string, { calls: number; errors: number }>();
  #calls = 0;
  #unpriced = 0;
  #cost = 0;
  // input: every input token, as a call span's gen_ai.usage.input_tokens; uncached: as a call record's input_tokens
  readonly #tokens = { input: 0, uncached: 0, output: 0, cacheRead: 0, cacheWrite: 0 };

  constructor(
    settings: RunSettings | undefined,
    parent: Context,
    {
      name,
      conversationId,
      ownSpan,
      model,
    }: { name: string; conversationId?: string; ownSpan: boolean; model?: unknown },
  ) {
    this.#settings = settings;
    this.name = name;
    this.#who = attributionFrom(parent);
    this.#parent = this.#who.run instanceof ClaudeRun ? this.#who.run : undefined;
    this.conversationId = conversationId ?? this.#who.conversationId;
    let runContext = withScope(parent, {
      userId: this.#who.userId,
      feature: this.#who.feature,
      conversationId: this.conversationId,
      attributes: this.#who.attributes,
      run: this,
    });
    if (ownSpan && settings) {
      const attributes: Attributes = {
        [semconv.ATTR_OPERATION]: semconv.OPERATION_INVOKE_AGENT,
        [semconv.ATTR_PROVIDER]: "anthropic",
        [semconv.ATTR_AGENT_NAME]: name,
        ...this.#who.attributes,
      };
      if (typeof model === "string") attributes[semconv.ATTR_REQUEST_MODEL] = model;
      if (this.conversationId) attributes[semconv.ATTR_CONVERSATION_ID] = this.conversationId;
      if (this.#who.userId) attributes[semconv.ATTR_USER_ID] = this.#who.userId;
      if (this.#who.feature) attributes[semconv.ATTR_FEATURE] = this.#who.feature;
      this.span = settings.tracer.startSpan(semconv.SPAN_TOOL_RUNNER, { kind: SpanKind.INTERNAL, attributes }, parent);
      this.#ownSpan = true;
      runContext = trace.setSpan(runContext, this.span);
    }
    this.context = runContext;
  }

  stop(outcome: "stopped_by_budget"): void {
    this.#stopped = outcome;
    this.#parent?.stop(outcome);
  }

  addCall(call: RunCall): void {
    this.#calls++;
    this.#models.add(call.model);
    if (call.tokens) {
      const t = call.tokens;
      this.#tokens.input += t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
      this.#tokens.uncached += t.input;
      this.#tokens.output += t.output;
      this.#tokens.cacheRead += t.cacheRead;
      this.#tokens.cacheWrite += t.cacheWrite5m + t.cacheWrite1h;
      if (call.costUsd === undefined) this.#unpriced++;
      else this.#cost += call.costUsd;
    }
    this.#parent?.addCall(call);
  }

  /** A tool of this run ran for `durationS`; `error` is its error type when it failed. */
  addTool(tool: string, durationS: number, error: string | undefined): void {
    const counts = this.#tools.get(tool) ?? { calls: 0, errors: 0 };
    counts.calls++;
    if (error) counts.errors++;
    this.#tools.set(tool, counts);
    try {
      this.#settings?.metrics.recordTool(
        tool,
        { name: this.name, feature: this.#who.feature ?? "" },
        error ?? "",
        durationS,
      );
    } catch (problem) {
      failedOnce("recording a tool execution", problem);
    }
  }

  /** How the run ended: `error` is what its loop threw, if anything; `closed`: the caller stopped it early. */
  outcomeOf(error: unknown, closed = false): RunOutcome {
    if (this.#stopped) return this.#stopped;
    if (error === undefined) return closed ? "aborted" : "completed";
    return isAbortError(error) ? "aborted" : "failed";
  }

  /** How the run ended, as its span's status says (the SDK's span ends before its loop has returned). */
  outcomeOfSpan(status: number | undefined): RunOutcome {
    if (this.#stopped) return this.#stopped;
    return status === SpanStatusCode.ERROR ? "failed" : status === SpanStatusCode.OK ? "completed" : "aborted";
  }

  /** The sums the run's span gets as it ends (TELEMETRY.md), with the same meaning as on a call span. */
  rollupAttributes(outcome: RunOutcome): Attributes {
    let toolCalls = 0;
    let toolErrors = 0;
    for (const { calls, errors } of this.#tools.values()) {
      toolCalls += calls;
      toolErrors += errors;
    }
    return {
      [semconv.ATTR_RUN_ID]: this.id,
      [semconv.ATTR_USAGE_INPUT]: this.#tokens.input,
      [semconv.ATTR_USAGE_OUTPUT]: this.#tokens.output,
      [semconv.ATTR_USAGE_CACHE_READ]: this.#tokens.cacheRead,
      [semconv.ATTR_USAGE_CACHE_CREATION]: this.#tokens.cacheWrite,
      [semconv.ATTR_COST]: roundUsd(this.#cost),
      [semconv.ATTR_RUN_CALLS]: this.#calls,
      [semconv.ATTR_RUN_TOOL_CALLS]: toolCalls,
      [semconv.ATTR_RUN_TOOL_ERRORS]: toolErrors,
      [semconv.ATTR_RUN_OUTCOME]: outcome,
    };
  }

  /** Ends the run once: its span (when it is Ballast's), metrics, log record. Never throws. */
  finish(error?: unknown, closed = false): void {
    if (this.#finished) return;
    this.#finished = true;
    try {
      this.#record(this.outcomeOf(error, closed), error === undefined ? undefined : errorType(error));
    } catch (problem) {
      failedOnce("recording a run", problem);
    }
  }

  #record(outcome: RunOutcome, errType: string | undefined): void {
    const settings = this.#settings;
    if (!settings) return;
    if (this.#ownSpan && this.span) {
      this.span.setAttributes(this.rollupAttributes(outcome));
      if (errType && outcome !== "aborted") {
        this.span.setAttribute(semconv.ATTR_ERROR_TYPE, errType);
        this.span.setStatus({ code: SpanStatusCode.ERROR });
      } else if (outcome === "completed") this.span.setStatus({ code: SpanStatusCode.OK });
      this.span.end();
    }
    const durationMs = performance.now() - this.#startedAt;
    settings.metrics.recordRun({
      name: this.name,
      feature: this.#who.feature ?? "",
      outcome,
      errorType: outcome === "failed" ? (errType ?? "") : "",
      durationS: durationMs / 1000,
      costUsd: roundUsd(this.#cost),
      calls: this.#calls,
    });
    const tools = Object.fromEntries(this.#tools);
    const spanContext = this.span?.spanContext();
    settings.emit(
      {
        run_id: this.id,
        name: this.name,
        conversation_id: this.conversationId ?? null,
        timestamp: new Date(this.#startedAtMs).toISOString(),
        user_id: this.#who.userId ?? null,
        feature: this.#who.feature ?? null,
        models: [...this.#models],
        calls: this.#calls,
        tool_calls: Object.values(tools).reduce((sum, t) => sum + t.calls, 0),
        tool_errors: Object.values(tools).reduce((sum, t) => sum + t.errors, 0),
        tools,
        input_tokens: this.#tokens.uncached,
        output_tokens: this.#tokens.output,
        cache_read_tokens: this.#tokens.cacheRead,
        cache_write_tokens: this.#tokens.cacheWrite,
        cost_usd: roundUsd(this.#cost),
        unpriced_calls: this.#unpriced,
        duration_ms: Math.round(durationMs),
        outcome,
        error: outcome === "failed" ? (errType ?? null) : outcome === "stopped_by_budget" ? "stopped_by_budget" : null,
        trace_id: spanContext?.traceId ?? null,
        span_id: spanContext?.spanId ?? null,
      },
      this.span ? trace.setSpan(this.context, this.span) : this.context,
    );
  }
}

const roundUsd = (usd: number) => Math.round(usd * 1e9) / 1e9;
