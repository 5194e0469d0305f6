import * as sdk from "@anthropic-ai/sdk";
import {
  type ClaudeCallRecord,
  ClaudeInstrumentation,
  type ClaudeRunRecord,
  ClaudeSpanProcessor,
} from "@ballast/otel-claude";
import { context, logs, metrics, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, type ReadableSpan, type SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

const has = (...names: string[]) => names.some((n) => process.env[n]);

/** Collects on demand, in process: the summary reads otel-claude's own health counter from it. */
class RunReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush() {}
  protected async onShutdown() {}

  /** `ballast.claude.telemetry.failures` so far, over every step. */
  async telemetryFailures(): Promise<number> {
    const { resourceMetrics } = await this.collect();
    let failures = 0;
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics)
        if (metric.descriptor.name === "ballast.claude.telemetry.failures")
          for (const point of metric.dataPoints) failures += point.value as number;
    return failures;
  }
}

/** One request to the Messages API, as its span recorded it: what the alert rules' metrics count. */
export interface ClaudeRequest {
  /** when it ended, epoch ms */
  endedAtMs: number;
  latencyMs: number;
  error: string | null;
  stopReason: string | null;
}

/** Keeps each Messages API request's span figures: the alerts are judged per request, as their metrics count. */
class RequestLog implements SpanProcessor {
  readonly requests: ClaudeRequest[] = [];
  onStart() {}
  onEnd(span: ReadableSpan) {
    if (span.name !== "anthropic.messages.create") return;
    const [seconds, nanos] = span.duration;
    const error = span.attributes["error.type"];
    const stop = span.attributes["anthropic.message.stop_reason"];
    this.requests.push({
      endedAtMs: Date.now(),
      latencyMs: seconds * 1000 + nanos / 1e6,
      error: typeof error === "string" ? error : null,
      stopReason: typeof stop === "string" ? stop : null,
    });
  }
  async forceFlush() {}
  async shutdown() {}
}

/**
 * OpenTelemetry for the demo: Ballast's instrumentation and span processor always (the summary is
 * built from its per-call records); OTLP export when OTEL_EXPORTER_OTLP_*ENDPOINT says where to.
 */
export function startTelemetry(
  onCall: (record: ClaudeCallRecord) => void,
  onRun: (record: ClaudeRunRecord) => void = () => {},
) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const resource = resourceFromAttributes({
    "service.name": process.env.OTEL_SERVICE_NAME ?? "support-bot",
    "deployment.environment.name": "demo",
  });
  const requestLog = new RequestLog();
  const spanProcessors: SpanProcessor[] = [new ClaudeSpanProcessor(), requestLog];
  if (has("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
    spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }));
  }
  const tracerProvider = new TracerProvider({ resource, spanProcessors });
  trace.setGlobalTracerProvider(tracerProvider);
  const readers = has("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    ? [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter(),
          exportIntervalMillis: Number(process.env.OTEL_METRIC_EXPORT_INTERVAL) || 5000,
        }),
      ]
    : [];
  const run = new RunReader();
  const meterProvider = new MeterProvider({ resource, readers: [...readers, run] });
  metrics.setGlobalMeterProvider(meterProvider);
  const processors = has("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
    ? [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() })]
    : [];
  const loggerProvider = new LoggerProvider({ resource, processors });
  logs.setGlobalLoggerProvider(loggerProvider);

  const instrumentation = new ClaudeInstrumentation({ onCall, onRun });
  instrumentation.setTracerProvider(tracerProvider);
  instrumentation.setMeterProvider(meterProvider);
  instrumentation.setLoggerProvider(loggerProvider);
  instrumentation.manuallyInstrument(sdk);
  return {
    telemetryFailures: () => run.telemetryFailures(),
    requests: () => requestLog.requests,
    shutdown: () => Promise.all([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]),
  };
}
