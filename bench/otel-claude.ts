// What @ballast/otel-claude adds to a Claude call, as users feel it.
// 1. With the network taken out (the real SDK, native tracing on, a `fetch` answering in process): client
//    CPU µs and KB allocated per call that Ballast (ClaudeInstrumentation + ClaudeSpanProcessor, metrics and
//    log records) adds to the SDK's own span, for a small call, a stream, and calls with a 10 KB and a 100 KB
//    system prompt; next to "the contract alone", the least any implementation of the telemetry contract
//    does (six span attributes, the histogram points, the log record, with no bookkeeping).
//    CPU: the three sides take turns in one process, medians of each round's difference from native.
//    Allocation: V8's sampling heap profiler, a fresh process per side (in one process each side's
//    batches change what V8 allocates for the other).
//    Targets: ≤ 10 µs and ≤ 12 KB added per small call and per stream; the 100 KB prompt ≤ 2 µs more than
//    the small call.
// 2. Heap after 100k calls within 5 MB of after 10k (fresh process, full GCs).
// 3. For information, no target: calls/s and streams/s over HTTP against claude-mock (its own process),
//    natively traced, with Ballast, and with OpenInference's instrumentation, each in a fresh process.
//   node bench/otel-claude.ts [--rounds 12] [--http-calls 5000] [--http-streams 1000] [--http-rounds 3]
import { Session } from "node:inspector/promises";
import Anthropic, * as sdk from "@anthropic-ai/sdk";
import { VERSION as SDK_VERSION } from "@anthropic-ai/sdk/version";
import { startMockClaude } from "@ballast/claude-mock";
import { ClaudeInstrumentation, ClaudeSpanProcessor, semconv as c } from "@ballast/otel-claude";
import {
  type Attributes,
  context,
  type Histogram,
  type Logger,
  SeverityNumber,
  type Span,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, type ReadableSpan, TracerProvider } from "@opentelemetry/sdk-trace";
import {
  counts,
  drop,
  inFlight,
  median,
  role,
  row,
  runChild,
  serveUntilStdinCloses,
  startChild,
} from "./lib/shared.ts";

const MODEL = "claude-sonnet-4-6";
const small = { model: MODEL, max_tokens: 256, messages: [{ role: "user" as const, content: "Where is my order?" }] };
// As a support bot sends it: the same system prompt and tool on every call, no cache_control (what the
// missed-savings check reads).
const withSystem = (kb: number) => ({
  ...small,
  system: "You are Acme's support agent. Be brief, cite the order id, never promise refunds. ".repeat(kb * 12.5),
  tools: [
    {
      name: "lookup_order",
      description: "Looks an order up by its id.",
      input_schema: { type: "object" as const, properties: { id: { type: "string" } }, required: ["id"] },
    },
  ],
});
type Kind = { label: string; stream: boolean; body: typeof small };
const KINDS: Kind[] = [
  { label: "small call", stream: false, body: small },
  { label: "stream", stream: true, body: small },
  { label: "call, 10 KB system prompt", stream: false, body: withSystem(10) },
  { label: "call, 100 KB system prompt", stream: false, body: withSystem(100) },
];
const SIDES = ["native", "contract", "ballast"] as const;
type Side = (typeof SIDES)[number];

/** A call of `kind` on `client`: awaited whole, or a stream read to its end. */
const callOf = (client: Anthropic, { stream, body }: Kind) =>
  stream
    ? async () => {
        for await (const _ of await client.messages.create({ ...body, stream: true }));
      }
    : () => client.messages.create(body).then(() => {});

/** A client whose `fetch` answers in process with a canned Message, or its stream of events. */
function inProcessClient(): Anthropic {
  const message = {
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: MODEL,
    content: [{ type: "text", text: "Your order shipped on Tuesday." }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 9, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  };
  const events = [
    { type: "message_start", message: { ...message, content: [], stop_reason: null } },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    ...Array.from({ length: 10 }, () => ({
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text: "a " },
    })),
    { type: "content_block_stop", index: 0 },
    { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 9 } },
    { type: "message_stop" },
  ];
  const sse = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
  const json = JSON.stringify(message);
  const fetch = async (_url: unknown, init: { body?: string }) => {
    // the SDK puts `stream` last: no scan of a 100 KB body
    const stream = init.body?.endsWith('"stream":true}') === true;
    return new Response(stream ? sse : json, {
      headers: { "content-type": stream ? "text/event-stream" : "application/json", "request-id": "req_1" },
    });
  };
  return new Anthropic({ baseURL: "http://127.0.0.1:9", apiKey: "k", maxRetries: 0, fetch: fetch as never });
}

/**
 * The contract alone: as each SDK span ends, the attributes Ballast adds (fixed values, no pricing), the
 * histogram points with their attribute sets made here, and the log record. Nothing else.
 */
class ContractAlone {
  readonly #duration: Histogram;
  readonly #tokens: Histogram;
  readonly #ttfc: Histogram;
  readonly #logger: Logger;

  constructor(meterProvider: MeterProvider, loggerProvider: LoggerProvider) {
    const meter = meterProvider.getMeter("contract-alone");
    this.#duration = meter.createHistogram(c.METRIC_DURATION, { unit: "s" });
    this.#tokens = meter.createHistogram(c.METRIC_TOKEN_USAGE, { unit: "{token}" });
    this.#ttfc = meter.createHistogram(c.METRIC_TTFC, { unit: "s" });
    this.#logger = loggerProvider.getLogger("contract-alone");
  }

  onEnding(span: ReadableSpan & { setAttributes(a: Attributes): unknown }): void {
    if (span.name !== c.SPAN_CREATE) return;
    const a = span.attributes;
    span.setAttributes({
      [c.ATTR_FINISH_REASONS]: [String(a[c.ATTR_STOP_REASON])],
      [c.ATTR_USAGE_CACHE_WRITE]: 0,
      [c.ATTR_USAGE_CACHE_CREATION]: 0,
      [c.ATTR_COST]: 0.001,
      [c.ATTR_CACHE_SAVINGS]: 0,
      [c.ATTR_PRICING_MODEL]: MODEL,
    });
    const ctx = trace.setSpan(context.active(), span as unknown as Span);
    const labels = { [c.ATTR_OPERATION]: "chat", [c.ATTR_PROVIDER]: "anthropic", [c.ATTR_REQUEST_MODEL]: MODEL };
    this.#duration.record(0.05, labels, ctx);
    this.#tokens.record(Number(a[c.ATTR_USAGE_INPUT] ?? 0), { ...labels, [c.ATTR_TOKEN_TYPE]: "input" }, ctx);
    this.#tokens.record(Number(a[c.ATTR_USAGE_OUTPUT] ?? 0), { ...labels, [c.ATTR_TOKEN_TYPE]: "output" }, ctx);
    if (typeof a[c.ATTR_TTFC] === "number") this.#ttfc.record(a[c.ATTR_TTFC], labels, ctx);
    const { traceId, spanId } = span.spanContext();
    this.#logger.emit({
      eventName: c.LOG_EVENT,
      severityNumber: SeverityNumber.INFO,
      context: ctx,
      body: {
        request_id: a[c.ATTR_REQUEST_ID] ?? null,
        model: MODEL,
        input_tokens: a[c.ATTR_USAGE_INPUT] ?? 0,
        output_tokens: a[c.ATTR_USAGE_OUTPUT] ?? 0,
        stop_reason: a[c.ATTR_STOP_REASON] ?? null,
        cost_usd: 0.001,
        trace_id: traceId,
        span_id: spanId,
      },
    });
  }
  onStart() {}
  onEnd() {}
  async forceFlush() {}
  async shutdown() {}
}

/**
 * This process's OTel SDKs, exporting to nowhere, and `@anthropic-ai/sdk` patched; the function returned
 * picks the side: the SDK's span alone, plus the contract alone, or plus Ballast.
 */
function telemetry(): (side: Side) => void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: drop as never, exportIntervalMillis: 1000 })],
  });
  const loggerProvider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: drop as never })] });
  const hooks = { ballast: new ClaudeSpanProcessor(), contract: new ContractAlone(meterProvider, loggerProvider) };
  let side: Side = "ballast";
  const current = () => (side === "native" ? undefined : hooks[side]);
  const tracerProvider = new TracerProvider({
    spanProcessors: [
      {
        onStart: (span, parent) => current()?.onStart(span as never, parent),
        onEnding: (span) => current()?.onEnding(span as never),
        onEnd: (span) => current()?.onEnd(span as never),
        forceFlush: async () => {},
        shutdown: async () => {},
      },
      new BatchSpanProcessor({ exporter: drop as never }),
    ],
  });
  trace.setGlobalTracerProvider(tracerProvider);
  const instrumentation = new ClaudeInstrumentation();
  instrumentation.setTracerProvider(tracerProvider);
  instrumentation.setMeterProvider(meterProvider);
  instrumentation.setLoggerProvider(loggerProvider);
  instrumentation.manuallyInstrument(sdk);
  return (next) => {
    side = next;
    if (next === "ballast") instrumentation.enable();
    else instrumentation.disable();
  };
}

/** Client CPU µs per call over `n` calls of `kind`. */
async function cpuPerCall(client: Anthropic, kind: Kind, n: number): Promise<number> {
  const before = process.cpuUsage();
  await inFlight(n, callOf(client, kind));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

type ProfileNode = { selfSize: number; children: ProfileNode[] };
/** Bytes allocated per call over `n` calls of `kind`, objects already collected included. */
async function bytesPerCall(client: Anthropic, kind: Kind, n: number): Promise<number> {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await inFlight(n, callOf(client, kind));
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as { profile: { head: ProfileNode } };
  session.disconnect();
  const sum = (node: ProfileNode): number => node.children.reduce((t, child) => t + sum(child), node.selfSize);
  return sum(profile.head) / n;
}

const warmUp = async (client: Anthropic) => {
  for (const kind of KINDS) await inFlight(2000, callOf(client, kind));
};

/** A fresh process's figures for one side: bytes per call of each kind. */
async function allocationRole(side: Side): Promise<number[]> {
  telemetry()(side);
  const client = inProcessClient();
  await warmUp(client);
  const bytes: number[] = [];
  for (const kind of KINDS) {
    // long enough for V8 to settle on its optimised code, which allocates less
    await inFlight(10_000, callOf(client, kind));
    bytes.push(await bytesPerCall(client, kind, 3000));
  }
  return bytes;
}

/** A fresh process's live heap (MB, after full GCs) with Ballast on after 10k calls and after `total`. */
async function heapRole(total: number): Promise<{ at10k: number; atEnd: number }> {
  telemetry()("ballast");
  const client = inProcessClient();
  const gc = (globalThis as { gc?: () => void }).gc as () => void;
  const heapMB = async () => {
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the batch processors drain
    gc();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };
  await inFlight(10_000, callOf(client, KINDS[0]!));
  const at10k = await heapMB();
  await inFlight(total - 10_000, callOf(client, KINDS[0]!));
  return { at10k, atEnd: await heapMB() };
}

/** A fresh process calling claude-mock over HTTP: calls/s and streams/s with `mode`'s telemetry. */
async function httpRole(mode: string, url: string, calls: number, streams: number) {
  let instrumented = true;
  if (mode !== "none") {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const tracerProvider = new TracerProvider({
      spanProcessors: [
        ...(mode === "ballast" ? [new ClaudeSpanProcessor()] : []),
        new BatchSpanProcessor({ exporter: drop as never }),
      ],
    });
    trace.setGlobalTracerProvider(tracerProvider);
    if (mode === "ballast") {
      const instrumentation = new ClaudeInstrumentation();
      instrumentation.setMeterProvider(
        new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: drop as never })] }),
      );
      instrumentation.setLoggerProvider(
        new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: drop as never })] }),
      );
      instrumentation.manuallyInstrument(sdk);
    }
    if (mode === "openinference") {
      try {
        const { AnthropicInstrumentation } = await import("@arizeai/openinference-instrumentation-anthropic");
        const peer = new AnthropicInstrumentation();
        peer.setTracerProvider(tracerProvider);
        peer.manuallyInstrument(sdk as never);
      } catch (error) {
        instrumented = false;
        process.stderr.write(`openinference: cannot instrument SDK ${SDK_VERSION}: ${(error as Error).message}\n`);
      }
    }
  }
  const client = new Anthropic({ baseURL: url, apiKey: "sk-bench", maxRetries: 0 });
  const perSecond = async (kind: Kind, n: number) => {
    const started = performance.now();
    await inFlight(n, callOf(client, kind));
    return n / ((performance.now() - started) / 1000);
  };
  await perSecond(KINDS[0]!, 500);
  await perSecond(KINDS[1]!, 100);
  return { instrumented, calls: await perSecond(KINDS[0]!, calls), streams: await perSecond(KINDS[1]!, streams) };
}

const self = import.meta.url;
const [roleName, ...roleArgs] = (role ?? "").split(" ");
if (roleName === "allocation") {
  console.log(JSON.stringify(await allocationRole(roleArgs[0] as Side)));
  process.exit(0);
} else if (roleName === "heap") {
  console.log(JSON.stringify(await heapRole(Number(roleArgs[0]))));
  process.exit(0);
} else if (roleName === "http") {
  const [mode, url, calls, streams] = roleArgs as [string, string, string, string];
  console.log(JSON.stringify(await httpRole(mode, url, Number(calls), Number(streams))));
  process.exit(0);
} else if (roleName === "mock") {
  const mock = await startMockClaude({ seed: 1, maxRecordedRequests: 100 });
  serveUntilStdinCloses({ url: mock.url });
} else {
  const options = counts({ rounds: 12, "http-calls": 5000, "http-streams": 1000, "http-rounds": 3 });
  console.log(
    `otel-claude: node ${process.version}, @anthropic-ai/sdk ${SDK_VERSION}, native tracing on; in-process fetch, 16 calls in flight`,
  );

  const bytes = Object.fromEntries(
    await Promise.all(SIDES.map(async (side) => [side, await runChild<number[]>(self, `allocation ${side}`)])),
  ) as Record<Side, number[]>;
  const pick = telemetry();
  const client = inProcessClient();
  await warmUp(client);
  const cpu = KINDS.map(() => ({ native: [] as number[], contract: [] as number[], ballast: [] as number[] }));
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? SIDES : [...SIDES].reverse();
    for (const [k, kind] of KINDS.entries()) {
      const measured: Partial<Record<Side, number>> = {};
      for (const side of order) {
        pick(side);
        measured[side] = await cpuPerCall(client, kind, 1500);
      }
      const figures = cpu[k]!;
      figures.native.push(measured.native!);
      figures.contract.push(measured.contract! - measured.native!);
      figures.ballast.push(measured.ballast! - measured.native!);
    }
  }
  console.log("");
  console.log(
    `Added per call to the natively traced call (median of ${options.rounds} rounds; allocation in fresh processes)`,
  );
  console.log("");
  console.log(
    row(
      "per call",
      "native µs",
      "contract alone adds µs",
      "Ballast adds µs",
      "native KB",
      "contract alone adds KB",
      "Ballast adds KB",
      "target",
    ),
  );
  console.log(row("---", "---:", "---:", "---:", "---:", "---:", "---:", "---"));
  const kb = (b: number) => (b / 1024).toFixed(1);
  for (const [k, kind] of KINDS.entries()) {
    const f = cpu[k]!;
    const target = k < 2 ? "≤ 10 µs, ≤ 12 KB" : k === 3 ? "≤ small call + 2 µs" : "";
    console.log(
      row(
        kind.label,
        median(f.native).toFixed(1),
        median(f.contract).toFixed(1),
        median(f.ballast).toFixed(1),
        kb(bytes.native[k]!),
        kb(bytes.contract[k]! - bytes.native[k]!),
        kb(bytes.ballast[k]! - bytes.native[k]!),
        target,
      ),
    );
  }

  const heap = await runChild<{ at10k: number; atEnd: number }>(self, "heap 100000", ["--expose-gc"]);
  console.log("");
  console.log(row("heap with Ballast, after full GC", "10k calls", "100k calls", "growth", "target"));
  console.log(row("---", "---:", "---:", "---:", "---"));
  console.log(row("MB", heap.at10k.toFixed(1), heap.atEnd.toFixed(1), (heap.atEnd - heap.at10k).toFixed(2), "≤ 5 MB"));

  const mock = await startChild<{ url: string }>(self, "mock");
  const modes = ["native", "ballast", "openinference"];
  const http: Record<string, { calls: number[]; streams: number[]; instrumented: boolean }> = {};
  for (let round = 0; round < options["http-rounds"]; round++) {
    for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
      const r = await runChild<{ calls: number; streams: number; instrumented: boolean }>(
        self,
        `http ${mode} ${mock.url} ${options["http-calls"]} ${options["http-streams"]}`,
      );
      http[mode] ??= { calls: [], streams: [], instrumented: r.instrumented };
      http[mode].calls.push(r.calls);
      http[mode].streams.push(r.streams);
    }
  }
  mock.stop();
  console.log("");
  console.log(
    `Over HTTP against claude-mock (zero latency, its own process), for information: median of ${options["http-rounds"]} fresh processes each`,
  );
  console.log("");
  console.log(
    row("per second", "native tracing", "Ballast", "Ballast / native", "OpenInference", "OpenInference / native"),
  );
  console.log(row("---", "---:", "---:", "---:", "---:", "---:"));
  for (const measure of ["calls", "streams"] as const) {
    const of = (mode: string) => (http[mode]?.instrumented === false ? Number.NaN : median(http[mode]![measure]));
    const [n, b, o] = [of("native"), of("ballast"), of("openinference")];
    const shown = (x: number) => (Number.isNaN(x) ? "does not instrument this SDK" : x.toFixed(0));
    console.log(
      row(measure, shown(n), shown(b), (b / n).toFixed(3), shown(o), Number.isNaN(o) ? "" : (o / n).toFixed(3)),
    );
  }
  process.exit(0);
}
