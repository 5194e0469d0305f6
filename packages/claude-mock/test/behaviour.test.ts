import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { countTextTokens, startMockClaude } from "../src/index.js";
import { ask, client, MODEL, mock } from "./helpers.js";

const text = (m: Anthropic.Message) => (m.content[0]?.type === "text" ? m.content[0].text : "");

describe("replies", () => {
  it("are deterministic for a seed and request, and differ across seeds and requests", async () => {
    const [a, b, c] = await Promise.all([mock({ seed: 7 }), mock({ seed: 7 }), mock({ seed: 8 })]);
    const [ra, rb, rc] = await Promise.all(
      [a, b, c].map((m) => client(Anthropic, m!).messages.create(ask("Where is my order?"))),
    );
    expect(text(ra!)).toBe(text(rb!));
    expect(text(ra!)).not.toBe(text(rc!));
    const other = await client(Anthropic, a!).messages.create(ask("Where is my refund?"));
    expect(text(other)).not.toBe(text(ra!));
    expect(ra!.usage.output_tokens).toBe(countTextTokens(text(ra!)));
  });

  it("stop at the first stop sequence", async () => {
    const m = await mock({ seed: 3 });
    const c = client(Anthropic, m);
    const full = text(await c.messages.create(ask("Hello")));
    const word = full.split(" ")[3]!;
    const cut = await c.messages.create(ask("Hello", { stop_sequences: [` ${word}`] }));
    expect(cut.stop_reason).toBe("stop_sequence");
    expect(cut.stop_sequence).toBe(` ${word}`);
    expect(full.startsWith(text(cut))).toBe(true);
    expect(text(cut).length).toBeLessThan(full.length);
  });

  it("call a tool when tool_choice asks, with input that fits its schema, streamed as input_json_delta", async () => {
    const m = await mock();
    const c = client(Anthropic, m);
    const tools = [
      {
        name: "get_order",
        description: "Look an order up",
        input_schema: {
          type: "object" as const,
          properties: {
            order_id: { type: "string" },
            priority: { type: "string", enum: ["low", "high"] },
            qty: { type: "integer" },
          },
          required: ["order_id"],
        },
      },
    ];
    const msg = await c.messages.create({ ...ask("Where is it?"), tools, tool_choice: { type: "any" } });
    expect(msg.stop_reason).toBe("tool_use");
    const block = msg.content[0];
    expect(block?.type).toBe("tool_use");
    if (block?.type !== "tool_use") return;
    expect(block.id).toMatch(/^toolu_01/);
    expect(block.name).toBe("get_order");
    expect(block.input).toMatchObject({ order_id: expect.any(String), qty: expect.any(Number) });
    expect(["low", "high"]).toContain((block.input as { priority: string }).priority);
    const streamed = await c.messages
      .stream({ ...ask("Where is it?"), tools, tool_choice: { type: "any" } })
      .finalMessage();
    expect(streamed.content[0]).toMatchObject({ type: "tool_use", name: "get_order", input: block.input });
    // auto: only when the user names the tool; a tool_result turn gets text.
    const auto = await c.messages.create({ ...ask("no tools please"), tools });
    expect(auto.stop_reason).toBe("end_turn");
  });

  it("produce JSON matching output_config.format for messages.parse()", async () => {
    const m = await mock();
    const schema = {
      type: "object",
      properties: { answer: { type: "integer" }, reason: { type: "string" } },
      required: ["answer", "reason"],
      additionalProperties: false,
    };
    const parsed = await client(Anthropic, m).messages.parse({
      ...ask("What is 2+2?"),
      output_config: { format: { type: "json_schema", schema } },
    });
    expect(parsed.parsed_output).toMatchObject({ answer: expect.any(Number), reason: expect.any(String) });
  });

  it("serve beta.messages and keep the anthropic-beta header on record", async () => {
    const m = await mock();
    const msg = await client(Anthropic, m).beta.messages.create({
      ...ask("Hello"),
      betas: ["context-management-2025-06-27"],
    });
    expect(msg.type).toBe("message");
    expect(m.requests[0]?.headers["anthropic-beta"]).toBe("context-management-2025-06-27");
  });
});

describe("fault injection", () => {
  it("sets retry-after-ms, x-should-retry and extra headers, and the error type and message", async () => {
    const m = await mock();
    m.enqueue({
      status: 503,
      errorType: "api_error",
      message: "down for a bit",
      retryAfterMs: 250,
      shouldRetry: false,
      headers: { "x-extra": "1" },
    });
    const res = await fetch(`${m.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "k" },
      body: JSON.stringify(ask("x")),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after-ms")).toBe("250");
    expect(res.headers.get("x-should-retry")).toBe("false");
    expect(res.headers.get("x-extra")).toBe("1");
    expect(await res.json()).toEqual({
      type: "error",
      error: { type: "api_error", message: "down for a bit" },
      request_id: res.headers.get("request-id"),
    });
  });

  for (const stream of [false, true])
    it(`scripts tool loops for the SDK's tool runner, down to a model that never stops${stream ? " (streamed)" : ""}`, async () => {
      const m = await mock();
      const c = client(Anthropic, m);
      let lookups = 0;
      const tools = [
        {
          name: "get_order",
          description: "Look an order up",
          input_schema: { type: "object" as const, properties: { id: { type: "string" } } },
          run: async () => {
            lookups++;
            return "shipped";
          },
        },
      ];
      m.enqueue(
        { reply: { toolUse: { name: "get_order", input: { id: "A1" } } } },
        { reply: { toolUse: { name: "get_order", input: { id: "B2" } } } },
        { reply: { text: "Both shipped." } },
      );
      const done = await c.beta.messages.toolRunner({ ...ask("Where are A1 and B2?"), tools, stream } as never);
      expect((done as { content: Array<{ text?: string }> }).content.at(-1)?.text).toBe("Both shipped.");
      expect(lookups).toBe(2);

      m.enqueue({ reply: { toolUse: { name: "get_order", input: { id: "C3" } } }, times: Number.POSITIVE_INFINITY });
      const runner = c.beta.messages.toolRunner({ ...ask("Where is C3?"), tools, stream, max_iterations: 6 } as never);
      const replies: Array<{ stop_reason: string | null; content: Array<{ type: string; id?: string }> }> = [];
      for await (const turn of runner as AsyncIterable<unknown>) {
        replies.push(
          stream
            ? await (turn as { finalMessage(): Promise<(typeof replies)[0]> }).finalMessage()
            : (turn as (typeof replies)[0]),
        );
      }
      expect(replies).toHaveLength(6);
      expect(replies.every((r) => r.stop_reason === "tool_use" && r.content.at(-1)?.type === "tool_use")).toBe(true);
      expect(new Set(replies.map((r) => r.content.at(-1)?.id)).size).toBe(6); // each call a call of its own
      expect(lookups).toBe(2 + 6);
      expect(m.requests).toHaveLength(3 + 6);
    });

  it("targets a model and repeats `times`, leaving other models alone", async () => {
    const m = await mock();
    m.enqueue({ status: 529, model: "claude-opus-4-8", times: 2 });
    const c = client(Anthropic, m);
    const other = await c.messages.create(ask("x"));
    expect(other.type).toBe("message");
    for (let i = 0; i < 2; i++) {
      await expect(c.messages.create({ ...ask("x"), model: "claude-opus-4-8" })).rejects.toMatchObject({ status: 529 });
    }
    const third = await c.messages.create({ ...ask("x"), model: "claude-opus-4-8" });
    expect(third.model).toBe("claude-opus-4-8");
    expect(m.requests.map((r) => `${r.model}:${r.status}`)).toEqual([
      `${MODEL}:200`,
      "claude-opus-4-8:529",
      "claude-opus-4-8:529",
      "claude-opus-4-8:200",
    ]);
  });

  it("leaves count_tokens alone unless the fault is `on` it", async () => {
    const m = await mock();
    m.enqueue({ status: 500 }, { status: 500, on: "count_tokens" });
    const c = client(Anthropic, m);
    await expect(
      c.messages.countTokens({ model: MODEL, messages: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({ status: 500 });
    await expect(c.messages.create(ask("x"))).rejects.toMatchObject({ status: 500 });
    await expect(c.messages.create(ask("x"))).resolves.toMatchObject({ type: "message" });
  });

  it("sends a malformed body the SDK cannot parse", async () => {
    const m = await mock();
    m.enqueue({ body: '{"type":"message", "content": [' });
    await expect(client(Anthropic, m).messages.create(ask("x"))).rejects.toThrow();
  });

  it("delays an answer and scripts a reply", async () => {
    const m = await mock();
    m.enqueue({ delayMs: 300, reply: { text: "Your order shipped." } });
    const started = performance.now();
    const msg = await client(Anthropic, m).messages.create(ask("x"));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(text(msg)).toBe("Your order shipped.");
    expect(msg.usage.output_tokens).toBe(countTextTokens("Your order shipped."));
  });

  it("rejects a fault that does nothing or has bad fields, naming the field", async () => {
    const m = await mock();
    expect(() => m.enqueue({ model: "claude-opus-4-8" })).toThrow(/at least one of status/);
    expect(() => m.enqueue({ status: 99 })).toThrow(/fault.status must be an integer HTTP status/);
    expect(() => m.enqueue({ stream: "explode" as never })).toThrow(/fault.stream must be "error" or "drop"/);
    expect(() => m.enqueue({ status: 429, times: 0 })).toThrow(/fault.times/);
    expect(() => m.enqueue({ status: 429, times: 1.5 })).toThrow(/an integer ≥ 1 or Infinity/);
  });
});

describe("latency", () => {
  it("is settable per model: one slow to first token, another fast", async () => {
    const m = await mock({ latency: { ttftMs: 0, models: { "claude-opus-4-8": { ttftMs: 400 } } } });
    const c = client(Anthropic, m);
    const firstToken = async (model: string) => {
      const started = performance.now();
      const stream = c.messages.stream({ ...ask("x"), model });
      await new Promise<void>((resolve) => stream.once("text", () => resolve()));
      const ms = performance.now() - started;
      await stream.done();
      return ms;
    };
    const slow = await firstToken("claude-opus-4-8");
    const fast = await firstToken("claude-haiku-4-5");
    expect(slow).toBeGreaterThanOrEqual(390);
    expect(fast).toBeLessThan(slow);
  });

  it("applies the per-token delay to non-streaming replies", async () => {
    const m = await mock({ latency: { perTokenMs: 5 }, reply: { minTokens: 60, maxTokens: 60 } });
    const started = performance.now();
    const msg = await client(Anthropic, m).messages.create(ask("x"));
    expect(performance.now() - started).toBeGreaterThanOrEqual(5 * msg.usage.output_tokens - 10);
  });
});

describe("options", () => {
  it("are validated, naming the option and what is accepted", async () => {
    await expect(startMockClaude({ port: -1 })).rejects.toThrow("option `port` must be an integer from 0 to 65535");
    await expect(startMockClaude({ latency: { ttftMs: -5 } })).rejects.toThrow("`latency.ttftMs` must be a number ≥ 0");
    await expect(startMockClaude({ orgLimits: { requestsPerMinute: 0 } })).rejects.toThrow(
      "`orgLimits.requestsPerMinute` must be an integer ≥ 1",
    );
    await expect(startMockClaude({ reply: { minTokens: 50, maxTokens: 10 } })).rejects.toThrow(
      "`reply.maxTokens` must be ≥ reply.minTokens (50)",
    );
  });

  it("check the API key when one is configured", async () => {
    const m = await mock({ apiKey: "sk-right" });
    const error = await new Anthropic({ baseURL: m.url, apiKey: "sk-wrong", maxRetries: 0 }).messages
      .create(ask("x"))
      .catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    const ok = await new Anthropic({ baseURL: m.url, apiKey: "sk-right" }).messages.create(ask("x"));
    expect(ok.type).toBe("message");
  });

  it("bound mock.requests to maxRecordedRequests", async () => {
    const m = await mock({ maxRecordedRequests: 10 });
    const c = client(Anthropic, m);
    for (let i = 0; i < 15; i++)
      await c.messages.countTokens({ model: MODEL, messages: [{ role: "user", content: `n${i}` }] });
    expect(m.requests.length).toBeLessThanOrEqual(10);
    expect((m.requests.at(-1)!.body as { messages: Array<{ content: string }> }).messages[0]?.content).toBe("n14");
  });

  it("refuse a body over maxBodyBytes with 413 request_too_large, as the API does", async () => {
    const m = await mock({ maxBodyBytes: 100_000 });
    const error = await client(Anthropic, m)
      .messages.create(ask("x".repeat(200_000)))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(413);
    expect((error as { error?: { error?: { type?: string } } }).error?.error?.type).toBe("request_too_large");
    expect(m.requests.at(-1)).toMatchObject({ status: 413, body: undefined });
    // a body just under the limit still gets its answer
    expect((await client(Anthropic, m).messages.create(ask("x".repeat(50_000)))).type).toBe("message");
  });

  it("answer a 200 MB chunked upload with 413 and keep none of it", async () => {
    const m = await mock(); // default limit: 32 MB
    const memory = () => {
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    const before = memory();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, memory());
    }, 5);
    const { request } = await import("node:http");
    const chunk = Buffer.alloc(1_000_000, 120);
    const total = 200;
    const outcome = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = request(`${m.url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": "k", "content-type": "application/json" }, // no content-length: chunked
      });
      req.on("response", (res) => {
        answered = true;
        let body = "";
        res.on("data", (c: Buffer) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", (e) => (answered ? undefined : reject(e)));
      const pump = () => {
        while (!answered && sent < total) {
          sent++;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        if (!answered) req.end();
      };
      pump();
    });
    clearInterval(sampler);
    expect(outcome.status).toBe(413);
    expect(JSON.parse(outcome.body).error.type).toBe("request_too_large");
    // buffered, the body alone would be 200 MB, twice that as a string
    expect(peak - before).toBeLessThan(64_000_000);
  });
});

describe("bad input", () => {
  it("always gets an API-shaped error, never a crash or a hang", async () => {
    const m = await mock();
    const post = (path: string, body: string) =>
      fetch(`${m.url}${path}`, { method: "POST", headers: { "x-api-key": "k" }, body });
    const cases: Array<[string, string, number, string]> = [
      ["/v1/messages", "{not json", 400, "invalid_request_error"],
      ["/v1/messages", "null", 400, "invalid_request_error"],
      ["/v1/messages", "[1,2]", 400, "invalid_request_error"],
      [
        "/v1/messages",
        JSON.stringify({ ...ask("x"), messages: [{ role: "robot", content: "x" }] }),
        400,
        "invalid_request_error",
      ],
      [
        "/v1/messages",
        JSON.stringify({ ...ask("x"), messages: [{ role: "user", content: 42 }] }),
        400,
        "invalid_request_error",
      ],
      ["/v1/messages", JSON.stringify({ ...ask("x"), system: 5 }), 400, "invalid_request_error"],
      ["/v1/messages", JSON.stringify({ ...ask("x"), tools: "all" }), 400, "invalid_request_error"],
      ["/v1/messages", JSON.stringify({ ...ask("x"), temperature: 3 }), 400, "invalid_request_error"],
      ["/v1/messages/count_tokens", "{}", 400, "invalid_request_error"],
      ["/v1/messages/batches", JSON.stringify({ requests: [] }), 400, "invalid_request_error"],
      [
        "/v1/messages/batches",
        JSON.stringify({ requests: [{ custom_id: "a b", params: {} }] }),
        400,
        "invalid_request_error",
      ],
      ["/v1/complete", "{}", 404, "not_found_error"],
    ];
    for (const [path, body, status, type] of cases) {
      const res = await post(path, body);
      expect(res.status, `${path} ${body}`).toBe(status);
      expect(await res.json()).toMatchObject({ type: "error", error: { type } });
    }
    const noKey = await fetch(`${m.url}/v1/messages`, { method: "POST", body: JSON.stringify(ask("x")) });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({
      error: { type: "authentication_error", message: "x-api-key header is required" },
    });
  });
});
