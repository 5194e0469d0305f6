// One process of bench/otel-overhead-ab.ts: the configurations switched between interleaved batches of calls over
// HTTP against claude-mock, in one process so that the machine's drift, which moves whole processes, cancels out:
//   native         — the SDK's own span only (instrumentation off, ClaudeSpanProcessor passed over)
//   ballast        — everything, as bench/otel-instrumented.ts sets it up
//   no log SDK     — the same with the log processor reporting itself disabled: the logs SDK makes no record
//   no metrics     — the same with a MeterProvider without readers: the metrics SDK aggregates nothing
//   contract alone — native plus bench/contract-floor.ts: what TELEMETRY.md asks per call, without Ballast
// Prints, for calls and for streams, each round's natively traced main-thread CPU µs per call and each pair's
// difference (the pair's first configuration minus its second, in adjacent batches).
//   node otel-overhead-ab-worker.ts <mock-url> <rounds> <calls> <streams>
import Anthropic from "@anthropic-ai/sdk";
import { ClaudeSpanProcessor } from "@ballast/otel-claude";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { callOf, inFlight } from "./claude-calls.ts";
import { ContractFloorProcessor } from "./contract-floor.ts";
import {
  drop,
  instrumentOn,
  loggerProviderDropping,
  meterProviderDropping,
  switchedSpanProcessor,
} from "./otel-instrumented.ts";

const [url = "", ...countArgs] = process.argv.slice(2);
const [rounds, calls, streams] = countArgs.map(Number) as [number, number, number];

const CONFIGS = ["native", "ballast", "no log SDK", "no metrics", "contract alone"] as const;
type Config = (typeof CONFIGS)[number];
/** Each comparison: a pair of adjacent batches, the first configuration against the second. */
const PAIRS = [
  ["ballast", "native"],
  ["ballast", "no log SDK"],
  ["ballast", "no metrics"],
  ["contract alone", "native"],
] as const satisfies ReadonlyArray<readonly [Config, Config]>;

// ClaudeSpanProcessor and the contract's onEnding, switched behind one processor.
const claude = new ClaudeSpanProcessor();
const floor = new ContractFloorProcessor(meterProviderDropping(), loggerProviderDropping());
let spansTo: "ballast" | "floor" | "none" = "ballast";
const switchedProcessor = switchedSpanProcessor(() =>
  spansTo === "ballast" ? claude : spansTo === "floor" ? floor : undefined,
);
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
  spanProcessors: [switchedProcessor, new BatchSpanProcessor({ exporter: drop as never })],
});
trace.setGlobalTracerProvider(tracerProvider);
const withReader = meterProviderDropping();
const withoutReader = new MeterProvider();
const inst = instrumentOn(tracerProvider, { meterProvider: withReader, loggerProvider: logsTo(switchedLogs) });

let meterProvider = withReader;
const use = (config: Config) => {
  spansTo = config === "native" ? "none" : config === "contract alone" ? "floor" : "ballast";
  logsOn = config !== "no log SDK";
  const meters = config === "no metrics" ? withoutReader : withReader;
  // only on a change: each one makes the instrumentation a new set of instruments
  if (meters !== meterProvider) inst.setMeterProvider(meters);
  meterProvider = meters;
  if (spansTo === "ballast") inst.enable();
  else inst.disable();
};

const client = new Anthropic({ baseURL: url, apiKey: "sk-bench", maxRetries: 0 });
/** `n` calls (or streams), 16 at a time: main-thread CPU µs per call. */
const run = async (n: number, stream: boolean) => {
  const main = process.threadCpuUsage();
  await inFlight(n, callOf(client, stream));
  const used = process.threadCpuUsage(main);
  return (used.user + used.system) / n;
};

const out: Record<string, { native: number[]; differences: number[][] }> = {};
for (const [kind, stream, n] of [
  ["calls", false, calls],
  ["streams", true, streams],
] as const) {
  for (const config of CONFIGS) {
    use(config);
    await run(n, stream); // warm-up
  }
  const native: number[] = [];
  const differences: number[][] = PAIRS.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, pair] of PAIRS.entries()) {
      // the order within a pair alternates, so neither side always meets a warmer machine
      const order = (round + i) % 2 === 0 ? pair : ([pair[1], pair[0]] as const);
      const figures = {} as Record<Config, number>;
      for (const config of order) {
        use(config);
        figures[config] = await run(n, stream);
      }
      if (pair[1] === "native") native.push(figures.native);
      differences[i]!.push(figures[pair[0]] - figures[pair[1]]);
    }
  }
  out[kind] = { native, differences };
}
process.stdout.write(`${JSON.stringify({ pairs: PAIRS, ...out })}\n`);
process.exit(0);

function logsTo(processor: object): LoggerProvider {
  return new LoggerProvider({ processors: [processor as never] });
}
