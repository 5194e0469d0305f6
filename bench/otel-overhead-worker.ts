// One configuration of bench/otel-overhead in its own process (OTel globals are per process).
//   node --expose-gc otel-overhead-worker.ts <none|native|ballast> <mock-url> <calls> <streams> [heap]
import Anthropic, * as sdk from "@anthropic-ai/sdk";
import { ClaudeSpanProcessor } from "@ballast/otel-claude";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { instrumentOn } from "./otel-instrumented.ts";

const [mode = "none", url = "", callsArg = "20000", streamsArg = "2000", heapArg] = process.argv.slice(2);
const CONCURRENCY = 16;

// Counts exported spans, to report how many spans each call gets.
let spans = 0;
const counting = {
  export: (items: unknown[], done: (r: { code: number }) => void) => {
    spans += items.length;
    done({ code: 0 });
  },
  shutdown: async () => {},
  forceFlush: async () => {},
};

let peerError: string | undefined;
if (mode !== "none") {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const processors = [new BatchSpanProcessor({ exporter: counting as never })];
  const tracerProvider = new TracerProvider({
    spanProcessors: mode === "ballast" ? [new ClaudeSpanProcessor(), ...processors] : processors,
  });
  trace.setGlobalTracerProvider(tracerProvider);
  if (mode === "ballast") instrumentOn(tracerProvider);
  if (mode === "traceloop" || mode === "openinference") {
    // The peers, set up as their READMEs say, on the same SDK and the same tracer provider.
    try {
      const peer =
        mode === "traceloop"
          ? new (await import("@traceloop/instrumentation-anthropic")).AnthropicInstrumentation()
          : new (await import("@arizeai/openinference-instrumentation-anthropic")).AnthropicInstrumentation();
      peer.setTracerProvider(tracerProvider);
      peer.manuallyInstrument(sdk as never);
    } catch (error) {
      peerError = (error as Error).message;
    }
  }
}

const client = new Anthropic({ baseURL: url, apiKey: "sk-bench", maxRetries: 0 });
const params = {
  model: "claude-sonnet-4-6",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Where is my order? It was due on Monday." }],
};

/** Runs `n` tasks 16 at a time; returns calls/s and this process's CPU µs per call. */
async function pool(n: number, task: () => Promise<void>): Promise<[number, number]> {
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) await task();
    }),
  );
  const used = process.cpuUsage(cpu);
  return [n / ((performance.now() - started) / 1000), (used.user + used.system) / n];
}
const create = () => client.messages.create(params).then(() => {});
const stream = async () => {
  for await (const _ of await client.messages.create({ ...params, stream: true }));
};

await pool(500, create); // warm-up
const result: Record<string, number> = {};
if (heapArg) {
  // Heap mode: live heap after 10k calls against after `heapArg` calls, both after a full GC.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  const heap = async () => {
    await new Promise((r) => setTimeout(r, 1500)); // let the batch processors drain
    gc();
    return process.memoryUsage().heapUsed;
  };
  await pool(9_500, create);
  result.heapAt10k = await heap();
  await pool(Number(heapArg) - 10_000, create);
  result.heapAtEnd = await heap();
} else {
  [result.callsPerSec, result.callCpuUs] = await pool(Number(callsArg), create);
  [result.streamsPerSec, result.streamCpuUs] = await pool(Number(streamsArg), stream);
  await (trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } })
    .getDelegate?.()
    .forceFlush?.();
  const calls = 500 + Number(callsArg) + Number(streamsArg);
  result.spansPerCall = mode === "none" ? 0 : spans / calls;
}
if (peerError) {
  result.instrumented = 0;
  process.stderr.write(`${mode}: could not instrument this @anthropic-ai/sdk (1.14): ${peerError}\n`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
