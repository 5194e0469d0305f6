// Every wrapper alone and in every order, on every call shape, with ClaudeInstrumentation and
// ClaudeSpanProcessor on: what users see at the seams between Ballast's packages.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type Anthropic from "@anthropic-ai/sdk";
import type { MockClaude } from "@ballast/claude-mock";
import { createGovernor, createRateLimiter, type RateLimiter, withGovernor, withRateLimit } from "@ballast/ratelimit";
import { cacheable, cacheStatus, withResponseCache } from "@ballast/response-cache";
import { retryPolicy, withRetry } from "@ballast/retry";
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { ask, askForJson, client, MODEL, mock, SDKS, setupTelemetry, until } from "../../otel-claude/test/harness.js";

const FALLBACK = "claude-haiku-4-5";
// Hand-computed from the mock's tokenizer: "Hello there" is 9 input tokens; the reply 5 output tokens
// (Your 1, order 1, shipped 2, "." 1); parse's JSON reply 8. Sonnet 4.6: $3 / $15, Haiku 4.5: $1 / $5 per million.
const INPUT = 9;
const REPLY = { text: "Your order shipped.", tokens: 5 };
const JSON_REPLY = { text: '{"answer":4}', tokens: 8 };
const PRICES: Record<string, [number, number]> = { [MODEL]: [3, 15], [FALLBACK]: [1, 5] };
/** USD for a model id or its dated snapshot (the mock answers with one) */
const usd = (model: string, input: number, output: number) => {
  const prices = Object.entries(PRICES).find(([id]) => model.startsWith(id));
  if (!prices) throw new Error(`no hand price for ${model}`);
  const [i, o] = prices[1];
  return (input * i + output * o) / 1_000_000;
};

type Layer = "retry" | "governor" | "cache" | "limit";
const permutations = (items: Layer[]): Layer[][] =>
  items.length <= 1
    ? [items]
    : items.flatMap((x, i) => permutations(items.filter((_, j) => j !== i)).map((p) => [x, ...p]));
const STACKS: Layer[][] = [
  [],
  ["retry"],
  ["governor"],
  ["cache"],
  ["limit"],
  ...permutations(["retry", "governor", "cache", "limit"]),
];

const TOKEN_BUDGET = 1_000_000;
/** What the "limit" layer's key has spent of its token budget (a zero demand sees what is left). */
const spentTokens = async (limiter: RateLimiter) =>
  TOKEN_BUDGET - ((await limiter.acquire("k", {})).remaining.tokens as number);

/** Wraps `base` with `layers`, the first innermost: ["retry", "cache"] is withResponseCache(withRetry(base)). */
function wrap(base: Anthropic, layers: Layer[], limiter?: RateLimiter): Anthropic {
  let c = base;
  for (const layer of layers) {
    if (layer === "retry") c = withRetry(c, retryPolicy({ baseDelayMs: 1, fallbackModels: [FALLBACK] }));
    if (layer === "governor") c = withGovernor(c, createGovernor());
    if (layer === "cache") c = withResponseCache(c, { ttl: "1m" });
    if (layer === "limit") c = withRateLimit(c, limiter ?? tokenLimiter(), { key: () => "k" });
  }
  return c;
}

const tokenLimiter = () =>
  createRateLimiter({
    name: "matrix",
    rules: [{ name: "tokens", limit: TOKEN_BUDGET, window: "1h", measure: "tokens" }],
  });

interface Shape {
  stream: boolean;
  reply: typeof REPLY;
  /** makes the call; returns what `cacheStatus()` is read from */
  run(c: Anthropic): Promise<unknown>;
}

const SHAPES: Record<string, Shape> = {
  create: { stream: false, reply: REPLY, run: (c) => c.messages.create(ask("Hello there"), cacheable()) },
  "create stream": {
    stream: true,
    reply: REPLY,
    run: async (c) => {
      const stream = await c.messages.create({ ...ask("Hello there"), stream: true }, cacheable());
      for await (const _ of stream);
      return stream;
    },
  },
  "messages.stream": {
    stream: true,
    reply: REPLY,
    run: (c) => c.messages.stream(ask("Hello there"), cacheable()).finalMessage(),
  },
  parse: {
    stream: false,
    reply: JSON_REPLY,
    run: async (c) => {
      const m = await c.messages.parse(askForJson("Hello there") as never, cacheable());
      expect((m as { parsed_output?: unknown }).parsed_output).toEqual({ answer: 4 });
      return m;
    },
  },
};

/** Counts spans as they start and end: an SDK span that is never ended is lost telemetry and a leak. */
class CountingProcessor implements SpanProcessor {
  started = 0;
  ended = 0;
  onStart(_span: Span, _context: Context): void {
    this.started++;
  }
  onEnd(_span: ReadableSpan): void {
    this.ended++;
  }
  async forceFlush() {}
  async shutdown() {}
}

type Outcome = "success" | "529 then fallback" | "stream error before the first delta" | "cache hit";
const OUTCOMES: Outcome[] = ["success", "529 then fallback", "stream error before the first delta", "cache hit"];

function applies(outcome: Outcome, layers: Layer[], shape: Shape): boolean {
  if (outcome === "529 then fallback") return layers.includes("retry");
  if (outcome === "stream error before the first delta") return shape.stream;
  if (outcome === "cache hit") return layers.includes("cache");
  return true;
}

const wire = (m: MockClaude) => m.requests.filter((r) => r.path === "/v1/messages");

const cells = SDKS.flatMap((sdk) =>
  STACKS.flatMap((layers) =>
    Object.entries(SHAPES).flatMap(([shapeName, shape]) =>
      OUTCOMES.filter((outcome) => applies(outcome, layers, shape)).map((outcome) => ({
        name: `${sdk.name} · ${layers.join(" → ") || "no wrapper"} · ${shapeName} · ${outcome}`,
        sdk,
        layers,
        shape,
        outcome,
      })),
    ),
  ),
);

describe("wrappers composed with the instrumentation", () => {
  for (const { name, sdk, layers, shape, outcome } of cells)
    it(name, async () => {
      const counting = new CountingProcessor();
      const t = setupTelemetry({ extraProcessors: [counting] });
      const m = await mock();
      const limiter = tokenLimiter();
      const c = wrap(client(sdk.Client, m), layers, limiter);
      const reply = { reply: { text: shape.reply.text } };
      const cacheInStack = layers.includes("cache");

      if (outcome === "cache hit") {
        m.enqueue(reply);
        await shape.run(c);
      }
      if (outcome === "529 then fallback") m.enqueue({ status: 529 }, reply);
      else if (outcome === "stream error before the first delta") m.enqueue({ stream: "error", after: 0 }, reply);
      else if (outcome === "success") m.enqueue(reply);

      const callsBefore = t.records.length;
      const spansBefore = t.claudeSpans().length;
      const tokensBefore = await spentTokens(limiter);
      const wireBefore = wire(m).length;
      let result: unknown;
      let error: unknown;
      try {
        result = await shape.run(c);
      } catch (e) {
        error = e;
      }
      const retried = layers.includes("retry");
      const fails = outcome === "stream error before the first delta" && !retried;
      if (fails) {
        // the SDK's own error class reaches the caller, whatever wraps the client
        expect(error).toBeInstanceOf(sdk.module.APIError);
        expect((error as { error?: { error?: { type?: string } } }).error?.error?.type).toBe("overloaded_error");
      } else {
        expect(error).toBeUndefined();
      }

      const onWire = wire(m).length - wireBefore;
      const hit = outcome === "cache hit";
      const expectedOnWire = hit ? 0 : outcome === "success" || fails ? 1 : 2;
      expect(onWire).toBe(expectedOnWire);
      // one call record per call the user made, however many requests it took; one span per request
      // that reached the wire, and one for an answer replayed from the cache
      await until(() => t.records.length - callsBefore >= 1, "the call record");
      await until(() => counting.ended === counting.started, `spans ended (${counting.ended} of ${counting.started})`);
      const records = t.records.slice(callsBefore);
      expect(records).toHaveLength(1);
      expect(t.claudeSpans().length - spansBefore).toBe(expectedOnWire + (hit ? 1 : 0));

      const record = records[0]!;
      if (fails) {
        // the stream had started: its input was billed
        expect(record).toMatchObject({
          outcome: "failed",
          error: "overloaded_error",
          input_tokens: INPUT,
          output_tokens: 0,
        });
        expect(record.cost_usd).toBeCloseTo(usd(MODEL, INPUT, 0), 12);
      } else if (hit) {
        expect(record).toMatchObject({ outcome: "completed", input_tokens: 0, output_tokens: 0, retries: 0 });
        expect(record.cost_usd ?? 0).toBe(0);
        expect(cacheStatus(result)).toMatchObject({ status: "hit" });
      } else {
        // an overloaded model, whether it said so with a 529 or in its stream, is handed to the fallback
        const answeredBy = onWire === 2 ? FALLBACK : MODEL;
        // a stream that broke before its first delta had its input billed; a 529 bills nothing
        const brokenStream = outcome === "stream error before the first delta";
        const billedInput = brokenStream ? 2 * INPUT : INPUT;
        expect(record).toMatchObject({
          outcome: "completed",
          model: MODEL,
          response_model: expect.stringMatching(new RegExp(`^${answeredBy}`)),
          input_tokens: billedInput,
          output_tokens: shape.reply.tokens,
          retries: onWire - 1,
        });
        const cost = usd(answeredBy, INPUT, shape.reply.tokens) + (brokenStream ? usd(MODEL, INPUT, 0) : 0);
        expect(record.cost_usd).toBeCloseTo(cost, 12);
        if (cacheInStack) expect(cacheStatus(result)).toBeUndefined();
      }
      if (layers.includes("limit")) {
        // settled to what the requests it saw used: a cache hit nothing; a stream broken after its
        // message_start its input too, when the limit sits inside the retry that resent it
        const brokenStream = outcome === "stream error before the first delta";
        const low = hit ? 0 : fails ? INPUT : INPUT + shape.reply.tokens;
        const high = low + (brokenStream && !fails ? INPUT + 1 : fails ? 1 : 0);
        let spent = 0;
        for (const end = Date.now() + 2000; ; await new Promise((r) => setTimeout(r, 5))) {
          spent = (await spentTokens(limiter)) - tokensBefore;
          if ((spent >= low && spent <= high) || Date.now() > end) break;
        }
        expect(spent, "tokens the limit settled").toBeGreaterThanOrEqual(low);
        expect(spent, "tokens the limit settled").toBeLessThanOrEqual(high);
      }
      const costPoints = (await t.metrics()).get("gen_ai.usage.cost") ?? [];
      const metricTotal = costPoints.reduce((sum, p) => sum + (p.value as number), 0);
      const recordTotal = t.records.reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
      expect(metricTotal).toBeCloseTo(recordTotal, 12);
    });
});

const TOOLS = [
  {
    name: "get_order",
    description: "Look an order up",
    input_schema: { type: "object" as const, properties: { id: { type: "string" } } },
    run: () => "shipped yesterday",
  },
];

describe("the calls of a tool runner, through the wrappers", () => {
  const runnerCells = SDKS.flatMap((sdk) =>
    STACKS.flatMap((layers) =>
      [false, true].flatMap((stream) =>
        (["success", "529 then fallback"] as const)
          .filter((outcome) => outcome === "success" || layers.includes("retry"))
          .map((outcome) => ({
            name: `${sdk.name} · ${layers.join(" → ") || "no wrapper"} · tool runner${stream ? " stream" : ""} · ${outcome}`,
            sdk,
            layers,
            stream,
            outcome,
          })),
      ),
    ),
  );
  for (const { name, sdk, layers, stream, outcome } of runnerCells)
    it(name, async () => {
      const counting = new CountingProcessor();
      const t = setupTelemetry({ extraProcessors: [counting] });
      const m = await mock();
      const c = wrap(client(sdk.Client, m), layers);
      if (outcome === "529 then fallback") m.enqueue({ status: 529 });
      m.enqueue({ reply: { toolUse: { name: "get_order", input: { id: "A1" } } } }, { reply: { text: REPLY.text } });
      const runner = c.beta.messages.toolRunner({ ...ask("Where is order A1?"), tools: TOOLS, stream } as never);
      if (stream) {
        for await (const turn of runner as AsyncIterable<AsyncIterable<unknown>>) for await (const _ of turn);
      }
      const final = (await runner.runUntilDone()) as { content: Array<{ type: string; text?: string }> };
      expect(final.content.at(-1)).toMatchObject({ type: "text", text: REPLY.text });

      const onWire = wire(m).length;
      expect(onWire).toBe(outcome === "success" ? 2 : 3);
      // one record per turn: a turn's 529 and its fallback are one call of the runner's
      await until(() => t.records.length >= 2, "the call records");
      await until(() => counting.ended === counting.started, `spans ended (${counting.ended} of ${counting.started})`);
      expect(t.records).toHaveLength(2);
      expect(t.claudeSpans().filter((s) => s.name === "anthropic.messages.create")).toHaveLength(onWire);
      for (const r of t.records) {
        expect(r.outcome).toBe("completed");
        expect(r.cost_usd).toBeCloseTo(usd(r.response_model!, r.input_tokens, r.output_tokens), 12);
      }
      if (outcome === "529 then fallback") {
        expect(t.records[0]).toMatchObject({ model: MODEL, retries: 1 });
        expect(t.records[0]!.response_model).toMatch(new RegExp(`^${FALLBACK}`));
      }
    });
});

describe("countTokens through the wrappers", () => {
  for (const sdk of SDKS)
    for (const layers of STACKS)
      it(`${sdk.name} · ${layers.join(" → ") || "no wrapper"}`, async () => {
        const counting = new CountingProcessor();
        const t = setupTelemetry({ extraProcessors: [counting] });
        const m = await mock();
        const request = { model: MODEL, messages: ask("Hello there").messages };
        const expected = await client(sdk.Client, m).messages.countTokens(request);
        const counted = await wrap(client(sdk.Client, m), layers).messages.countTokens(request);
        expect(counted.input_tokens).toBe(expected.input_tokens);
        expect(m.requests.filter((r) => r.endpoint === "count_tokens")).toHaveLength(2); // never cached
        await until(() => counting.ended === counting.started, "spans ended");
        expect(t.claudeSpans().filter((s) => s.name === "anthropic.messages.count_tokens")).toHaveLength(2);
        expect(t.records).toHaveLength(0); // a count is not a call
      });
});

describe("memory through the full stack", () => {
  it("keeps the heap flat: after 10k calls within 5 MB of after 2k", async () => {
    const fixture = fileURLToPath(new URL("fixtures/full-stack-heap.mjs", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", fixture, "2000", "10000"], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    });
    const heapMB = JSON.parse(stdout) as Record<string, number>;
    expect(heapMB["10000"]! - heapMB["2000"]!).toBeLessThan(5);
  }, 180_000);
});
