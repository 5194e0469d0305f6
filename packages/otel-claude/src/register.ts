/**
 * Zero-code set-up: `node --import @ballast/otel-claude/register app.js`.
 *
 * Starts the OpenTelemetry Node SDK from the standard OTEL_* variables (OTLP over HTTP by default,
 * `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` or `grpc` too) with ClaudeInstrumentation and
 * ClaudeSpanProcessor, and flushes everything when the process ends: when its event loop empties, and
 * on SIGTERM and SIGINT (then the process ends as it would have). OTLP exports go through a
 * CollectorGate, so a process without a collector says so once and never waits on retries. When the
 * process has already registered its own SDK, only the instrumentation is added to it.
 */
import { register as registerLoaderHook } from "node:module";
import { diag, trace } from "@opentelemetry/api";
import { OTLPLogExporter as GrpcLogExporter } from "@opentelemetry/exporter-logs-otlp-grpc";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter as GrpcMetricExporter } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter as GrpcTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { BatchLogRecordProcessor, type LogRecordExporter, type LogRecordProcessor } from "@opentelemetry/sdk-logs";
import { type MetricReader, PeriodicExportingMetricReader, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import { CollectorGate } from "./collector-gate.js";
import { ClaudeInstrumentation, useLoaderHooks } from "./instrumentation.js";
import { ClaudeSpanProcessor } from "./span-processor.js";

type Signal = "TRACES" | "METRICS" | "LOGS";

const list = (name: string) =>
  (process.env[name] ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

/** The exporter names set for `signal`, `otlp` when none is (as the OTel SDK reads them). */
const exportersOf = (signal: Signal) => {
  const names = list(`OTEL_${signal}_EXPORTER`);
  return names.length > 0 ? names : ["otlp"];
};

const protocolOf = (signal: Signal) =>
  (
    process.env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] ??
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    "http/protobuf"
  ).trim();

/** One gate per endpoint, shared by the signals sent there, so a missing collector is reported once. */
const gates = new Map<string, CollectorGate>();
function gateFor(signal: Signal): CollectorGate {
  const grpc = protocolOf(signal) === "grpc";
  const given =
    process.env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`] ??
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT ??
    (grpc ? "http://localhost:4317" : "http://localhost:4318");
  let endpoint: URL;
  try {
    endpoint = new URL(given);
  } catch {
    endpoint = new URL(grpc ? "http://localhost:4317" : "http://localhost:4318");
  }
  const gate = gates.get(endpoint.origin) ?? new CollectorGate(endpoint);
  gates.set(endpoint.origin, gate);
  return gate;
}

/** The OTLP exporter for the signal's protocol, behind its endpoint's gate. */
function otlpExporter<E extends { export(items: never, done: never): void }>(
  signal: Signal,
  make: { grpc: () => E; json: () => E; proto: () => E },
): E {
  const protocol = protocolOf(signal);
  const exporter = protocol === "grpc" ? make.grpc() : protocol === "http/json" ? make.json() : make.proto();
  return gateFor(signal).guard(exporter);
}

/** The exporting span processors NodeSDK would build from OTEL_TRACES_EXPORTER, after ours. */
function traceProcessorsFromEnv(): SpanProcessor[] {
  const names = exportersOf("TRACES");
  if (names.includes("none")) return [];
  const processors: SpanProcessor[] = [];
  for (const name of names) {
    if (name === "console") processors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
    else if (name === "otlp") {
      const exporter = otlpExporter<SpanExporter>("TRACES", {
        grpc: () => new GrpcTraceExporter(),
        json: () => new JsonTraceExporter(),
        proto: () => new ProtoTraceExporter(),
      });
      processors.push(new BatchSpanProcessor({ exporter, ...batchOptionsFromEnv("BSP") }));
    } else diag.warn(`@ballast/otel-claude: unsupported OTEL_TRACES_EXPORTER value "${name}" (otlp, console, none)`);
  }
  return processors;
}

/**
 * The metric reader when metrics go only over OTLP (the default); undefined leaves any other choice
 * (`console`, `prometheus`) to NodeSDK.
 */
function metricReadersFromEnv(): MetricReader[] | undefined {
  const names = exportersOf("METRICS");
  if (names.includes("none")) return [];
  if (names.some((name) => name !== "otlp")) return undefined;
  const exportIntervalMillis = positiveInt("OTEL_METRIC_EXPORT_INTERVAL") ?? 60_000;
  const exporter = otlpExporter<PushMetricExporter>("METRICS", {
    grpc: () => new GrpcMetricExporter(),
    json: () => new JsonMetricExporter(),
    proto: () => new ProtoMetricExporter(),
  });
  return [
    new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis,
      exportTimeoutMillis: Math.min(positiveInt("OTEL_METRIC_EXPORT_TIMEOUT") ?? 30_000, exportIntervalMillis),
    }),
  ];
}

/** Like metricReadersFromEnv, for log records. */
function logProcessorsFromEnv(): LogRecordProcessor[] | undefined {
  const names = exportersOf("LOGS");
  if (names.includes("none")) return [];
  if (names.some((name) => name !== "otlp")) return undefined;
  const exporter = otlpExporter<LogRecordExporter>("LOGS", {
    grpc: () => new GrpcLogExporter(),
    json: () => new JsonLogExporter(),
    proto: () => new ProtoLogExporter(),
  });
  return [new BatchLogRecordProcessor({ exporter, ...batchOptionsFromEnv("BLRP") })];
}

function positiveInt(name: string): number | undefined {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The batch processor's OTEL_BSP_* (spans) or OTEL_BLRP_* (log records) settings. */
function batchOptionsFromEnv(prefix: "BSP" | "BLRP") {
  const options = {
    scheduledDelayMillis: positiveInt(`OTEL_${prefix}_SCHEDULE_DELAY`),
    exportTimeoutMillis: positiveInt(`OTEL_${prefix}_EXPORT_TIMEOUT`),
    maxQueueSize: positiveInt(`OTEL_${prefix}_MAX_QUEUE_SIZE`),
    maxExportBatchSize: positiveInt(`OTEL_${prefix}_MAX_EXPORT_BATCH_SIZE`),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

function sdkAlreadyRegistered(): boolean {
  const provider = trace.getTracerProvider() as { getDelegate?: () => object };
  const delegate = provider.getDelegate?.() ?? provider;
  return delegate.constructor.name !== "NoopTracerProvider";
}

// ESM apps: patch `import`s of @anthropic-ai/sdk too (CommonJS `require` is hooked by the SDK itself).
registerLoaderHook("@opentelemetry/instrumentation/hook.mjs", import.meta.url);

useLoaderHooks();
const instrumentation = new ClaudeInstrumentation();
if (sdkAlreadyRegistered()) {
  registerInstrumentations({ instrumentations: [instrumentation] });
  diag.info(
    "@ballast/otel-claude: an OpenTelemetry SDK is already registered; add ClaudeSpanProcessor to it for costs on spans",
  );
} else {
  const sdk = new NodeSDK({
    instrumentations: [instrumentation],
    spanProcessors: [new ClaudeSpanProcessor(), ...traceProcessorsFromEnv()],
    metricReaders: metricReadersFromEnv(),
    logRecordProcessors: logProcessorsFromEnv(),
  });
  sdk.start();
  let flushing: Promise<void> | undefined;
  const flush = () => {
    flushing ??= sdk
      .shutdown()
      .catch((error: unknown) => diag.error("@ballast/otel-claude: flushing telemetry failed", error));
    return flushing;
  };
  // `beforeExit` fires when the event loop empties: flush then, so a short script loses nothing.
  process.on("beforeExit", () => void flush());
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void flush().then(() => {
        // Then end as the signal would have, unless the app handles the signal itself.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    });
  }
}
