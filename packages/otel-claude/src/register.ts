/**
 * Zero-code set-up: `node --import @ballast/otel-claude/register app.js`.
 *
 * Starts the OpenTelemetry Node SDK from the standard OTEL_* variables (OTLP over HTTP by default,
 * `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` or `grpc` too) with ClaudeInstrumentation and
 * ClaudeSpanProcessor, and flushes everything when the process ends: when its event loop empties, and
 * on SIGTERM and SIGINT (then the process ends as it would have). When no collector answers at the
 * OTLP endpoint, it says so once and skips the flush at exit. When the process has already registered
 * its own SDK, only the instrumentation is added to it.
 */
import { register as registerLoaderHook } from "node:module";
import { connect } from "node:net";
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
import { ClaudeInstrumentation, useLoaderHooks } from "./instrumentation.js";
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
  });
  sdk.start();
  const collector = otlpEndpoint();
  const probe = collector ? probeCollector(collector) : { reachable: Promise.resolve(true), hold: () => {} };
  let flushing: Promise<void> | undefined;
  const flush = () => {
    probe.hold(); // the process must live until the answer, now that it is needed
    flushing ??= probe.reachable.then((up) => {
      if (!up) return; // nothing would take it, and retrying would hold the process for seconds
      return sdk
        .shutdown()
        .catch((error: unknown) => diag.error("@ballast/otel-claude: flushing telemetry failed", error));
    });
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

/** The OTLP endpoint the SDK exports to, when any signal is exported over OTLP/HTTP or gRPC. */
function otlpEndpoint(): URL | undefined {
  const exporters = ["OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"].flatMap(list);
  if (exporters.length > 0 && !exporters.includes("otlp")) return undefined;
  const grpc = (process.env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "").trim() === "grpc";
  const given =
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT ??
    (grpc ? "http://localhost:4317" : "http://localhost:4318");
  try {
    return new URL(given);
  } catch {
    return undefined;
  }
}

/**
 * Whether something accepts a connection at `endpoint`. When nothing does, one warning says where
 * telemetry was going and what to set. The check keeps the process alive only once `hold()` asks it
 * to, and from then on waits at most a second more: a busy start-up must not read as "no collector".
 */
function probeCollector(endpoint: URL): { reachable: Promise<boolean>; hold(): void } {
  const port = Number(endpoint.port) || (endpoint.protocol === "https:" ? 443 : 80);
  const host = endpoint.hostname.replace(/^\[(.*)\]$/, "$1");
  const socket = connect({ host, port });
  socket.unref();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let answer!: (up: boolean, why?: string) => void;
  const reachable = new Promise<boolean>((resolve) => {
    let done = false;
    answer = (up, why) => {
      if (done) return;
      done = true;
      socket.destroy();
      clearTimeout(timer);
      if (!up) {
        console.warn(
          `@ballast/otel-claude: no OpenTelemetry collector at ${endpoint.origin} (${why}); telemetry is dropped. ` +
            "Set OTEL_EXPORTER_OTLP_ENDPOINT to your collector, or OTEL_TRACES_EXPORTER=console to see spans here.",
        );
      }
      resolve(up);
    };
    socket.once("connect", () => answer(true));
    socket.once("error", (error: NodeJS.ErrnoException) => answer(false, error.code ?? error.message));
  });
  return {
    reachable,
    hold: () => {
      socket.ref();
      timer ??= setTimeout(() => answer(false, "no answer within 1 s"), 1000);
    },
  };
}
