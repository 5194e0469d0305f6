// One configuration of bench/otel-overhead in its own process (OTel globals are per process).
//   node --expose-gc otel-overhead-worker.ts <none|native|ballast|contract|traceloop|openinference> <mock-url> <calls> <streams> [heap]
//   node otel-overhead-worker.ts <mode> <mock-url> serve   (bench/otel-overhead-interleaved.ts: reads
//     {"kind":"call"|"stream","n":N} lines on stdin, answers each with that slice's figures)
//   node otel-overhead-worker.ts <mode> <mock-url> profile <calls>   (bench/otel-profile.ts: the main
//     thread's CPU profile of <calls> calls, as self time per call by package)
import { Session } from "node:inspector/promises";
import { createInterface } from "node:readline";
import Anthropic, * as sdk from "@anthropic-ai/sdk";
import { VERSION as SDK_VERSION } from "@anthropic-ai/sdk/version";
import { ClaudeSpanProcessor } from "@ballast/otel-claude";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BatchSpanProcessor, type SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { callOf, inFlight } from "./claude-calls.ts";
import { ContractFloorProcessor } from "./contract-floor.ts";
import {
  instrumentOn,
  loggerProviderDropping,
  meterProviderDropping,
  switchedSpanProcessor,
} from "./otel-instrumented.ts";

const [mode = "none", url = "", callsArg = "20000", streamsArg = "2000", heapArg] = process.argv.slice(2);

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

/** bench/contract-floor.ts as a span processor, its metrics and log records dropped. */
function contractFloor(): never {
  const floor = new ContractFloorProcessor(meterProviderDropping(), loggerProviderDropping());
  return switchedSpanProcessor(() => floor);
}

let peerError: string | undefined;
if (mode !== "none") {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const processors: SpanProcessor[] = [new BatchSpanProcessor({ exporter: counting as never })];
  if (mode === "ballast") processors.unshift(new ClaudeSpanProcessor());
  if (mode === "contract") processors.unshift(contractFloor());
  const tracerProvider = new TracerProvider({ spanProcessors: processors });
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

/** Runs `n` tasks 16 at a time; returns calls/s, this process's CPU µs per call and its main thread's. */
async function pool(n: number, task: () => Promise<void>): Promise<[number, number, number]> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const main = process.threadCpuUsage();
  await inFlight(n, task);
  const used = process.cpuUsage(cpu);
  const mainUsed = process.threadCpuUsage(main);
  return [
    n / ((performance.now() - started) / 1000),
    (used.user + used.system) / n,
    (mainUsed.user + mainUsed.system) / n,
  ];
}
const create = callOf(client, false);
const stream = callOf(client, true);

// Warm-up: both paths that are measured, so that neither the first calls nor the first streams of a run
// are also the first that V8 compiles.
const WARM_CALLS = 500;
const WARM_STREAMS = 100;
await pool(WARM_CALLS, create);
await pool(WARM_STREAMS, stream);
const result: Record<string, number> = {};
if (callsArg === "serve") {
  for await (const line of createInterface({ input: process.stdin })) {
    const { kind, n } = JSON.parse(line) as { kind: "call" | "stream"; n: number };
    const [perSec, cpuUs, mainUs] = await pool(n, kind === "stream" ? stream : create);
    process.stdout.write(`${JSON.stringify({ perSec, cpuUs, mainUs })}\n`);
  }
} else if (callsArg === "profile") {
  const n = Number(streamsArg);
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  await pool(n, create);
  const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
  Object.assign(result, selfTimeByPackage(profile, n));
} else if (heapArg) {
  // Heap mode: live heap after 10k calls against after `heapArg` calls, both after a full GC.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  const heap = async () => {
    await new Promise((r) => setTimeout(r, 1500)); // let the batch processors drain
    gc();
    return process.memoryUsage().heapUsed;
  };
  await pool(10_000 - WARM_CALLS - WARM_STREAMS, create);
  result.heapAt10k = await heap();
  await pool(Number(heapArg) - 10_000, create);
  result.heapAtEnd = await heap();
} else {
  [result.callsPerSec, result.callCpuUs, result.callMainUs] = await pool(Number(callsArg), create);
  [result.streamsPerSec, result.streamCpuUs, result.streamMainUs] = await pool(Number(streamsArg), stream);
  await (trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } })
    .getDelegate?.()
    .forceFlush?.();
  const calls = WARM_CALLS + WARM_STREAMS + Number(callsArg) + Number(streamsArg);
  result.spansPerCall = mode === "none" ? 0 : spans / calls;
}
interface CpuProfile {
  nodes: { id: number; callFrame: { url: string; functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a profiled main thread's time went: µs per call by package, and by V8's own entries (GC, idle). */
function selfTimeByPackage(profile: CpuProfile, calls: number): Record<string, number> {
  const packages = new Map(profile.nodes.map((n) => [n.id, packageOf(n.callFrame.url, n.callFrame.functionName)]));
  const us: Record<string, number> = {};
  profile.samples.forEach((id, i) => {
    const where = packages.get(id) ?? "other";
    us[where] = (us[where] ?? 0) + (profile.timeDeltas[i] ?? 0) / calls;
  });
  return us;
}

function packageOf(url: string, functionName: string): string {
  if (!url) return /^\((garbage collector|idle|program)\)$/.test(functionName) ? functionName : "native code";
  if (url.includes("/deps/undici/")) return "undici";
  if (url.startsWith("node:")) return "node";
  // the last node_modules/<package>/ of the path (pnpm nests them), else a workspace package's folder
  const dependency = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (dependency) return dependency;
  const workspace = /\/packages\/([^/]+)\//.exec(url)?.[1];
  return workspace ? `@ballast/${workspace}` : "other";
}

if (peerError) {
  result.instrumented = 0;
  process.stderr.write(`${mode}: could not instrument this @anthropic-ai/sdk (${SDK_VERSION}): ${peerError}\n`);
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
