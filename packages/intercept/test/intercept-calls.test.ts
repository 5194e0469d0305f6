import Anthropic from "@anthropic-ai/sdk";
import { type MockClaude, startMockClaude } from "@ballast/claude-mock";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import AnthropicLegacy from "anthropic-sdk-0133";
import { afterEach, describe, expect, it } from "vitest";
import { interceptCalls, type Layer, observedStream, type SdkStream, UserCall, userCallFrom } from "../src/index.js";

const SDKS = [
  { name: "sdk 1.x", Client: Anthropic },
  { name: "sdk 0.133", Client: AnthropicLegacy as unknown as typeof Anthropic },
] as const;
const MODEL = "claude-sonnet-4-6";
const ask = (content = "Where is my order?") => ({
  model: MODEL,
  max_tokens: 200,
  messages: [{ role: "user" as const, content }],
});

const mocks: MockClaude[] = [];
afterEach(async () => {
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});
async function mock(): Promise<MockClaude> {
  const m = await startMockClaude();
  mocks.push(m);
  return m;
}

/** A layer that notes each call it sees and passes it on unchanged. */
function noting(client: Anthropic) {
  const seen: string[] = [];
  const layered = interceptCalls(client, "noting", (params, options, send) => {
    seen.push(`${params.stream === true ? "stream" : "message"}:${String(params.model)}`);
    return send(params, options);
  });
  return { layered, seen };
}

describe.each(SDKS)("interceptCalls on $name", ({ Client }) => {
  it("sees every call shape once and keeps the SDK's objects", async () => {
    const m = await mock();
    const given = new Client({ baseURL: m.url, apiKey: "sk-test", maxRetries: 0 });
    const { layered, seen } = noting(given);

    const promise = layered.messages.create(ask());
    const { data, response, request_id } = await promise.withResponse();
    expect(data.type).toBe("message");
    expect(response.status).toBe(200);
    expect(request_id).toBe(m.requests[0]!.id);
    expect((await layered.messages.create(ask()).asResponse()).headers.get("request-id")).toBe(m.requests[1]!.id);

    const stream = await layered.messages.create({ ...ask(), stream: true });
    const [left, right] = stream.tee();
    const types: string[] = [];
    for await (const event of left) types.push(event.type);
    for await (const _ of right);
    expect(types.at(0)).toBe("message_start");
    expect(types.at(-1)).toBe("message_stop");

    const final = await layered.messages.stream(ask()).finalMessage();
    expect(final.stop_reason).toBe("end_turn");
    await layered.beta.messages.create(ask());
    expect(seen).toEqual([
      `message:${MODEL}`,
      `message:${MODEL}`,
      `stream:${MODEL}`,
      `stream:${MODEL}`,
      `message:${MODEL}`,
    ]);
    // the client passed in is untouched
    await given.messages.create(ask());
    expect(seen).toHaveLength(5);
  });

  it("sees countTokens as its own operation, and gives its answer back", async () => {
    const m = await mock();
    const operations: string[] = [];
    const layered = interceptCalls(
      new Client({ baseURL: m.url, apiKey: "sk-test", maxRetries: 0 }),
      "noting",
      (params, options, send, operation) => {
        operations.push(operation);
        return send(params, options);
      },
    );
    const count = await layered.messages.countTokens({ model: MODEL, messages: ask().messages });
    const beta = await layered.beta.messages.countTokens({ model: MODEL, messages: ask().messages });
    expect(count.input_tokens).toBeGreaterThan(0);
    expect(beta.input_tokens).toBe(count.input_tokens);
    expect(operations).toEqual(["countTokens", "countTokens"]);
  });

  it("sees every call a tool runner makes", async () => {
    const m = await mock();
    m.enqueue({ reply: { toolUse: { name: "get_order", input: { id: "A1" } } } }, { reply: { text: "It shipped." } });
    const { layered, seen } = noting(new Client({ baseURL: m.url, apiKey: "sk-test", maxRetries: 0 }));
    const runner = layered.beta.messages.toolRunner({
      ...ask(),
      tools: [
        {
          name: "get_order",
          description: "Look an order up",
          input_schema: { type: "object", properties: { id: { type: "string" } } },
          run: () => "shipped yesterday",
        },
      ],
    } as never);
    const final = await runner.runUntilDone();
    expect(final.content.at(-1)).toMatchObject({ type: "text", text: "It shipped." });
    expect(m.requests.filter((r) => r.path.startsWith("/v1/messages"))).toHaveLength(2);
    expect(seen).toHaveLength(2);
  });

  it("observedStream shows each event, ends once, and leaves the stream as the caller reads it", async () => {
    const m = await mock();
    const client = new Client({ baseURL: m.url, apiKey: "sk-test", maxRetries: 0 });
    const stream = (await client.messages.create({ ...ask(), stream: true })) as unknown as SdkStream;
    const shown: string[] = [];
    const ends: unknown[] = [];
    const observed = observedStream(
      stream,
      client,
      (event) => shown.push(String(event.type)),
      (error) => ends.push(error),
    );
    const read: string[] = [];
    for await (const event of observed as unknown as AsyncIterable<{ type: string }>) read.push(event.type);
    expect(read).toEqual(shown);
    expect(ends).toEqual([undefined]);
    expect(observed).toBeInstanceOf(stream.constructor);
  });
});

it("names the wrapper and what it accepts when the client is not one", () => {
  expect(() => interceptCalls({} as never, "withSomething", (p, o, send) => send(p, o))).toThrow(
    "withSomething: `client` must be an Anthropic SDK client (new Anthropic(), AnthropicBedrock, AnthropicVertex)",
  );
});

describe("UserCall", () => {
  it("is done once the call settled and every request it started finished, each counted once", () => {
    const call = new UserCall();
    const done: string[] = [];
    call.whenDone(() => done.push("done"));
    const first = call.begin();
    const second = call.begin();
    first();
    first(); // a request reported finished twice counts once
    call.settle();
    expect(done).toEqual([]); // the second request (a stream still being read) holds it
    second();
    expect(done).toEqual(["done"]);
  });

  it("is put in the context by the outermost wrapped create only", async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const m = await mock();
      const seen: Array<UserCall | undefined> = [];
      const noteCall: Layer = (params, options, send) => {
        seen.push(userCallFrom(context.active()));
        return send(params, options);
      };
      const base = new Anthropic({ baseURL: m.url, apiKey: "k", maxRetries: 0 });
      const twice = interceptCalls(interceptCalls(base, "inner", noteCall), "outer", noteCall);
      await twice.messages.create(ask());
      expect(seen).toHaveLength(2);
      expect(seen[0]).toBeInstanceOf(UserCall);
      expect(seen[1]).toBe(seen[0]);
      await twice.messages.countTokens({ model: MODEL, messages: ask().messages });
      expect(seen.slice(2)).toEqual([undefined, undefined]); // a count is not a call
    } finally {
      context.disable();
    }
  });
});
