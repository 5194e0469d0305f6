import { describe, expect, it } from "vitest";
import { ask, client, MODEL, mock, SDKS } from "./helpers.js";

// Hand-computed with the documented tokenizer: request 3 + message 4 + "Hello" 1 + "there" 1.
const HELLO_THERE_TOKENS = 9;

describe.each(SDKS)("$name against claude-mock", ({ Client }) => {
  it("creates a message with the API's shape, usage and request-id", async () => {
    const m = await mock();
    const { data, response } = await client(Client, m).messages.create(ask("Hello there")).withResponse();
    expect(data).toMatchObject({ type: "message", role: "assistant", model: MODEL, stop_sequence: null });
    expect(data.id).toMatch(/^msg_01[0-9A-Za-z]{22}$/);
    expect(data.content[0]?.type).toBe("text");
    expect(data.stop_reason).toBe("end_turn");
    expect(data.usage).toMatchObject({
      input_tokens: HELLO_THERE_TOKENS,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    });
    expect(data.usage.output_tokens).toBeGreaterThanOrEqual(20);
    expect(response.headers.get("request-id")).toMatch(/^req_/);
    expect(response.headers.get("request-id")).toBe(m.requests[0]?.id);
    expect(m.requests[0]).toMatchObject({ endpoint: "messages", model: MODEL, stream: false, status: 200 });
  });

  it("streams the real event sequence, with the same reply as the non-streaming call", async () => {
    const m = await mock();
    const c = client(Client, m);
    const whole = await c.messages.create(ask("Hello there"));
    const stream = await c.messages.create({ ...ask("Hello there"), stream: true });
    const types: string[] = [];
    let text = "";
    let finalUsage: unknown;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
      if (event.type === "message_delta") finalUsage = event.usage;
    }
    const deltas = types.filter((t) => t === "content_block_delta").length;
    expect(types).toEqual([
      "message_start",
      "content_block_start",
      ...Array(deltas).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(deltas).toBeGreaterThan(5);
    expect(text).toBe(whole.content[0]?.type === "text" ? whole.content[0].text : "");
    expect(finalUsage).toMatchObject({ output_tokens: whole.usage.output_tokens, input_tokens: HELLO_THERE_TOKENS });
  });

  it("serves messages.stream() with text events and finalMessage()", async () => {
    const m = await mock();
    const c = client(Client, m);
    const stream = c.messages.stream(ask("Hello there"));
    const pieces: string[] = [];
    stream.on("text", (t) => pieces.push(t));
    const final = await stream.finalMessage();
    const text = final.content[0]?.type === "text" ? final.content[0].text : "";
    expect(pieces.join("")).toBe(text);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.input_tokens).toBe(HELLO_THERE_TOKENS);
    expect(m.requests[0]?.stream).toBe(true);
  });

  it("counts tokens", async () => {
    const m = await mock();
    const counted = await client(Client, m).messages.countTokens({
      model: MODEL,
      messages: [{ role: "user", content: "Hello there" }],
    });
    expect(counted.input_tokens).toBe(HELLO_THERE_TOKENS);
    expect(m.requests[0]?.endpoint).toBe("count_tokens");
  });

  it("runs message batches: in progress until the delay passes, then JSONL results", async () => {
    const m = await mock({ batchDelayMs: 60_000 });
    const c = client(Client, m);
    const batch = await c.messages.batches.create({
      requests: [
        { custom_id: "ok-1", params: ask("Hello there") },
        { custom_id: "bad-1", params: { model: MODEL, max_tokens: 0, messages: [{ role: "user", content: "x" }] } },
      ],
    });
    expect(batch).toMatchObject({ type: "message_batch", processing_status: "in_progress", results_url: null });
    expect(batch.request_counts.processing).toBe(2);
    m.advanceTime(60_000);
    const ended = await c.messages.batches.retrieve(batch.id);
    expect(ended.processing_status).toBe("ended");
    expect(ended.request_counts).toMatchObject({ processing: 0, succeeded: 1, errored: 1 });
    const results: Record<string, unknown> = {};
    for await (const r of await c.messages.batches.results(batch.id)) results[r.custom_id] = r.result;
    expect(results["ok-1"]).toMatchObject({
      type: "succeeded",
      message: { usage: { input_tokens: HELLO_THERE_TOKENS, service_tier: "batch" } },
    });
    expect(results["bad-1"]).toMatchObject({ type: "errored", error: { error: { type: "invalid_request_error" } } });
  });

  it("caches a prefix: write, then read, then expiry after 5 minutes", async () => {
    const m = await mock();
    const c = client(Client, m);
    // 1200 one-token words: prefix = request overhead 3 + 1200 = 1203 tokens (Sonnet 4.6 minimum: 1024).
    const params = {
      ...ask("Hi"),
      system: [{ type: "text" as const, text: "alpha ".repeat(1200), cache_control: { type: "ephemeral" as const } }],
    };
    const first = await c.messages.create(params);
    expect(first.usage).toMatchObject({
      input_tokens: 5,
      cache_creation_input_tokens: 1203,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 1203, ephemeral_1h_input_tokens: 0 },
    });
    m.advanceTime(4 * 60_000);
    const second = await c.messages.create(params);
    expect(second.usage).toMatchObject({
      input_tokens: 5,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 1203,
    });
    m.advanceTime(5 * 60_000 + 1);
    const third = await c.messages.create(params);
    expect(third.usage).toMatchObject({ cache_creation_input_tokens: 1203, cache_read_input_tokens: 0 });
  });

  it("does not cache a prefix below the model's minimum", async () => {
    const m = await mock();
    const c = client(Client, m);
    // 1203 tokens is enough for Sonnet 4.6 (1024) but not for Haiku 4.5 (4096).
    const params = {
      ...ask("Hi"),
      model: "claude-haiku-4-5",
      system: [{ type: "text" as const, text: "alpha ".repeat(1200), cache_control: { type: "ephemeral" as const } }],
    };
    await c.messages.create(params);
    const again = await c.messages.create(params);
    expect(again.usage).toMatchObject({
      input_tokens: 1208,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it("stops at max_tokens with exactly max_tokens output tokens", async () => {
    const m = await mock();
    const msg = await client(Client, m).messages.create({ ...ask("Hello there"), max_tokens: 7 });
    expect(msg.stop_reason).toBe("max_tokens");
    expect(msg.usage.output_tokens).toBe(7);
  });

  it("lets the SDK's own retry honour 429 retry-after", async () => {
    const m = await mock();
    m.enqueue({ status: 429, retryAfterS: 1 });
    const msg = await client(Client, m, 2).messages.create(ask("Hello there"));
    expect(msg.type).toBe("message");
    expect(m.requests.map((r) => r.status)).toEqual([429, 200]);
    const [first, second] = m.requests;
    expect((second?.time ?? 0) - (first?.time ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it("answers 529 with the overloaded_error body", async () => {
    const m = await mock();
    m.enqueue({ status: 529 });
    const error = await client(Client, m)
      .messages.create(ask("Hello there"))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Client.InternalServerError);
    expect(error).toMatchObject({
      status: 529,
      error: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
    });
    expect((error as { requestID?: string }).requestID).toBe(m.requests[0]?.id);
  });

  it("resets the connection", async () => {
    const m = await mock();
    m.enqueue({ reset: true });
    const error = await client(Client, m)
      .messages.create(ask("Hello there"))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Client.APIConnectionError);
    expect(m.requests[0]?.status).toBeUndefined();
  });

  it("sends an SSE error event after 3 deltas", async () => {
    const m = await mock();
    m.enqueue({ stream: "error", after: 3 });
    const stream = await client(Client, m).messages.create({ ...ask("Hello there"), stream: true });
    let deltas = 0;
    const error = await (async () => {
      for await (const event of stream) if (event.type === "content_block_delta") deltas++;
    })().catch((e: unknown) => e);
    expect(deltas).toBe(3);
    expect(error).toBeInstanceOf(Client.APIError);
    expect(String((error as Error).message)).toContain("overloaded_error");
  });

  it("drops the socket after 3 deltas", async () => {
    const m = await mock();
    m.enqueue({ stream: "drop", after: 3 });
    const stream = client(Client, m).messages.stream(ask("Hello there"));
    let texts = 0;
    stream.on("text", () => texts++);
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(texts).toBe(3);
    expect(error).toBeInstanceOf(Error);
  });

  it("rejects bad requests with the API's 400 invalid_request_error shape", async () => {
    const m = await mock();
    const c = client(Client, m);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messages: [{ role: "user", content: "x" }], max_tokens: 10 }, "model: Field required"],
      [{ model: MODEL, max_tokens: 10 }, "messages: Field required"],
      [{ model: MODEL, messages: [{ role: "user", content: "x" }] }, "max_tokens: Field required"],
      [{ model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 0 }, "greater than or equal to 1"],
    ];
    for (const [body, message] of cases) {
      const error = await c.messages.create(body as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Client.BadRequestError);
      expect(error).toMatchObject({ status: 400, error: { type: "error", error: { type: "invalid_request_error" } } });
      expect((error as Error).message).toContain(message);
    }
    const unknown = await c.messages.create({ ...ask("x"), model: "gpt-4o" }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Client.NotFoundError);
  });

  it("reports org limits in headers and refuses past them with 429 + retry-after", async () => {
    const m = await mock({ orgLimits: { requestsPerMinute: 3, inputTokensPerMinute: 10_000 } });
    const c = client(Client, m);
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response } = await c.messages.create(ask("Hello there")).withResponse();
      expect(response.headers.get("anthropic-ratelimit-requests-limit")).toBe("3");
      expect(response.headers.get("anthropic-ratelimit-input-tokens-limit")).toBe("10000");
      expect(response.headers.get("anthropic-ratelimit-requests-reset")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      remaining.push(response.headers.get("anthropic-ratelimit-requests-remaining") ?? "");
    }
    expect(remaining).toEqual(["2", "1", "0"]);
    const error = await c.messages.create(ask("Hello there")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Client.RateLimitError);
    const headers = (error as { headers: Headers }).headers;
    expect(Number(headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(headers.get("retry-after"))).toBeLessThanOrEqual(20);
    expect((error as Error).message).toContain("3 requests per minute");
  });
});
