import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Anthropic from "@anthropic-ai/sdk";
import { priceCall, tokenCounts } from "@ballast/pricing";
import {
  type Attributes,
  type Context,
  type DiagLogger,
  DiagLogLevel,
  diag,
  context as otelContext,
  propagation,
} from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan, type SpanProcessor } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { withClaudeContext } from "../src/index.js";
import { CallMetrics, SumCounter } from "../src/metrics.js";
import { ask, client, MODEL, mock, SDKS, setupTelemetry, until } from "./harness.js";

const BIG = "alpha ".repeat(1200); // 1200 tokens
const cachedSystem = [{ type: "text" as const, text: BIG, cache_control: { type: "ephemeral" as const } }];

const run = promisify(execFile);

/** Runs `fn` with the OTel diag logger's warnings collected into the array it gets. */
async function withDiagWarnings(fn: (warnings: string[]) => Promise<void>): Promise<void> {
  const warnings: string[] = [];
  const logger: DiagLogger = {
    warn: (msg: string) => warnings.push(msg),
    error: () => {},
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
  diag.setLogger(logger, DiagLogLevel.WARN);
  try {
    await fn(warnings);
  } finally {
    diag.disable();
  }
}

describe("costs", () => {
  it("price a cache write, then a cache read and its savings, to the hand-computed figure", async () => {
    const t = setupTelemetry();
    const m = await mock();
    const c = client(Anthropic, m);
    m.enqueue({ reply: { text: "Your order shipped." } }, { reply: { text: "Your order shipped." } });
    await c.messages.create({ ...ask("Hi"), system: cachedSystem });
    await c.messages.create({ ...ask("Hi"), system: cachedSystem });
    // Sonnet 4.6: input 3, 5m write 3.75, read 0.30, output 15 per million. Prefix = 3 + 1200 = 1203.
    const write = (5 * 3 + 1203 * 3.75 + 5 * 15) / 1e6;
    const read = (5 * 3 + 1203 * 0.3 + 5 * 15) / 1e6;
    const savings = (1203 * 2.7) / 1e6;
    expect(t.records.map((r) => [r.cache_write_tokens, r.cache_read_tokens])).toEqual([
      [1203, 0],
      [0, 1203],
    ]);
    expect(t.records[0]!.cost_usd).toBeCloseTo(write, 12);
    expect(t.records[1]!.cost_usd).toBeCloseTo(read, 12);
    expect(t.records[1]!.cache_savings_usd).toBeCloseTo(savings, 12);
    const [s1, s2] = t.claudeSpans();
    expect(s1!.attributes["gen_ai.usage.input_tokens"]).toBe(1208);
    expect(s1!.attributes["anthropic.usage.cache_creation.ephemeral_5m_input_tokens"]).toBe(1203);
    expect(s1!.attributes["gen_ai.usage.cost"]).toBeCloseTo(write, 12);
    expect(s2!.attributes["ballast.cost.cache_savings"]).toBeCloseTo(savings, 12);
    const metrics = await t.metrics();
    const byKind = Object.fromEntries(
      metrics.get("gen_ai.usage.cost")!.map((p) => [p.attributes["ballast.token.kind"], p.value as number]),
    );
    expect(byKind.cache_write_5m).toBeCloseTo((1203 * 3.75) / 1e6, 12);
    expect(byKind.cache_read).toBeCloseTo((1203 * 0.3) / 1e6, 12);
    expect(byKind.input).toBeCloseTo((10 * 3) / 1e6, 12);
    expect(byKind.output).toBeCloseTo((10 * 15) / 1e6, 12);
    expect(metrics.get("ballast.claude.cache_savings")![0]!.value).toBeCloseTo(savings, 12);
  });

  it("report what caching would have saved on a repeated, unmarked, cacheable prefix", async () => {
    const t = setupTelemetry();
    const m = await mock();
    const c = client(Anthropic, m);
    const system = "policy ".repeat(1000); // ~7000 chars: above Sonnet 4.6's 1024-token minimum
    await c.messages.create({ ...ask("Hi"), system });
    expect((await t.metrics()).get("ballast.cache.missed_savings")).toBeUndefined();
    await c.messages.create({ ...ask("Hello"), system });
    const missed = (await t.metrics()).get("ballast.cache.missed_savings")!;
    expect(missed).toHaveLength(1);
    const estimatedTokens = Math.floor(JSON.stringify([MODEL, null, system]).length / 4);
    expect(missed[0]!.value).toBeCloseTo((estimatedTokens * 2.7) / 1e6, 12);
    expect(t.records[1]!.missed_savings_usd).toBeCloseTo((estimatedTokens * 2.7) / 1e6, 12);
    // marked for caching: nothing missed
    await c.messages.create({
      ...ask("Hi"),
      system: [{ type: "text", text: system, cache_control: { type: "ephemeral" } }],
    });
    expect(t.records[2]!.missed_savings_usd).toBeNull();
  });

  it("leave an unknown model unpriced, say so once, and still record the call", async () => {
    await withDiagWarnings(async (warnings) => {
      const t = setupTelemetry();
      const m = await mock();
      const c = client(Anthropic, m);
      await c.messages.create({ ...ask("Hi"), model: "claude-unreleased-9" });
      await c.messages.create({ ...ask("Hi"), model: "claude-unreleased-9" });
      expect(t.records.map((r) => r.cost_usd)).toEqual([null, null]);
      expect(t.claudeSpans()[0]!.attributes["ballast.pricing.model"]).toBe("unknown");
      expect(t.claudeSpans()[0]!.attributes["gen_ai.usage.cost"]).toBeUndefined();
      expect((await t.metrics()).get("gen_ai.usage.cost")).toBeUndefined();
      expect(warnings.filter((w) => w.includes("claude-unreleased-9"))).toHaveLength(1);
    });
  });
});

describe("hostile model ids", () => {
  it("label unknown models past the first 50 as `other` in metrics; spans and records keep the id", async () => {
    await withDiagWarnings(async (warnings) => {
      const t = setupTelemetry();
      const m = await mock();
      const c = client(Anthropic, m);
      const ids = Array.from({ length: 60 }, (_, i) => `claude-made-up-${i}`);
      for (const model of ids) await c.messages.create({ ...ask("Hi"), model });
      await c.messages.create(ask("Hi")); // a known model keeps its label after the cap
      const labels = new Set(
        (await t.metrics()).get("gen_ai.client.operation.duration")!.map((p) => p.attributes["gen_ai.request.model"]),
      );
      expect(labels).toEqual(new Set([...ids.slice(0, 50), "other", MODEL]));
      expect(t.records.map((r) => r.model)).toEqual([...ids, MODEL]);
      expect(t.claudeSpans().map((s) => s.attributes["gen_ai.request.model"])).toEqual([...ids, MODEL]);
      // reported one by one up to 20 in the process (an earlier test's model is one), then once for all the rest
      expect(warnings.filter((w) => w.includes("no price for model")).length).toBeGreaterThanOrEqual(19);
      expect(warnings.filter((w) => w.includes("no price for model")).length).toBeLessThanOrEqual(20);
      expect(warnings.filter((w) => w.includes("not reported one by one"))).toHaveLength(1);
    });
  });

  it("keep the heap flat: after 100k calls with unique model ids within 5 MB of after 10k", async () => {
    const fixture = fileURLToPath(new URL("fixtures/unique-models.mjs", import.meta.url));
    const { stdout } = await run(process.execPath, ["--expose-gc", fixture, "10000", "100000"], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    });
    const heapMB = JSON.parse(stdout) as Record<string, number>;
    expect(heapMB["100000"]! - heapMB["10000"]!).toBeLessThan(5);
  }, 240_000);
});

describe("summed counters", () => {
  it("add up per series between collections and cap the series count like the SDK, overflow kept", async () => {
    const { MeterProvider, MetricReader } = await import("@opentelemetry/sdk-metrics");
    class Reader extends MetricReader {
      protected override async onForceFlush(): Promise<void> {}
      protected override async onShutdown(): Promise<void> {}
    }
    const reader = new Reader();
    const provider = new MeterProvider({ readers: [reader] });
    const counter = new SumCounter(provider.getMeter("t"), "ballast.claude.tokens", {
      description: "",
      unit: "{token}",
    });
    const points = async () => {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics[0]?.metrics[0]?.dataPoints ?? [];
    };
    counter.add(2, "claude-sonnet-4-6", "chat", "input");
    counter.add(3, "claude-sonnet-4-6", "chat", "input");
    counter.add(7, "claude-sonnet-4-6", undefined, "output");
    const series = (ps: Awaited<ReturnType<typeof points>>) => ps.map((p) => [p.attributes, p.value]);
    const chat = {
      "gen_ai.request.model": "claude-sonnet-4-6",
      "ballast.feature": "chat",
      "ballast.token.kind": "input",
    };
    const noFeature = { "gen_ai.request.model": "claude-sonnet-4-6", "ballast.token.kind": "output" };
    expect(series(await points())).toEqual([
      [chat, 5],
      [noFeature, 7],
    ]);
    counter.add(1, "claude-sonnet-4-6", "chat", "input");
    expect(series(await points())).toEqual([
      [chat, 6], // cumulative, as a synchronous counter's
      [noFeature, 7],
    ]);
    for (let i = 0; i < SumCounter.MAX_SERIES + 5; i++) counter.add(1, "claude-haiku-4-5", `f${i}`, "input");
    const all = await points();
    expect(all).toHaveLength(SumCounter.MAX_SERIES + 1);
    expect(all.find((p) => p.attributes["otel.metric.overflow"] === true)?.value).toBe(7); // 2 + 5 past the cap: none lost
    counter.add(1, "claude-haiku-4-5", "f1", "input"); // a series kept before the cap is still its own
    expect((await points()).find((p) => p.attributes["ballast.feature"] === "f1")?.value).toBe(2);
    await provider.shutdown();
  });
});

/** A real MeterProvider whose reader exports only when asked, and what its last export holds. */
async function exportingMeter() {
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = await import(
    "@opentelemetry/sdk-metrics"
  );
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const points = (name: string) =>
    exporter
      .getMetrics()
      .at(-1)
      ?.scopeMetrics[0]?.metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
  return {
    provider,
    reader,
    meter: provider.getMeter("t"),
    count: (name: string) => points(name).reduce((n, p) => n + (p.value as { count: number }).count, 0),
    sum: (name: string) => points(name).reduce((n, p) => n + (p.value as number), 0),
  };
}

/** A finished call as CallMetrics takes it: 10 input, 20 cache-read and 5 output tokens, priced. */
function finishedCall() {
  const usage = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 20 };
  return {
    model: MODEL,
    feature: "",
    provider: "anthropic",
    responseModel: MODEL,
    stream: false,
    errorType: "",
    stopReason: "end_turn",
    durationS: 0.5 as number | undefined,
    tokens: tokenCounts(usage),
    priced: priceCall({ model: MODEL, usage }),
    missedUsd: 0,
    ttftS: undefined as number | undefined,
    context: otelContext.active(),
  };
}

describe("call metrics", () => {
  it("are all in the collection that follows them, the exporting one at shutdown included", async () => {
    const { provider, reader, meter, count, sum } = await exportingMeter();
    const metrics = new CallMetrics(meter);
    const call = finishedCall();
    const calls = 519;
    for (let i = 0; i < calls; i++) metrics.record(call);
    await reader.forceFlush(); // in the same turn of the event loop
    expect(count("gen_ai.client.operation.duration")).toBe(calls);
    expect(count("gen_ai.client.token.usage")).toBe(2 * calls);
    expect(sum("ballast.claude.tokens")).toBe(35 * calls);
    expect(sum("gen_ai.usage.cost")).toBeCloseTo(calls * (call.priced?.usd ?? Number.NaN), 12);
    expect(sum("ballast.claude.cache_savings")).toBeCloseTo(calls * (call.priced?.cacheSavingsUsd ?? Number.NaN), 12);
    metrics.record({ ...call, stream: true, ttftS: 0.1, durationS: undefined, tokens: undefined, priced: undefined });
    await provider.shutdown();
    expect(count("gen_ai.client.operation.time_to_first_chunk")).toBe(1);
    expect(count("gen_ai.client.operation.duration")).toBe(calls); // a batch result has no duration
    expect(count("gen_ai.client.token.usage")).toBe(2 * calls);
  });

  it("reach a View's attributes processor with the context each call was made in", async () => {
    const tenant = {
      process: (attributes: Attributes, ctx?: Context) => ({
        ...attributes,
        tenant: (ctx && propagation.getBaggage(ctx)?.getEntry("tenant")?.value) ?? "none",
      }),
    };
    const t = setupTelemetry({
      views: [{ instrumentName: "gen_ai.client.operation.duration", attributesProcessors: [tenant] }],
    });
    const c = client(Anthropic, await mock());
    for (const name of ["a", "b"]) {
      const baggage = propagation.createBaggage({ tenant: { value: name } });
      await otelContext.with(propagation.setBaggage(otelContext.active(), baggage), () => c.messages.create(ask("Hi")));
    }
    const points = (await t.metrics()).get("gen_ai.client.operation.duration")!;
    expect(points.map((p) => p.attributes.tenant).sort()).toEqual(["a", "b"]);
  });

  it("survive a histogram that throws: it costs its own points only, not the call's counters", async () => {
    const { provider, reader, meter, sum } = await exportingMeter();
    const throwing = Object.create(meter, {
      createHistogram: {
        value: () => ({
          record: () => {
            throw new Error("histogram down");
          },
        }),
      },
    });
    const metrics = new CallMetrics(throwing);
    for (let i = 0; i < 3; i++) metrics.record(finishedCall());
    await reader.forceFlush();
    expect(sum("ballast.claude.tokens")).toBe(3 * 35);
    await provider.shutdown();
  });
});

describe("SDK objects stay as they are", () => {
  // The same assertions run without and with the instrumentation.
  async function exercise(m: Awaited<ReturnType<typeof mock>>) {
    const c = client(Anthropic, m);
    const out: Record<string, unknown> = {};
    const { data, response, request_id } = await c.messages.create(ask("Hello")).withResponse();
    out.withResponse = [data.type, response.status, request_id === response.headers.get("request-id")];
    const raw = await c.messages.create(ask("Hello")).asResponse();
    out.asResponse = [raw.status, ((await raw.json()) as { type: string }).type];
    const stream = await c.messages.create({ ...ask("Hello"), stream: true });
    const [left, right] = stream.tee();
    const count = async (s: AsyncIterable<unknown>) => {
      let n = 0;
      for await (const _ of s) n++;
      return n;
    };
    const [l, r] = await Promise.all([count(left), count(right)]);
    out.tee = [l === r, l > 5];
    const aborting = await c.messages.create({ ...ask("Hello"), stream: true });
    let seen = 0;
    for await (const event of aborting) {
      if (event.type === "content_block_delta" && ++seen === 2) aborting.controller.abort();
    }
    out.abort = seen;
    const helper = c.messages.stream(ask("Hello"));
    const texts: string[] = [];
    helper.on("text", (t) => texts.push(t));
    const final = await helper.finalMessage();
    out.messageStream = [texts.join("") === (final.content[0] as { text: string }).text, final.stop_reason];
    return out;
  }

  it("withResponse, asResponse, tee, controller.abort and MessageStream behave identically", async () => {
    // a small per-token delay, so an abort lands while the stream is still arriving
    const without = await exercise(await mock({ seed: 5, latency: { perTokenMs: 2 } }));
    const t = setupTelemetry();
    const withIt = await exercise(await mock({ seed: 5, latency: { perTokenMs: 2 } }));
    expect(withIt).toEqual(without);
    expect(without).toEqual({
      withResponse: ["message", 200, true],
      asResponse: [200, "message"],
      tee: [true, true],
      abort: 2,
      messageStream: [true, "end_turn"],
    });
    await until(() => t.records.length === 5, "five log records");
    expect(t.records.map((r) => r.outcome)).toEqual(["completed", "completed", "completed", "aborted", "completed"]);
  });
});

describe("one call, one record", () => {
  // SDK 1.x: a traced call is recorded from its own span as that ends, a call whose trace the sampler
  // dropped from its response and stream: the two records of the same call agree.
  const cutShort = [
    [
      "message_start",
      {
        type: "message_start",
        message: {
          id: "msg_cut",
          type: "message",
          role: "assistant",
          model: MODEL,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 9, output_tokens: 1 },
        },
      },
    ],
    ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Your" } }],
    ["content_block_stop", { type: "content_block_stop", index: 0 }],
    [
      "message_delta",
      { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 1 } },
    ],
  ]
    .map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    .join("");

  async function calls(m: Awaited<ReturnType<typeof mock>>): Promise<void> {
    const c = client(Anthropic, m, 2);
    const stream = () => c.messages.create({ ...ask("Hello there"), stream: true });
    await c.messages.create(ask("Hello there"));
    m.enqueue({ status: 429, retryAfterMs: 5 });
    await c.messages.create(ask("Hello there"));
    m.enqueue({ status: 529, times: 3, retryAfterMs: 5 });
    await c.messages.create(ask("Hello there")).catch(() => {});
    for await (const _ of await stream());
    for await (const event of await stream()) if (event.type === "content_block_delta") break;
    const aborting = await stream();
    for await (const event of aborting) if (event.type === "content_block_delta") aborting.controller.abort();
    m.enqueue({ stream: "error", after: 1 });
    await (async () => {
      for await (const _ of await stream());
    })().catch(() => {});
    m.enqueue({ body: cutShort, headers: { "content-type": "text/event-stream" } });
    for await (const _ of await stream());
  }

  it("whether its trace is sampled or not (SDK 1.x)", async () => {
    const seen: Array<Array<Record<string, unknown>>> = [];
    for (const sampled of [true, false]) {
      const t = setupTelemetry({ sampled });
      await calls(await mock({ seed: 7, latency: { perTokenMs: 1 } }));
      await until(() => t.records.length === 8, "eight log records");
      expect(t.claudeSpans()).toHaveLength(sampled ? 8 : 0);
      seen.push(
        t.records.map(({ request_id, ttft_ms, latency_ms, timestamp, trace_id, span_id, user_id, ...rest }) => ({
          ...rest,
          request_id: request_id !== null,
          ttft_ms: ttft_ms !== null,
        })),
      );
      await t.shutdown();
    }
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]!.map((r) => [r.outcome, r.error, r.retries])).toEqual([
      ["completed", null, 0],
      ["completed", null, 1],
      ["failed", "overloaded_error", 2],
      ["completed", null, 0],
      ["abandoned", null, 0],
      ["aborted", null, 0],
      ["failed", "overloaded_error", 0],
      ["failed", "api_error", 0],
    ]);
    // what was known: the input of every call that answered, the output once final
    expect(seen[0]!.map((r) => [r.input_tokens, (r.output_tokens as number) > 0])).toEqual([
      [9, true],
      [9, true],
      [0, false],
      [9, true],
      [9, false],
      [9, false],
      [9, false],
      [9, true],
    ]);
  });

  it("on a tracer provider that never calls onEnding: recorded as the span ends", async () => {
    const t = setupTelemetry({ noOnEnding: true });
    const m = await mock();
    await client(Anthropic, m).messages.create(ask("Hello there"));
    for await (const _ of await client(Anthropic, m).messages.create({ ...ask("Hello there"), stream: true }));
    await until(() => t.records.length === 2, "two log records");
    expect(t.records.map((r) => [r.outcome, r.input_tokens, r.cost_usd !== null, r.stream])).toEqual([
      ["completed", 9, true, false],
      ["completed", 9, true, true],
    ]);
    expect(t.claudeSpans()).toHaveLength(2);
  });
});

describe("sampling", () => {
  it("keeps metrics and log records right when the sampler drops every trace", async () => {
    const t = setupTelemetry({ sampled: false });
    const m = await mock();
    await client(SDKS[0].Client, m).messages.create(ask("Hello"));
    await client(SDKS[1].Client, m).messages.create(ask("Hello"));
    expect(t.claudeSpans()).toHaveLength(0);
    expect(t.records).toHaveLength(2);
    expect(t.records.every((r) => r.cost_usd !== null && r.input_tokens === 8)).toBe(true);
    const duration = (await t.metrics()).get("gen_ai.client.operation.duration")!;
    expect((duration[0]!.value as { count: number }).count).toBe(2);
  });
});

describe("never breaks the app", () => {
  it("returns the call normally with a throwing exporter, processor, meter and onCall", async () => {
    class Broken extends InMemorySpanExporter {
      override export(): void {
        throw new Error("exporter down");
      }
    }
    const throwing: SpanProcessor = {
      onStart: () => {
        throw new Error("processor");
      },
      onEnd: (_s: ReadableSpan) => {
        throw new Error("processor");
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const t = setupTelemetry({
      extraProcessors: [
        throwing,
        new (await import("@opentelemetry/sdk-trace")).SimpleSpanProcessor({ exporter: new Broken() }),
      ],
      config: {
        onCall: () => {
          throw new Error("user callback");
        },
      },
    });
    const brokenMeter = {
      getMeter: () =>
        new Proxy(
          {},
          {
            get: () => () => ({
              record: () => {
                throw new Error("meter");
              },
              add: () => {
                throw new Error("meter");
              },
            }),
          },
        ),
    };
    t.instrumentation.setMeterProvider(brokenMeter as never);
    const m = await mock();
    for (const { Client } of SDKS) {
      const msg = await client(Client, m).messages.create(ask("Hello"));
      expect(msg.type).toBe("message");
      const streamed = await client(Client, m).messages.stream(ask("Hello")).finalMessage();
      expect(streamed.stop_reason).toBe("end_turn");
    }
  });

  it("counts every failure in ballast.claude.telemetry.failures and tells the diag logger of the first", async () => {
    await withDiagWarnings(async (warnings) => {
      const t = setupTelemetry();
      const failures = async () =>
        new Map(
          ((await t.metrics()).get("ballast.claude.telemetry.failures") ?? []).map((p) => [
            p.attributes["ballast.telemetry.step"],
            p.value as number,
          ]),
        );
      const before = await failures();
      const broken = {
        emit: () => {
          throw new Error("log pipeline down");
        },
      };
      t.instrumentation.setLoggerProvider({ getLogger: () => broken } as never);
      const m = await mock();
      for (const { Client } of SDKS) {
        for (let i = 0; i < 3; i++)
          expect((await client(Client, m).messages.create(ask("Hello"))).type).toBe("message");
      }
      const after = await failures();
      const step = "emitting the log record";
      expect((after.get(step) ?? 0) - (before.get(step) ?? 0)).toBe(6);
      // the calls themselves are still counted, and their records still reach onCall
      expect(t.records).toHaveLength(6);
      const told = warnings.filter((w) => w.includes(step));
      expect(told).toHaveLength(1);
      expect(told[0]).toContain("further failures are counted in ballast.claude.telemetry.failures");
    });
  });

  it("copes with usage of the wrong types", async () => {
    const t = setupTelemetry();
    const m = await mock();
    const odd = {
      id: "msg_odd",
      type: "message",
      role: "assistant",
      model: MODEL,
      content: [{ type: "text", text: "ok" }],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: "12", output_tokens: null, cache_read_input_tokens: -3, cache_creation: "weird" },
    };
    for (const { Client } of SDKS) {
      m.enqueue({ body: odd });
      const msg = await client(Client, m).messages.create(ask("Hello"));
      expect(msg.id).toBe("msg_odd");
    }
    // SDK 1.x: the call is recorded from its span, which holds numbers only (the SDK skips "12")
    expect(t.records[0]).toMatchObject({ input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, stop_reason: null });
    expect(t.records[0]!.cost_usd).toBeNull();
    // SDK 0.133: Ballast reads the usage itself and takes "12" for 12
    expect(t.records[1]).toMatchObject({ input_tokens: 12, output_tokens: 0, cache_read_tokens: 0, stop_reason: null });
    expect(t.records[1]!.cost_usd).toBeCloseTo((12 * 3) / 1e6, 12);
  });
});

describe("attribution and privacy", () => {
  it("takes user and feature from baggage when there is no withClaudeContext", async () => {
    const t = setupTelemetry();
    const m = await mock();
    const bag = propagation.createBaggage({
      "user.id": { value: "user_from_baggage" },
      "ballast.feature": { value: "search" },
    });
    await otelContext.with(propagation.setBaggage(otelContext.active(), bag), () =>
      client(Anthropic, m).messages.create(ask("Hello")),
    );
    expect(t.records[0]).toMatchObject({ user_id: "user_from_baggage", feature: "search" });
    expect(t.claudeSpans()[0]!.attributes).toMatchObject({
      "user.id": "user_from_baggage",
      "ballast.feature": "search",
    });
  });

  it("validates withClaudeContext input", () => {
    expect(() => withClaudeContext({ userId: "" }, () => 1)).toThrow(
      "`userId` must be a string of 1 to 256 characters",
    );
    expect(() => withClaudeContext({ feature: "a\nb" }, () => 1)).toThrow(
      "`feature` must not contain control characters",
    );
    expect(withClaudeContext({ userId: "u1" }, () => withClaudeContext({ feature: "f" }, () => 42))).toBe(42);
  });

  it("records content only when opted in, truncated to maxBytes", async () => {
    const t = setupTelemetry({ config: { captureContent: { maxBytes: 40 } } });
    const m = await mock();
    m.enqueue({ reply: { text: "Your order shipped." } });
    for (const { Client } of SDKS) {
      m.enqueue({ reply: { text: "Your order shipped." } });
      await client(Client, m).messages.create({ ...ask("Where is order 1234? ".repeat(10)), system: "Be brief." });
    }
    for (const span of t.claudeSpans()) {
      expect(span.attributes["gen_ai.system_instructions"]).toBe("Be brief.");
      const input = String(span.attributes["gen_ai.input.messages"]);
      expect(Buffer.byteLength(input)).toBeLessThanOrEqual(40 + 3);
      expect(input).toBe(`${'[{"role":"user","content":"Where is order 1234? Where is order'.slice(0, 40)}…`);
      expect(span.attributes["gen_ai.output.messages"]).toBe('[{"role":"assistant","parts":[{"type":"t…');
    }
    expect(() => setupTelemetry({ config: { captureContent: { maxBytes: 0 } } })).toThrow(
      "`captureContent` must be a boolean or { maxBytes: integer ≥ 1 }",
    );
  });
});
