import type Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { withClaudeContext } from "../src/index.js";
import { API_KEY, ask, askForJson, client, MODEL, mock, SDKS, setupTelemetry, until } from "./harness.js";

// Hand-computed from the mock's documented tokenizer and Sonnet 4.6's $3 / $15 per million:
// "Hello there" is 9 input tokens (3 request + 4 message + 1 + 1); each scripted reply's tokens below.
const INPUT = 9;
const REPLY = { text: "Your order shipped.", tokens: 5 }; // Your 1, order 1, shipped 2, "." 1
const JSON_REPLY = { text: '{"answer":4}', tokens: 8 }; // { " answer(2) " : 4 }
const usd = (input: number, output: number) => (input * 3 + output * 15) / 1_000_000;

type Op = {
  stream: boolean;
  reply: { text: string; tokens: number };
  run(c: Anthropic): Promise<unknown>;
  /** consume the stream but stop early: `abandoned` (break) or `aborted` (abort()) */
  abandon?(c: Anthropic): Promise<"abandoned" | "aborted">;
};

const OPS: Record<string, Op> = {
  create: { stream: false, reply: REPLY, run: (c) => c.messages.create(ask("Hello there")) },
  "create stream": {
    stream: true,
    reply: REPLY,
    run: async (c) => {
      for await (const _ of await c.messages.create({ ...ask("Hello there"), stream: true }));
    },
    abandon: async (c) => {
      for await (const event of await c.messages.create({ ...ask("Hello there"), stream: true })) {
        if (event.type === "content_block_delta") break;
      }
      return "abandoned";
    },
  },
  "messages.stream": {
    stream: true,
    reply: REPLY,
    run: (c) => c.messages.stream(ask("Hello there")).finalMessage(),
    abandon: async (c) => {
      const stream = c.messages.stream(ask("Hello there"));
      await new Promise<void>((resolve) => stream.once("text", () => resolve()));
      stream.abort();
      await stream.done().catch(() => {});
      return "aborted";
    },
  },
  parse: {
    stream: false,
    reply: JSON_REPLY,
    run: async (c) => {
      const m = await c.messages.parse(askForJson("Hello there") as never);
      expect((m as { parsed_output?: unknown }).parsed_output).toEqual({ answer: 4 });
    },
  },
  beta: { stream: false, reply: REPLY, run: (c) => c.beta.messages.create(ask("Hello there")) },
};

describe.each(SDKS)("$name", ({ Client }) => {
  describe.each(Object.entries(OPS))("%s", (_name, op) => {
    it("success: one span with every attribute, metric points, one log record, hand-computed cost", async () => {
      const t = setupTelemetry();
      const m = await mock();
      m.enqueue({ reply: { text: op.reply.text } });
      await withClaudeContext({ userId: "user_abc", feature: "support_chat" }, () => op.run(client(Client, m)));
      await until(() => t.records.length === 1, "the log record");

      const spans = t.claudeSpans();
      expect(spans).toHaveLength(1);
      const span = spans[0]!;
      expect(span.name).toBe("anthropic.messages.create");
      expect(span.kind).toBe(2); // CLIENT
      const cost = usd(INPUT, op.reply.tokens);
      expect(span.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.max_tokens": 200,
        "server.address": "127.0.0.1",
        "server.port": m.port,
        "gen_ai.response.model": MODEL,
        "gen_ai.usage.input_tokens": INPUT,
        "gen_ai.usage.output_tokens": op.reply.tokens,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.cache_creation.input_tokens": 0,
        "gen_ai.usage.cache_write.input_tokens": 0,
        "anthropic.message.stop_reason": "end_turn",
        "gen_ai.response.finish_reasons": ["end_turn"],
        "anthropic.request.id": m.requests[0]?.id,
        "ballast.pricing.model": MODEL,
        "user.id": "user_abc",
        "ballast.feature": "support_chat",
      });
      expect(span.attributes["gen_ai.response.id"]).toMatch(/^msg_01/);
      expect(span.attributes["gen_ai.usage.cost"]).toBeCloseTo(cost, 12);
      expect(span.attributes["ballast.cost.cache_savings"]).toBe(0);
      if (op.stream) {
        expect(span.attributes["gen_ai.request.stream"]).toBe(true);
        expect(span.attributes["gen_ai.response.time_to_first_chunk"]).toBeGreaterThan(0);
      }

      const metrics = await t.metrics();
      const duration = metrics.get("gen_ai.client.operation.duration")!;
      expect(duration).toHaveLength(1);
      expect(duration[0]!.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": MODEL,
        "anthropic.message.stop_reason": "end_turn",
        "ballast.feature": "support_chat",
      });
      expect(duration[0]!.attributes["user.id"]).toBeUndefined();
      expect((duration[0]!.value as { count: number }).count).toBe(1);
      const costPoints = metrics.get("gen_ai.usage.cost")!;
      const total = costPoints.reduce((s, p) => s + (p.value as number), 0);
      expect(total).toBeCloseTo(cost, 12);
      const tokens = Object.fromEntries(
        metrics.get("ballast.claude.tokens")!.map((p) => [p.attributes["ballast.token.kind"], p.value]),
      );
      expect(tokens).toEqual({ input: INPUT, output: op.reply.tokens });
      const usage = metrics.get("gen_ai.client.token.usage")!;
      expect(usage.map((p) => [p.attributes["gen_ai.token.type"], (p.value as { sum: number }).sum])).toEqual([
        ["input", INPUT],
        ["output", op.reply.tokens],
      ]);
      if (op.stream) expect(metrics.get("gen_ai.client.operation.time_to_first_chunk")).toHaveLength(1);

      expect(t.records).toHaveLength(1);
      const record = t.records[0]!;
      expect(record).toMatchObject({
        request_id: m.requests[0]?.id,
        user_id: "user_abc",
        feature: "support_chat",
        model: MODEL,
        response_model: MODEL,
        input_tokens: INPUT,
        output_tokens: op.reply.tokens,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        stop_reason: "end_turn",
        retries: 0,
        outcome: "completed",
        error: null,
        trace_id: span.spanContext().traceId,
        span_id: span.spanContext().spanId,
      });
      expect(record.cost_usd).toBeCloseTo(cost, 12);
      const logs = t.logs.getFinishedLogRecords();
      expect(logs).toHaveLength(1);
      expect(logs[0]!.eventName).toBe("ballast.claude.call");
      expect(logs[0]!.spanContext?.spanId).toBe(span.spanContext().spanId);

      const exported = JSON.stringify([spans.map((s) => s.attributes), [...metrics.values()], logs.map((l) => l.body)]);
      expect(exported).not.toContain(API_KEY);
      expect(exported).not.toContain("Hello there"); // no content unless opted in
    });

    it("429 then success: still one span, the SDK's retry counted", async () => {
      const t = setupTelemetry();
      const m = await mock();
      m.enqueue({ status: 429, retryAfterMs: 10 }, { reply: { text: op.reply.text } });
      await op.run(client(Client, m, 2));
      await until(() => t.records.length === 1, "the log record");
      expect(m.requests.map((r) => r.status)).toEqual([429, 200]);
      const spans = t.claudeSpans();
      expect(spans).toHaveLength(1);
      expect(spans[0]!.attributes["http.request.resend_count"]).toBe(1);
      expect(spans[0]!.attributes["error.type"]).toBeUndefined();
      expect(t.records[0]).toMatchObject({ retries: 1, outcome: "completed", output_tokens: op.reply.tokens });
      expect((await t.metrics()).get("gen_ai.client.operation.duration")).toHaveLength(1);
    });

    it("529 as the final answer: an error span, an error metric point, a failed log record", async () => {
      const t = setupTelemetry();
      const m = await mock();
      m.enqueue({ status: 529 });
      await expect(op.run(client(Client, m))).rejects.toThrow();
      await until(() => t.records.length === 1, "the log record");
      const spans = t.claudeSpans();
      expect(spans).toHaveLength(1);
      expect(spans[0]!.attributes["error.type"]).toBe("overloaded_error");
      expect(spans[0]!.status.code).toBe(2); // ERROR
      const duration = (await t.metrics()).get("gen_ai.client.operation.duration")!;
      expect(duration).toHaveLength(1);
      expect(duration[0]!.attributes["error.type"]).toBe("overloaded_error");
      expect(t.records[0]).toMatchObject({ outcome: "failed", error: "overloaded_error", cost_usd: null });
      // the request id of the failed response, from the SDK's APIError
      expect(t.records[0]!.request_id).toBe(m.requests[0]?.id);
      expect(t.records[0]!.request_id).toMatch(/./);
    });

    if (op.stream) {
      it("SSE error mid-stream: failed with what was known", async () => {
        const t = setupTelemetry();
        const m = await mock();
        m.enqueue({ stream: "error", after: 2, reply: { text: op.reply.text } });
        await expect(op.run(client(Client, m))).rejects.toThrow(/overloaded/);
        await until(() => t.records.length === 1, "the log record");
        expect(t.claudeSpans()).toHaveLength(1);
        expect(t.claudeSpans()[0]!.attributes["error.type"]).toBe("overloaded_error");
        expect(t.records[0]).toMatchObject({ outcome: "failed", error: "overloaded_error", input_tokens: INPUT });
        expect(t.records[0]!.ttft_ms).not.toBeNull();
        expect((await t.metrics()).get("gen_ai.client.operation.duration")).toHaveLength(1);
      });

      it("abandoned stream: one duration point and one log record", async () => {
        const t = setupTelemetry();
        const m = await mock();
        m.enqueue({ reply: { text: "one two three four five six seven eight nine ten" } });
        const how = await op.abandon!(client(Client, m));
        await until(() => t.records.length === 1, "the log record");
        expect(t.records[0]).toMatchObject({ outcome: how, error: null, input_tokens: INPUT });
        expect((await t.metrics()).get("gen_ai.client.operation.duration")).toHaveLength(1);
        await until(() => t.claudeSpans().length === 1, "the span");
        expect(t.claudeSpans()[0]!.attributes["error.type"]).toBeUndefined();
      });
    }
  });

  it("batches: each succeeded result recorded at the batch price, no duration", async () => {
    const t = setupTelemetry();
    const m = await mock({ batchDelayMs: 1000 });
    const c = client(Client, m);
    const batch = await c.messages.batches.create({
      requests: [
        { custom_id: "ok", params: ask("Hello there") },
        { custom_id: "bad", params: { ...ask("Hello there"), max_tokens: 0 } },
      ],
    });
    m.advanceTime(1000);
    const seen: string[] = [];
    for await (const r of await c.messages.batches.results(batch.id)) seen.push(`${r.custom_id}:${r.result.type}`);
    expect(seen).toEqual(["ok:succeeded", "bad:errored"]);
    expect(t.records).toHaveLength(1);
    const record = t.records[0]!;
    expect(record).toMatchObject({
      batch: true,
      model: MODEL,
      input_tokens: INPUT,
      latency_ms: 0,
      outcome: "completed",
    });
    // the batch rate: half of Sonnet 4.6's $3 / $15
    expect(record.cost_usd).toBeCloseTo(usd(INPUT, record.output_tokens) / 2, 12);
    const metrics = await t.metrics();
    expect(metrics.get("gen_ai.client.operation.duration")).toBeUndefined();
    const total = metrics.get("gen_ai.usage.cost")!.reduce((s, p) => s + (p.value as number), 0);
    expect(total).toBeCloseTo(usd(INPUT, record.output_tokens) / 2, 12);
  });

  it("countTokens: one anthropic.messages.count_tokens span, no chat metrics", async () => {
    const t = setupTelemetry();
    const m = await mock();
    await client(Client, m).messages.countTokens({
      model: MODEL,
      messages: [{ role: "user", content: "Hello there" }],
    });
    await until(() => t.claudeSpans().length === 1, "the span");
    expect(t.claudeSpans()[0]).toMatchObject({ name: "anthropic.messages.count_tokens" });
    expect(t.claudeSpans()[0]!.attributes["gen_ai.request.model"]).toBe(MODEL);
    expect((await t.metrics()).get("gen_ai.client.operation.duration")).toBeUndefined();
  });
});
