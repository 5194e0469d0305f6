// What @ballast/otel-claude and the records it makes add to a call's main-thread CPU, in one process over HTTP
// against claude-mock (zero latency, on core 1 where it can be pinned), configurations switched between
// interleaved batches so that the machine's drift, which moves whole processes, cancels out:
//   native       — the SDK's own span only (instrumentation off, ClaudeSpanProcessor passed over)
//   ballast      — everything, as bench/otel-instrumented.ts sets it up
//   no log SDK   — the same with the log processor reporting itself disabled: the logs SDK makes no record
//   no metrics   — the same with a MeterProvider without readers: the metrics SDK aggregates nothing
// Each figure is a median over rounds of paired differences (below). Batches are long because a scavenge
// stops the main thread for ~15 ms every few hundred calls (even without OTel a call over HTTP here leaves
// ~21 KB that survive one, `node --trace-gc-nvp`), which 2,000-call batches did not average out.
//   node bench/otel-overhead-ab.ts [--rounds 24] [--calls 4000] [--streams 800]   (5 min)
import Anthropic from "@anthropic-ai/sdk";
import { ClaudeSpanProcessor } from "@ballast/otel-claude";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { counts } from "./args.ts";
import { callOf, inFlight } from "./claude-calls.ts";
import { drop, instrumentOn, meterProviderDropping } from "./otel-instrumented.ts";
import { startMock } from "./otel-processes.ts";
import { median } from "./stats.ts";

const { rounds, calls, streams } = counts({ rounds: 24, calls: 4000, streams: 800 });
const mock = await startMock({ pinned: true });

// A tracer provider's processors are fixed when it is made: ClaudeSpanProcessor is switched from outside.
const claude = new ClaudeSpanProcessor();
let processorOn = true;
const switchedProcessor = {
  onStart: (span: never, parent: never) => processorOn && claude.onStart(span, parent),
  onEnding: (span: never) => processorOn && claude.onEnding(span),
  onEnd: (span: never) => processorOn && claude.onEnd(span),
  forceFlush: () => claude.forceFlush(),
  shutdown: () => claude.shutdown(),
};
// The logs SDK asks its processors whether they are enabled before it makes a record.
const batchLogs = new BatchLogRecordProcessor({ exporter: drop as never });
let logsOn = true;
const switchedLogs = {
  enabled: () => logsOn,
  onEmit: (record: never) => batchLogs.onEmit(record),
  forceFlush: () => batchLogs.forceFlush(),
  shutdown: () => batchLogs.shutdown(),
};

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracerProvider = new TracerProvider({
  spanProcessors: [switchedProcessor as never, new BatchSpanProcessor({ exporter: drop as never })],
});
trace.setGlobalTracerProvider(tracerProvider);
const withReader = meterProviderDropping();
const withoutReader = new MeterProvider();
const inst = instrumentOn(tracerProvider, {
  meterProvider: withReader,
  loggerProvider: new LoggerProvider({ processors: [switchedLogs as never] }),
});

const CONFIGS = ["native", "ballast", "no log SDK", "no metrics"] as const;
type Config = (typeof CONFIGS)[number];
let meterProvider = withReader;
function use(config: Config): void {
  processorOn = config !== "native";
  logsOn = config !== "no log SDK";
  const meters = config === "no metrics" ? withoutReader : withReader;
  // only on a change: each one makes the instrumentation a new set of instruments
  if (meters !== meterProvider) inst.setMeterProvider(meters);
  meterProvider = meters;
  if (config === "native") inst.disable();
  else inst.enable();
}

const client = new Anthropic({ baseURL: mock.url, apiKey: "sk-bench", maxRetries: 0 });

const signed = (x: number) => `${x < 0 ? "−" : "+"}${Math.abs(x).toFixed(1)}`;

/** `n` calls (or streams), 16 at a time: main-thread CPU µs per call. */
async function run(n: number, stream: boolean): Promise<number> {
  const main = process.threadCpuUsage();
  await inFlight(n, callOf(client, stream));
  const used = process.threadCpuUsage(main);
  return (used.user + used.system) / n;
}

// Each comparison is a pair of adjacent batches, Ballast and the configuration without one part of it:
// a difference taken across other batches carried several seconds of the machine's drift.
const PAIRS = [
  ["native", "what Ballast adds to a natively traced call"],
  ["no log SDK", "of which the logs SDK making the log record"],
  ["no metrics", "of which the metrics SDK aggregating the histogram points"],
] as const;

console.log(
  `otel-overhead-ab: node ${process.version}, ${rounds} rounds of ${calls} calls and ${streams} streams per batch, main-thread CPU µs (medians of paired differences)`,
);
console.log("| per call | non-streaming call | stream |");
console.log("| --- | ---: | ---: |");
const rows: string[][] = [["natively traced call, µs"], ...PAIRS.map(([, label]) => [label])];
const ratios: string[] = [];
for (const [stream, n] of [
  [false, calls],
  [true, streams],
] as const) {
  const native: number[] = [];
  const differences: number[][] = PAIRS.map(() => []);
  for (const config of CONFIGS) {
    use(config);
    await run(n, stream); // warm-up
  }
  for (let round = 0; round < rounds; round++) {
    for (const [i, [without]] of PAIRS.entries()) {
      const order = (round + i) % 2 === 0 ? ([without, "ballast"] as const) : (["ballast", without] as const);
      const figures = {} as Record<Config, number>;
      for (const config of order) {
        use(config);
        figures[config] = await run(n, stream);
      }
      if (without === "native") native.push(figures.native);
      differences[i]!.push(figures.ballast - figures[without]);
    }
  }
  const base = median(native);
  rows[0]!.push(base.toFixed(1));
  differences.forEach((d, i) => {
    rows[i + 1]!.push(signed(median(d)));
  });
  ratios.push(`${stream ? "streams" : "calls"} ${(base / (base + median(differences[0]!))).toFixed(3)}`);
}
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
console.log(`main-thread CPU, native ÷ ballast: ${ratios.join(", ")}`);
mock.stop();
process.exit(0);
