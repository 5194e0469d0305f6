import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import Anthropic, * as sdk from "@anthropic-ai/sdk";
import { type MockClaude, startMockClaude } from "@ballast/claude-mock";
import { ClaudeInstrumentation, ClaudeSpanProcessor } from "@ballast/otel-claude";
import { retryPolicy, withRetry } from "@ballast/retry";
import { memoryKV, redisKV } from "@ballast/store";
import { startRedis } from "@ballast/test-services";
import { context, metrics, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { cacheable, cacheStatus, withResponseCache } from "../src/index.js";

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const MODEL = "claude-sonnet-4-6";
const ask = (content = "What is your refund policy?") => ({
  model: MODEL,
  max_tokens: 200,
  temperature: 0,
  messages: [{ role: "user" as const, content }],
});
const text = (m: Anthropic.Message) => m.content.map((b) => (b.type === "text" ? b.text : "")).join("");

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function mock(options: Parameters<typeof startMockClaude>[0] = {}): Promise<MockClaude> {
  const m = await startMockClaude(options);
  cleanups.push(() => m.close());
  return m;
}
const api = (m: MockClaude) => new Anthropic({ baseURL: m.url, apiKey: "sk-test", maxRetries: 0 });
const onWire = (m: MockClaude) => m.requests.filter((r) => r.path === "/v1/messages").length;

describe("serving identical requests from the cache", () => {
  it("answers a repeated temperature-0 request from the cache: one API call, the same message", async () => {
    const m = await mock();
    const client = withResponseCache(api(m), { ttl: "10m" });
    const first = await client.messages.create(ask());
    const second = await client.messages.create(ask());
    expect(onWire(m)).toBe(1);
    expect(cacheStatus(first)).toBeUndefined();
    expect(cacheStatus(second)).toMatchObject({ status: "hit" });
    expect(second).toEqual(first);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first)); // the mark is not part of the message
    // the SDK's helpers work on a cached answer
    const { data, response } = await client.messages.create(ask()).withResponse();
    expect(text(data)).toBe(text(first));
    expect(response.headers.get("x-ballast-response-cache")).toBe("hit");
  });

  it("caches only what is safe by default: temperature 0 or cacheable: true, never tool results unless allowed", async () => {
    const m = await mock();
    const client = withResponseCache(api(m), { ttl: "10m" });
    const warm = { ...ask("warm"), temperature: 0.7 };
    await client.messages.create(warm);
    await client.messages.create(warm);
    expect(onWire(m)).toBe(2); // sampled answers differ: not cached
    // SDK 1.x's types have no temperature: a call opts in with cacheable(), typed as request options
    const { temperature: _t, ...typed } = warm;
    await client.messages.create(typed, cacheable());
    await client.messages.create(typed, cacheable({ timeout: 10_000 }));
    expect(onWire(m)).toBe(3);
    await client.messages.create(warm, { cacheable: true } as never); // plain JavaScript's form
    await client.messages.create(warm, { cacheable: true } as never);
    expect(onWire(m)).toBe(4);
    await client.messages.create(ask("opt out"), cacheable({}, false));
    await client.messages.create(ask("opt out"), { cacheable: false } as never);
    expect(onWire(m)).toBe(6);
    const withToolResult = {
      ...ask(),
      messages: [
        { role: "user" as const, content: "weather?" },
        { role: "assistant" as const, content: [{ type: "tool_use" as const, id: "t1", name: "weather", input: {} }] },
        { role: "user" as const, content: [{ type: "tool_result" as const, tool_use_id: "t1", content: "sunny" }] },
      ],
    };
    await client.messages.create(withToolResult);
    await client.messages.create(withToolResult);
    expect(onWire(m)).toBe(8);
    const allowing = withResponseCache(api(m), { ttl: "10m", allowToolResults: true, store: memoryKV() });
    await allowing.messages.create(withToolResult);
    await allowing.messages.create(withToolResult);
    expect(onWire(m)).toBe(9);
  });

  it("keys on every parameter that shapes the answer, not on stream", async () => {
    const m = await mock();
    const client = withResponseCache(api(m), { ttl: "10m" });
    await client.messages.create(ask());
    await client.messages.create({ ...ask(), max_tokens: 201 });
    await client.messages.create({ ...ask(), system: "Be brief." });
    expect(onWire(m)).toBe(3);
    // the same request streamed is the same answer
    const streamed = await client.messages.stream(ask()).finalMessage();
    expect(onWire(m)).toBe(3);
    expect(text(streamed)).toBe(text(await client.messages.create(ask())));
    // a custom key: the question only
    const byQuestion = withResponseCache(api(m), {
      ttl: "10m",
      store: memoryKV(),
      key: (p) => (p.messages as Array<{ content: unknown }>).at(-1)?.content,
    });
    await byQuestion.messages.create({ ...ask(), system: "A" });
    await byQuestion.messages.create({ ...ask(), system: "B" });
    expect(onWire(m)).toBe(4);
  });

  it("gives a streamed hit the same events as the live stream, through the SDK", async () => {
    const m = await mock();
    const client = withResponseCache(api(m), { ttl: "10m" });
    const run = async () => {
      const events: string[] = [];
      const stream = client.messages.stream(ask());
      stream.on("streamEvent", (e) =>
        events.push(e.type === "content_block_delta" ? `${e.type}:${e.delta.type}` : e.type),
      );
      const message = await stream.finalMessage();
      // consecutive deltas of one block collapse: the replay chunks text by words
      return { message, events: events.filter((e, i) => e !== events[i - 1]) };
    };
    const live = await run();
    const replayed = await run();
    expect(onWire(m)).toBe(1);
    expect(replayed.events).toEqual(live.events);
    expect(replayed.events).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta:text_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(replayed.message).toEqual(live.message);
    // raw `stream: true` too: the SDK's own Stream, iterable, from the cache
    const raw = await client.messages.create({ ...ask(), stream: true });
    expect(cacheStatus(raw)).toMatchObject({ status: "hit" });
    let streamedText = "";
    for await (const e of raw)
      if (e.type === "content_block_delta" && e.delta.type === "text_delta") streamedText += e.delta.text;
    expect(streamedText).toBe(text(live.message));
    expect(onWire(m)).toBe(1);
  });

  it("makes exactly one request on the wire for 100 concurrent identical requests", async () => {
    const m = await mock({ latency: { ttftMs: 100 } });
    const client = withResponseCache(api(m), { ttl: "10m" });
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        i % 2 ? client.messages.create(ask()) : client.messages.stream(ask()).finalMessage(),
      ),
    );
    expect(onWire(m)).toBe(1);
    expect(new Set(answers.map(text)).size).toBe(1);
    // create() results carry their mark (stream() builds its own final message): all but the leader's
    expect(answers.filter((a) => cacheStatus(a)?.status === "hit").length).toBeGreaterThanOrEqual(49);
  });

  it("lets the waiting requests ask again when the leading one is aborted by its caller", async () => {
    const m = await mock({ latency: { ttftMs: 200 } });
    const client = withResponseCache(api(m), { ttl: "10m" });
    const controller = new AbortController();
    const leader = client.messages.create(ask(), { signal: controller.signal });
    const follower = client.messages.create(ask());
    setTimeout(() => controller.abort(), 50);
    await expect(leader).rejects.toThrow();
    expect(text(await follower)).not.toBe("");
    expect(onWire(m)).toBe(2);
  });

  it("shares answers between two processes on one Redis", async () => {
    const m = await mock();
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const run = () =>
      new Promise<{ text: string; status: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ["test/fixtures/ask-once.mjs", m.url, redis.url], {
          cwd: fileURLToPath(new URL("..", import.meta.url)),
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => {
          out += d;
        });
        child.stderr.on("data", (d) => {
          err += d;
        });
        child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
      });
    const first = await run();
    const second = await run();
    expect(onWire(m)).toBe(1);
    expect([first.status, second.status]).toEqual(["api", "hit"]);
    expect(second.text).toBe(first.text);
  });
});

describe("isolation and what is stored (real Redis)", () => {
  async function sharedRedis() {
    const redis = await startRedis();
    const connection = new Redis(redis.url);
    cleanups.push(() => redis.stop());
    cleanups.push(() => connection.disconnect());
    return connection;
  }
  /** every key and value in Redis, as one string */
  async function everything(redis: Redis): Promise<string> {
    const keys = await redis.keys("*");
    const values = await Promise.all(keys.map((k) => redis.get(k)));
    return JSON.stringify([keys, values]);
  }
  const tenant = (m: MockClaude, apiKey: string, baseURL = m.url) => new Anthropic({ baseURL, apiKey, maxRetries: 0 });

  it("never serves one tenant's answer to another sharing the store, and never stores a key", async () => {
    const m = await mock();
    const redis = await sharedRedis();
    const options = { store: redisKV({ client: redis }), ttl: "10m" };
    const a = withResponseCache(tenant(m, "sk-ant-tenant-A-0123456789"), options);
    const b = withResponseCache(tenant(m, "sk-ant-tenant-B-0123456789"), options);
    const fromA = await a.messages.create(ask(), cacheable());
    const fromB = await b.messages.create(ask(), cacheable());
    expect(cacheStatus(fromB)).toBeUndefined(); // B's first request went to the API
    expect(onWire(m)).toBe(2);
    expect(cacheStatus(await a.messages.create(ask(), cacheable()))).toMatchObject({ status: "hit" });
    expect(cacheStatus(await b.messages.create(ask(), cacheable()))).toMatchObject({ status: "hit" });
    expect(onWire(m)).toBe(2);
    expect(fromA.id).not.toBe(fromB.id);
    // the same key through another base URL (a proxy, another region) is another endpoint
    const viaProxy = withResponseCache(tenant(m, "sk-ant-tenant-A-0123456789", `${m.url}/`), options);
    expect(cacheStatus(await viaProxy.messages.create(ask(), cacheable()))).toBeUndefined();
    const stored = await everything(redis);
    expect(stored).not.toContain("tenant-A");
    expect(stored).not.toContain("tenant-B");
  });

  it("shares across clients only when asked", async () => {
    const m = await mock();
    const redis = await sharedRedis();
    const options = { store: redisKV({ client: redis }), ttl: "10m", shareAcrossClients: true };
    await withResponseCache(tenant(m, "sk-one"), options).messages.create(ask(), cacheable());
    const other = await withResponseCache(tenant(m, "sk-two"), options).messages.create(ask(), cacheable());
    expect(cacheStatus(other)).toMatchObject({ status: "hit" });
    expect(onWire(m)).toBe(1);
  });

  it("stores only complete answers: not a 200 error body, not a refusal, a max_tokens cut only when asked", async () => {
    const m = await mock();
    const redis = await sharedRedis();
    const options = { store: redisKV({ client: redis }), ttl: "10m" };
    const c = withResponseCache(api(m), options);
    const twice = async (params: ReturnType<typeof ask>, stream: boolean, client = c) => {
      for (let i = 0; i < 2; i++) {
        if (stream) await client.messages.stream(params, cacheable()).finalMessage();
        else await client.messages.create(params, cacheable());
      }
    };

    const errorBody = { type: "error", error: { type: "api_error", message: "Internal server error" } };
    m.enqueue({ body: errorBody, status: 200 });
    await c.messages.create(ask("error body"), cacheable());
    await c.messages.create(ask("error body"), cacheable());
    expect(onWire(m)).toBe(2);

    const refusal = {
      id: "msg_01refusal",
      type: "message",
      role: "assistant",
      model: MODEL,
      content: [{ type: "text", text: "I can't help with that." }],
      stop_reason: "refusal",
      stop_sequence: null,
      usage: { input_tokens: 9, output_tokens: 7 },
    };
    m.enqueue({ body: refusal, status: 200 });
    await twice(ask("refused"), false);
    expect(onWire(m)).toBe(4);

    const cut = { ...ask("a long answer, please"), max_tokens: 3 };
    for (const stream of [false, true]) await twice(cut, stream);
    expect(onWire(m)).toBe(8);
    const keeping = withResponseCache(api(m), { ...options, cacheTruncated: true, namespace: "truncated" });
    for (const stream of [false, true]) await twice(cut, stream, keeping);
    expect(onWire(m)).toBe(9); // stored once, then served to both shapes
    // what is stored: the normal answers that followed the error body and the refusal, and the one cut answer
    const stored = await everything(redis);
    expect(stored).not.toContain("refusal");
    expect(stored).not.toContain("api_error");
    expect(await redis.keys("ballast:response-cache:default:*")).toHaveLength(2);
  });
});

describe("stale-if-error", () => {
  it("serves a cached answer past its ttl when the API is down (529 after retries), marked stale", async () => {
    const m = await mock();
    const client = withResponseCache(withRetry(api(m), retryPolicy({ baseDelayMs: 1, budget: false })), {
      ttl: 50,
      staleTtl: "1h",
    });
    const fresh = await client.messages.create(ask());
    await new Promise((r) => setTimeout(r, 80));
    m.enqueue({ status: 529, times: 100 });
    const before = onWire(m);
    const stale = await client.messages.create(ask());
    expect(onWire(m) - before).toBe(3); // the retry policy's three attempts, then the cache
    expect(cacheStatus(stale)).toMatchObject({ status: "stale" });
    expect(cacheStatus(stale)!.ageMs).toBeGreaterThanOrEqual(50);
    expect(text(stale)).toBe(text(fresh));
    // streamed too
    const streamed = await client.messages.stream(ask()).finalMessage();
    expect(text(streamed)).toBe(text(fresh));
  });

  it("throws the API's own error when nothing is cached, and never covers a bad request", async () => {
    const m = await mock();
    const client = withResponseCache(api(m), { ttl: 50, staleTtl: "1h" });
    m.enqueue({ status: 529, times: 1 });
    await expect(client.messages.create(ask())).rejects.toMatchObject({ status: 529 });
    await client.messages.create(ask());
    await new Promise((r) => setTimeout(r, 80));
    m.enqueue({ status: 400, times: 1 });
    await expect(client.messages.create(ask())).rejects.toMatchObject({ status: 400 });
    // past ttl + staleTtl nothing is served
    const short = withResponseCache(api(m), { ttl: 20, staleTtl: 20, store: memoryKV() });
    await short.messages.create(ask());
    await new Promise((r) => setTimeout(r, 60));
    m.enqueue({ status: 529, times: 1 });
    await expect(short.messages.create(ask())).rejects.toMatchObject({ status: 529 });
  });
});

describe("telemetry", () => {
  it("marks the SDK's span of a replayed answer, counts no tokens for it, and counts hits, misses, stale serves and USD saved", async () => {
    const spans = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({
      spanProcessors: [new ClaudeSpanProcessor(), new SimpleSpanProcessor({ exporter: spans })],
    });
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
    const instrumentation = new ClaudeInstrumentation();
    instrumentation.setTracerProvider(tracerProvider);
    instrumentation.setMeterProvider(meterProvider);
    instrumentation.manuallyInstrument(sdk);
    cleanups.push(async () => {
      instrumentation.disable();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      trace.disable();
      metrics.disable();
    });
    const m = await mock();
    const client = withResponseCache(api(m), { ttl: 50, staleTtl: "1h" });
    const first = await client.messages.create(ask());
    await client.messages.create(ask());
    await new Promise((r) => setTimeout(r, 80));
    m.enqueue({ status: 529, times: 1 });
    await client.messages.create(ask());
    const claude = spans.getFinishedSpans().filter((s) => s.name === "anthropic.messages.create");
    // live, hit, failed live attempt, stale: one span each, the replays marked and unpriced
    expect(claude.map((s) => s.attributes["ballast.response_cache"] ?? "-")).toEqual(["-", "hit", "-", "stale"]);
    expect(claude[0]!.attributes["gen_ai.usage.cost"]).toBeGreaterThan(0);
    expect(claude[1]!.attributes["gen_ai.usage.cost"]).toBeUndefined();
    await reader.forceFlush();
    const points = (name: string) =>
      exporter
        .getMetrics()
        .at(-1)!
        .scopeMetrics.flatMap((s) => s.metrics)
        .filter((x) => x.descriptor.name === name)
        .flatMap((x) => x.dataPoints as Array<{ attributes: Record<string, unknown>; value: number }>);
    const outcomes = Object.fromEntries(
      points("ballast.response_cache.requests").map((p) => [p.attributes["ballast.response_cache.outcome"], p.value]),
    );
    // a miss is a request that went to the API: the first, and the failed one the stale answer covered
    expect(outcomes).toEqual({ miss: 2, hit: 1, stale: 1 });
    // Sonnet 4.6: $3 in, $15 out per million; two answers served without the API
    const u = first.usage;
    const price = (u.input_tokens * 3 + u.output_tokens * 15) / 1e6;
    expect(points("ballast.response_cache.saved")[0]!.value).toBeCloseTo(2 * price, 12);
    // cost and tokens were counted for the one live answer only
    const cost = points("gen_ai.usage.cost").reduce((s, p) => s + p.value, 0);
    expect(cost).toBeCloseTo(price, 12);
  });

  it("keeps answering from the API when the store fails, and counts it", async () => {
    const m = await mock();
    const broken = memoryKV();
    broken.get = async () => {
      throw new Error("store down");
    };
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (msg: string) => warnings.push(msg);
    cleanups.push(() => {
      console.warn = warn;
    });
    const client = withResponseCache(api(m), { ttl: "10m", store: broken });
    await client.messages.create(ask());
    await client.messages.create(ask());
    expect(onWire(m)).toBe(2);
    expect(warnings).toHaveLength(1); // logged once
    expect(warnings[0]).toContain("store get failed");
  });
});

describe("options", () => {
  it("refuse bad input naming the option and what is accepted", () => {
    const c = new Anthropic({ apiKey: "sk-test" });
    expect(() => withResponseCache(c, { ttl: "ten minutes" })).toThrow(
      'withResponseCache: `ttl` must be > 0 ms or a duration like "30s", "10m", "1h", "1d"; got "ten minutes"',
    );
    expect(() => withResponseCache(c, { ttl: "1m", staleTtl: -1 })).toThrow("`staleTtl` must be ≥ 0 ms");
    expect(() => withResponseCache(c, { ttl: "1m", namespace: "a b" })).toThrow("`namespace` must be 1–64 letters");
    expect(() => withResponseCache(c, { ttl: "1m", when: true as never })).toThrow("`when` must be a function");
    expect(() => withResponseCache(c, { ttl: "1m", shareAcrossClients: "yes" as never })).toThrow(
      'withResponseCache: `shareAcrossClients` must be true or false; got "yes"',
    );
    expect(() => withResponseCache({} as never, { ttl: "1m" })).toThrow("`client` must be an Anthropic SDK client");
  });
});
