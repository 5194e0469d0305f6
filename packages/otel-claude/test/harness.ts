import Anthropic, * as sdkLatest from "@anthropic-ai/sdk";
import { type MockClaude, type MockClaudeOptions, startMockClaude } from "@ballast/claude-mock";
import { type Context, context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CBaggagePropagator } from "@opentelemetry/core";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ViewOptions,
} from "@opentelemetry/sdk-metrics";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import * as sdkLegacy from "anthropic-sdk-0133";
import { afterEach } from "vitest";
import {
  type ClaudeCallRecord,
  ClaudeInstrumentation,
  type ClaudeInstrumentationConfig,
  ClaudeSpanProcessor,
} from "../src/index.js";

export const SDKS = [
  { name: "sdk 1.x (native tracing)", module: sdkLatest, Client: Anthropic },
  {
    name: "sdk 0.133 (no native tracing)",
    module: sdkLegacy,
    Client: sdkLegacy.default as unknown as typeof Anthropic,
  },
] as const;

export const API_KEY = "sk-ant-api03-SECRET-never-exported-0123456789";

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush() {}
  protected async onShutdown() {}
}

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CBaggagePropagator());

/** A complete OTel setup with in-memory exporters, ClaudeInstrumentation and ClaudeSpanProcessor. */
export interface Telemetry {
  spans: InMemorySpanExporter;
  logs: InMemoryLogRecordExporter;
  records: ClaudeCallRecord[];
  instrumentation: ClaudeInstrumentation;
  claudeSpans(): ReadableSpan[];
  /** every metric point, by metric name */
  metrics(): Promise<Map<string, Array<DataPoint<number | Histogram>>>>;
  shutdown(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

export function setupTelemetry(
  options: {
    sampled?: boolean;
    config?: ClaudeInstrumentationConfig;
    extraProcessors?: SpanProcessor[];
    views?: ViewOptions[];
    /** hide ClaudeSpanProcessor's onEnding, as tracer providers before sdk-trace-base 2.x do */
    noOnEnding?: boolean;
  } = {},
): Telemetry {
  const spans = new InMemorySpanExporter();
  const logs = new InMemoryLogRecordExporter();
  const records: ClaudeCallRecord[] = [];
  const tracerProvider = new TracerProvider({
    sampler: options.sampled === false ? new AlwaysOffSampler() : new AlwaysOnSampler(),
    spanProcessors: [
      options.noOnEnding ? withoutOnEnding(new ClaudeSpanProcessor()) : new ClaudeSpanProcessor(),
      ...(options.extraProcessors ?? []),
      new SimpleSpanProcessor({ exporter: spans }),
    ],
  });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader], views: options.views });
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logs })] });
  trace.disable();
  trace.setGlobalTracerProvider(tracerProvider);
  const instrumentation = new ClaudeInstrumentation({
    ...options.config,
    onCall: (r) => {
      records.push(r);
      options.config?.onCall?.(r);
    },
  });
  instrumentation.setTracerProvider(tracerProvider);
  instrumentation.setMeterProvider(meterProvider);
  instrumentation.setLoggerProvider(loggerProvider);
  for (const sdk of SDKS) instrumentation.manuallyInstrument(sdk.module);
  const shutdown = async () => {
    instrumentation.disable();
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
    trace.disable();
  };
  cleanups.push(shutdown);
  return {
    spans,
    logs,
    records,
    instrumentation,
    claudeSpans: () => spans.getFinishedSpans().filter((s) => s.name.startsWith("anthropic.messages")),
    metrics: async () => {
      const { resourceMetrics } = await reader.collect();
      const out = new Map<string, Array<DataPoint<number | Histogram>>>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          out.set(metric.descriptor.name, [
            ...(out.get(metric.descriptor.name) ?? []),
            ...(metric.dataPoints as never[]),
          ]);
        }
      }
      return out;
    },
    shutdown,
  };
}

function withoutOnEnding(processor: ClaudeSpanProcessor): SpanProcessor {
  return {
    onStart: (span, context) => processor.onStart(span as never, context),
    onEnd: (span) => processor.onEnd(span),
    forceFlush: () => processor.forceFlush(),
    shutdown: () => processor.shutdown(),
  };
}

const mocks: MockClaude[] = [];
afterEach(async () => {
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});

export async function mock(options: MockClaudeOptions = {}): Promise<MockClaude> {
  const m = await startMockClaude(options);
  mocks.push(m);
  return m;
}

export function client(Client: typeof Anthropic, m: MockClaude, maxRetries = 0): Anthropic {
  return new Client({ baseURL: m.url, apiKey: API_KEY, maxRetries });
}

export const MODEL = "claude-sonnet-4-6";
export const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  max_tokens: 200,
  messages: [{ role: "user" as const, content }],
  ...extra,
});

/** A `messages.parse()` request whose JSON answer parses to `{ answer: <integer> }`. */
export const askForJson = (content: string) => ({
  ...ask(content),
  output_config: {
    format: {
      type: "json_schema" as const,
      schema: {
        type: "object",
        properties: { answer: { type: "integer" } },
        required: ["answer"],
        additionalProperties: false,
      },
    },
  },
});

/** Waits until `check()` holds: logs and metrics of a stream are recorded as the stream ends. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export type { Context };
