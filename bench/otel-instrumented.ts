// The OTel set-up the otel-claude benches share: ClaudeInstrumentation with metrics and log records on
// a tracer provider with ClaudeSpanProcessor, every exporter accepting and dropping everything (the
// benches measure recording, not the network).
import * as sdk from "@anthropic-ai/sdk";
import { ClaudeInstrumentation, ClaudeSpanProcessor } from "@ballast/otel-claude";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

/** An exporter that accepts and drops everything. */
export const drop = {
  export: (_items: unknown, done: (r: { code: number }) => void) => done({ code: 0 }),
  shutdown: async () => {},
  forceFlush: async () => {},
};

/** A MeterProvider collecting every second into an exporter that drops everything. */
export function meterProviderDropping(): MeterProvider {
  return new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: drop as never, exportIntervalMillis: 1000 })],
  });
}

/** A LoggerProvider batching every record into an exporter that drops everything. */
export function loggerProviderDropping(): LoggerProvider {
  return new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: drop as never })] });
}

/**
 * Patches `@anthropic-ai/sdk` with ClaudeInstrumentation on `tracerProvider`, metrics and logs dropped (or
 * going to the providers given).
 */
export function instrumentOn(
  tracerProvider: TracerProvider,
  providers: { meterProvider?: MeterProvider; loggerProvider?: LoggerProvider } = {},
): ClaudeInstrumentation {
  const inst = new ClaudeInstrumentation();
  inst.setTracerProvider(tracerProvider);
  inst.setMeterProvider(providers.meterProvider ?? meterProviderDropping());
  inst.setLoggerProvider(providers.loggerProvider ?? loggerProviderDropping());
  inst.manuallyInstrument(sdk);
  return inst;
}

/** What a switched span processor forwards to: ClaudeSpanProcessor, or a bench's stand-in with only some hooks. */
interface SpanHooks {
  onStart?(span: never, parent: never): void;
  onEnding?(span: never): void;
  onEnd?(span: never): void;
}

/**
 * A span processor forwarding each span's hooks to whatever `current()` names (nothing when undefined): a tracer
 * provider's processors are fixed when it is made, so the benches switch what sits behind this one.
 */
export function switchedSpanProcessor(current: () => SpanHooks | undefined): never {
  return {
    onStart: (span: never, parent: never) => current()?.onStart?.(span, parent),
    onEnding: (span: never) => current()?.onEnding?.(span),
    onEnd: (span: never) => current()?.onEnd?.(span),
    forceFlush: async () => {},
    shutdown: async () => {},
  } as never;
}

/**
 * Registers the providers and patches `@anthropic-ai/sdk`; the function returned switches Ballast on and off:
 * the instrumentation and ClaudeSpanProcessor together, so that off is the SDK's native span only (a
 * ClaudeSpanProcessor left on would price the spans by itself).
 */
export function instrumentSdk(): (on: boolean) => void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const claude = new ClaudeSpanProcessor();
  let on = true;
  const tp = new TracerProvider({
    spanProcessors: [
      switchedSpanProcessor(() => (on ? claude : undefined)),
      new BatchSpanProcessor({ exporter: drop as never }),
    ],
  });
  trace.setGlobalTracerProvider(tp);
  const inst = instrumentOn(tp);
  return (value) => {
    on = value;
    if (value) inst.enable();
    else inst.disable();
  };
}
