import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import {
  FirstTokenTimeoutError,
  RetryAfterTooLongError,
  retryPolicy,
  StreamInterruptedError,
  withRetry,
} from "../src/index.js";
import { ask, client, FALLBACK, mock, PRIMARY, SDKS } from "./helpers.js";

describe.each(SDKS)("withRetry on $name", ({ Client }) => {
  it("honours retry-after: 1 and puts exactly 2 requests on the wire, whatever the client's maxRetries", async () => {
    const m = await mock();
    m.enqueue({ status: 429, retryAfterS: 1 });
    const c = withRetry(client(m, Client), retryPolicy());
    const msg = await c.messages.create(ask());
    expect(msg.type).toBe("message");
    expect(m.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(m.requests[1]!.time - m.requests[0]!.time).toBeGreaterThanOrEqual(1000);
  });

  it("retries a stream that fails before its first delta, so the caller sees one clean stream", async () => {
    const m = await mock();
    m.enqueue({ stream: "error", after: 0 }, { stream: "drop", after: 0 });
    const c = withRetry(client(m, Client), retryPolicy({ baseDelayMs: 10 }));
    const stream = c.messages.stream(ask());
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe("end_turn");
    expect(m.requests).toHaveLength(3);
    const types: string[] = [];
    for await (const e of await c.messages.create({ ...ask(), stream: true })) types.push(e.type);
    expect(types[0]).toBe("message_start");
    expect(types.at(-1)).toBe("message_stop");
  });

  it("turns a failure after content into a StreamInterruptedError with the partial text", async () => {
    const m = await mock();
    m.enqueue({ stream: "error", after: 3, reply: { text: "one two three four five six" } });
    const c = withRetry(client(m, Client), retryPolicy({ baseDelayMs: 10 }));
    let text = "";
    const error = await (async () => {
      for await (const e of await c.messages.create({ ...ask(), stream: true })) {
        if (e.type === "content_block_delta" && e.delta.type === "text_delta") text += e.delta.text;
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as StreamInterruptedError).partialText).toBe("one two three");
    expect(text).toBe("one two three");
    expect((error as StreamInterruptedError).usage).toMatchObject({ input_tokens: expect.any(Number) });
    expect((error as StreamInterruptedError).requestID).toBe(m.requests[0]!.id);
    expect((error as StreamInterruptedError).cause).toBeInstanceOf(Client.APIError);
    expect(m.requests).toHaveLength(1);
  });

  it("retries countTokens for the model asked about, never a fallback", async () => {
    const m = await mock();
    m.enqueue({ status: 529, on: "count_tokens" });
    const c = withRetry(client(m, Client), retryPolicy({ baseDelayMs: 1, fallbackModels: [FALLBACK] }));
    const count = await c.messages.countTokens({ model: PRIMARY, messages: ask().messages });
    expect(count.input_tokens).toBeGreaterThan(0);
    expect(m.requests.map((r) => [r.endpoint, r.model, r.status])).toEqual([
      ["count_tokens", PRIMARY, 529],
      ["count_tokens", PRIMARY, 200],
    ]);
  });

  it("passes on the SDK's own error when a stream fails before content on every attempt", async () => {
    const m = await mock();
    const c = withRetry(client(m, Client), retryPolicy({ baseDelayMs: 1, maxAttempts: 2 }));
    for (const read of [
      () => c.messages.stream(ask()).finalMessage(),
      async () => {
        for await (const _ of await c.messages.create({ ...ask(), stream: true }));
      },
    ]) {
      m.enqueue({ stream: "error", after: 0, times: 2, errorType: "api_error" });
      const error = await read().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Client.APIError);
      expect((error as { error?: { error?: { type?: string } } }).error?.error?.type).toBe("api_error");
    }
  });
});

describe("withRetry", () => {
  it.each([400, 401, 403, 404, 413])("sends %i once and rethrows the SDK's own error unchanged", async (status) => {
    const m = await mock();
    m.enqueue({ status });
    const c = withRetry(client(m), retryPolicy());
    const error = await c.messages.create(ask()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as { status: number }).status).toBe(status);
    expect(m.requests).toHaveLength(1);
  });

  it("hands an overloaded model to the fallback; the wire and the response say who answered", async () => {
    const m = await mock();
    m.enqueue({ status: 529 }, { status: 529 });
    const fallbacks: string[] = [];
    const policy = retryPolicy({
      fallbackModels: [FALLBACK],
      baseDelayMs: 10,
      onFallback: (e) => fallbacks.push(`${e.from}->${e.to}:${e.reason}`),
    });
    const msg = await withRetry(client(m), policy).messages.create(ask());
    expect(m.requests.map((r) => `${r.model}:${r.status}`)).toEqual([
      `${PRIMARY}:529`,
      `${FALLBACK}:529`,
      `${FALLBACK}:200`,
    ]);
    expect(msg.model).toBe("claude-haiku-4-5-20251001");
    expect(fallbacks).toEqual([`${PRIMARY}->${FALLBACK}:overloaded`]);
  });

  it("does not sleep through retry-after: 3600: the fallback serves at once, else a typed error at once", async () => {
    const m = await mock();
    m.enqueue({ status: 429, retryAfterS: 3600, model: PRIMARY });
    const started = performance.now();
    const msg = await withRetry(
      client(m),
      retryPolicy({ maxRetryAfterMs: 60_000, fallbackModels: [FALLBACK] }),
    ).messages.create(ask());
    expect(msg.model).toBe("claude-haiku-4-5-20251001");
    m.enqueue({ status: 429, retryAfterS: 3600 });
    const error = await withRetry(client(m), retryPolicy({ maxRetryAfterMs: 60_000 }))
      .messages.create(ask())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryAfterTooLongError);
    expect((error as RetryAfterTooLongError).retryAfterMs).toBe(3_600_000);
    expect((error as RetryAfterTooLongError).cause).toBeInstanceOf(Anthropic.RateLimitError);
    expect((error as RetryAfterTooLongError).requestID).toBe(m.requests.at(-1)!.id);
    expect(performance.now() - started).toBeLessThan(5_000); // nothing slept for an hour
    expect(m.requests).toHaveLength(3);
  });

  it("rejects within 50 ms of an abort during a 10 s backoff, with the SDK's abort error", async () => {
    const m = await mock();
    m.enqueue({ status: 503, retryAfterS: 10 });
    const controller = new AbortController();
    const c = withRetry(client(m), retryPolicy());
    const pending = c.messages.create(ask(), { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 200));
    const abortedAt = performance.now();
    controller.abort();
    // Deterministic form of "within 50 ms": the rejection needs no timer, only microtasks, so the call
    // has settled before the next macrotask runs.
    const first = await Promise.race([
      pending.then(
        () => "resolved",
        (e: unknown) => e,
      ),
      new Promise((resolve) => setImmediate(() => resolve("not yet"))),
    ]);
    expect(first).not.toBe("not yet");
    const error = first;
    expect(performance.now() - abortedAt).toBeLessThan(50);
    expect(error).toBeInstanceOf(Anthropic.APIUserAbortError);
    expect(m.requests).toHaveLength(1);
  });

  it("hands a slow model's stream to the fallback after firstTokenTimeoutMs", async () => {
    const m = await mock({ latency: { models: { [PRIMARY]: { ttftMs: 5000 } } } });
    const policy = retryPolicy({ firstTokenTimeoutMs: 500, fallbackModels: [FALLBACK] });
    const started = performance.now();
    const stream = withRetry(client(m), policy).messages.stream(ask());
    await new Promise<void>((resolve) => stream.once("text", () => resolve()));
    const firstText = performance.now() - started;
    const final = await stream.finalMessage();
    expect(final.model).toBe("claude-haiku-4-5-20251001");
    expect(firstText).toBeLessThan(2000); // the primary alone would take 5 s
    expect(m.requests.map((r) => r.model)).toEqual([PRIMARY, FALLBACK]);
  });

  it("fails a slow stream with no fallback left as a FirstTokenTimeoutError with the request id", async () => {
    const m = await mock({ latency: { models: { [PRIMARY]: { ttftMs: 5000 } } } });
    const c = withRetry(client(m), retryPolicy({ firstTokenTimeoutMs: 200, maxAttempts: 1 }));
    const error = await c.messages.create({ ...ask(), stream: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FirstTokenTimeoutError);
    expect((error as FirstTokenTimeoutError).firstTokenTimeoutMs).toBe(200);
    expect((error as FirstTokenTimeoutError).requestID).toBe(m.requests[0]!.id);
    // messages.stream() wraps every error that is not the SDK's own in an AnthropicError, ours as its cause
    const wrapped = await c.messages
      .stream(ask())
      .finalMessage()
      .catch((e: unknown) => e);
    expect(wrapped).toBeInstanceOf(Anthropic.AnthropicError);
    expect((wrapped as Error).cause).toBeInstanceOf(FirstTokenTimeoutError);
  });

  it("aborts a slow non-streaming attempt after attemptTimeoutMs and lets the fallback answer", async () => {
    const m = await mock({ latency: { models: { [PRIMARY]: { ttftMs: 4000 } } } });
    const fallbacks: string[] = [];
    const policy = retryPolicy({
      attemptTimeoutMs: 300,
      fallbackModels: [FALLBACK],
      onFallback: (e) => fallbacks.push(e.reason),
    });
    const started = performance.now();
    const msg = await withRetry(client(m), policy).messages.create(ask());
    expect(msg.model).toBe("claude-haiku-4-5-20251001");
    expect(fallbacks).toEqual(["slow"]);
    expect(performance.now() - started).toBeLessThan(2000); // the primary alone would take 4 s
  });

  it("lets MessageStream.abort() stop a stream that came through the policy", async () => {
    const m = await mock({ latency: { perTokenMs: 20 } });
    const c = withRetry(client(m), retryPolicy());
    const stream = c.messages.stream(ask());
    let texts = 0;
    stream.on("text", () => {
      if (++texts === 2) stream.abort();
    });
    await stream.done().catch(() => {});
    expect(stream.aborted).toBe(true);
    expect(texts).toBe(2);
  });

  it("keeps the caller's client untouched and parse() and beta go through the policy", async () => {
    const m = await mock();
    const original = client(m);
    const c = withRetry(original, retryPolicy({ baseDelayMs: 10 }));
    m.enqueue({ status: 500 });
    await expect(
      original.messages.create({ ...ask(), model: "claude-sonnet-4-6" }, { maxRetries: 0 }),
    ).rejects.toThrow();
    m.enqueue({ status: 500 }, { status: 500, times: 1 });
    const schema = {
      type: "object",
      properties: { ok: { type: "boolean" } },
      required: ["ok"],
      additionalProperties: false,
    };
    const parsed = await c.messages.parse({
      ...ask(),
      output_config: { format: { type: "json_schema", schema } },
    } as never);
    expect((parsed as { parsed_output: unknown }).parsed_output).toMatchObject({ ok: expect.any(Boolean) });
    m.enqueue({ status: 503 });
    const beta = await c.beta.messages.create(ask());
    expect(beta.type).toBe("message");
    expect(m.requests.map((r) => r.status)).toEqual([500, 500, 500, 200, 503, 200]);
  });
});
