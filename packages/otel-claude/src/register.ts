/**
 * Zero-code set-up: `node --import @ballast/otel-claude/register app.js`.
 *
 * Starts the OpenTelemetry Node SDK from the standard OTEL_* variables (OTLP over HTTP by default,
 * `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` or `grpc` too) with ClaudeInstrumentation and
 * ClaudeSpanProcessor, and flushes everything when the process ends normally. When the process has
 * already registered its own SDK, only the instrumentation is added to it.
 */
import { register as registerLoaderHook } from "node:module";
import { diag, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as GrpcTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import { ClaudeInstrumentation } from "./instrumentation.js";
import { ClaudeSpanProcessor } from "./span-processor.js";

const list = (name: string) =>
  (process.env[name] ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

/** The exporting span processors NodeSDK would build from OTEL_TRACES_EXPORTER, after ours. */
function traceProcessorsFromEnv(): SpanProcessor[] {
  const names = list("OTEL_TRACES_EXPORTER");
  if (names.includes("none")) return [];
  const protocol = (
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    "http/protobuf"
  ).trim();
  const processors: SpanProcessor[] = [];
  for (const name of names.length > 0 ? names : ["otlp"]) {
    if (name === "console") processors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
    else if (name === "otlp") {
      const exporter =
        protocol === "grpc"
          ? new GrpcTraceExporter()
          : protocol === "http/json"
            ? new JsonTraceExporter()
            : new ProtoTraceExporter();
      processors.push(new BatchSpanProcessor({ exporter, ...batchOptionsFromEnv() }));
    } else diag.warn(`@ballast/otel-claude: unsupported OTEL_TRACES_EXPORTER value "${name}" (otlp, console, none)`);
  }
  return processors;
}

function batchOptionsFromEnv() {
  const int = (name: string) => {
    const n = Number(process.env[name]);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };
  const options = {
    scheduledDelayMillis: int("OTEL_BSP_SCHEDULE_DELAY"),
    exportTimeoutMillis: int("OTEL_BSP_EXPORT_TIMEOUT"),
    maxQueueSize: int("OTEL_BSP_MAX_QUEUE_SIZE"),
    maxExportBatchSize: int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
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
  });
  sdk.start();
  let flushed = false;
  // `beforeExit` fires when the event loop empties: flush then, so a short script loses nothing.
  process.on("beforeExit", () => {
    if (flushed) return;
    flushed = true;
    sdk.shutdown().catch((error: unknown) => diag.error("@ballast/otel-claude: flushing telemetry failed", error));
  });
}
