import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { ask, client, mock } from "./helpers.js";

const BIG = "alpha ".repeat(1200); // 1200 tokens
const sys = (ttl?: "5m" | "1h") => [
  {
    type: "text" as const,
    text: BIG,
    cache_control: ttl ? { type: "ephemeral" as const, ttl } : { type: "ephemeral" as const },
  },
];

describe("prompt caching", () => {
  it("keeps a 1-hour entry past 5 minutes and reports it as ephemeral_1h", async () => {
    const m = await mock();
    const c = client(Anthropic, m);
    const first = await c.messages.create({ ...ask("Hi"), system: sys("1h") });
    expect(first.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1203 });
    m.advanceTime(50 * 60_000);
    const later = await c.messages.create({ ...ask("Hi"), system: sys("1h") });
    expect(later.usage.cache_read_input_tokens).toBe(1203);
  });

  it("refreshes the TTL on every read", async () => {
    const m = await mock();
    const c = client(Anthropic, m);
    await c.messages.create({ ...ask("Hi"), system: sys() });
    for (let i = 0; i < 3; i++) {
      m.advanceTime(4 * 60_000); // 12 minutes in all, never 5 without a read
      const r = await c.messages.create({ ...ask("Hi"), system: sys() });
      expect(r.usage.cache_read_input_tokens).toBe(1203);
    }
  });

  it("caches tools → system → messages in that order, and a change invalidates what follows it", async () => {
    const m = await mock();
    const c = client(Anthropic, m);
    const tools = [
      {
        name: "lookup_order",
        description: "beta ".repeat(1100),
        input_schema: { type: "object" as const, properties: {} },
      },
    ];
    const withTool = (system: string) => ({
      ...ask("Hi"),
      tools: [{ ...tools[0]!, cache_control: { type: "ephemeral" as const } }],
      system: [{ type: "text" as const, text: system, cache_control: { type: "ephemeral" as const } }],
    });
    const a = await c.messages.create(withTool("policy one"));
    const toolPrefix = a.usage.cache_creation_input_tokens ?? 0;
    expect(toolPrefix).toBeGreaterThan(1100);
    // Same tools, different system text: the tools breakpoint still reads, the system part is written anew.
    const b = await c.messages.create(withTool("policy two, longer"));
    // "policy one" is 3 tokens (policy 2, one 1); "policy two, longer" is 6 (2 + 1 + 1 + 2).
    expect(b.usage.cache_read_input_tokens).toBe(toolPrefix - 3);
    expect(b.usage.cache_creation_input_tokens).toBe(6);
  });

  it("finds the previous turn's prefix when the breakpoint moves forward (20-block lookback)", async () => {
    const m = await mock();
    const c = client(Anthropic, m);
    const turn1 = [
      {
        role: "user" as const,
        content: [{ type: "text" as const, text: BIG, cache_control: { type: "ephemeral" as const } }],
      },
    ];
    const r1 = await c.messages.create({ model: "claude-sonnet-4-6", max_tokens: 100, messages: turn1 });
    const written = r1.usage.cache_creation_input_tokens;
    expect(written).toBe(1207);
    const turn2 = [
      { role: "user" as const, content: [{ type: "text" as const, text: BIG }] },
      { role: "assistant" as const, content: "Sure." },
      {
        role: "user" as const,
        content: [{ type: "text" as const, text: "And then?", cache_control: { type: "ephemeral" as const } }],
      },
    ];
    const r2 = await c.messages.create({ model: "claude-sonnet-4-6", max_tokens: 100, messages: turn2 });
    expect(r2.usage.cache_read_input_tokens).toBe(written);
    expect(r2.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(r2.usage.input_tokens).toBe(0);
  });

  it("supports automatic caching with a top-level cache_control", async () => {
    const m = await mock();
    const c = client(Anthropic, m);
    const params = { ...ask(BIG), cache_control: { type: "ephemeral" as const } } as never;
    const r1 = await c.messages.create(params);
    const r2 = await c.messages.create(params);
    expect(r1.usage.cache_creation_input_tokens).toBe(1207);
    expect(r2.usage.cache_read_input_tokens).toBe(1207);
  });

  it("keeps caches apart per model", async () => {
    const m = await mock();
    const c = client(Anthropic, m);
    await c.messages.create({ ...ask("Hi"), system: sys() });
    const other = await c.messages.create({ ...ask("Hi"), model: "claude-opus-4-8", system: sys() });
    expect(other.usage.cache_read_input_tokens).toBe(0);
    expect(other.usage.cache_creation_input_tokens).toBe(1203);
  });

  it("rejects more than 4 breakpoints and an unknown ttl", async () => {
    const m = await mock();
    const c = client(Anthropic, m);
    const block = { type: "text" as const, text: "x", cache_control: { type: "ephemeral" as const } };
    const five = await c.messages.create({ ...ask("Hi"), system: [block, block, block, block, block] }).catch((e) => e);
    expect(five).toBeInstanceOf(Anthropic.BadRequestError);
    expect(five.message).toContain("maximum of 4 blocks with cache_control");
    const badTtl = await c.messages
      .create({ ...ask("Hi"), system: [{ ...block, cache_control: { type: "ephemeral", ttl: "2h" } as never }] })
      .catch((e) => e);
    expect(badTtl.message).toContain("system.0.cache_control.ttl");
  });

  it("does not charge cache reads to the input-token rate limit", async () => {
    const m = await mock({ orgLimits: { inputTokensPerMinute: 2000 } });
    const c = client(Anthropic, m);
    await c.messages.create({ ...ask("Hi"), system: sys() }); // writes 1203 + 5 uncached
    // Three reads cost 5 input tokens each: well inside 2000 - 1208.
    for (let i = 0; i < 3; i++) {
      const { response } = await c.messages.create({ ...ask("Hi"), system: sys() }).withResponse();
      expect(response.status).toBe(200);
    }
    // A new 1200-token prefix would exceed what is left.
    const error = await c.messages
      .create({ ...ask("Hi"), system: [{ type: "text", text: "gamma ".repeat(1200) }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expect(error.message).toContain("input tokens per minute");
  });
});
