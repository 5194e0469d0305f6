import { describe, expect, it } from "vitest";
import { estimateMaxCost, normalizeModelId, PRICE_TABLE, priceCall, withPrices } from "../src/index.js";

const close = (actual: number | undefined, expected: number) => {
  expect(actual).toBeDefined();
  expect(Math.abs((actual ?? Number.NaN) - expected)).toBeLessThan(1e-12);
};

// Every figure below is worked out by hand from the per-million rates: tokens × rate / 1e6.
describe("priceCall", () => {
  it("prices input and output only (Sonnet 4.5: $3 / $15)", () => {
    const p = priceCall({ model: "claude-sonnet-4-5", usage: { input_tokens: 1000, output_tokens: 500 } });
    close(p?.breakdown.input, 0.003); // 1000 × 3 / 1e6
    close(p?.breakdown.output, 0.0075); // 500 × 15 / 1e6
    close(p?.usd, 0.0105);
    close(p?.cacheSavingsUsd, 0);
    expect(p?.priceId).toBe("claude-sonnet-4-5");
  });

  it("gives USD to the nano-dollar, so a sum prints as the price it is", () => {
    // Sonnet 4.6: 428 × $3 + 50 × $15 per million is $0.002034 exactly; summed in floating point, 0.0020340000000000002
    const p = priceCall({ model: "claude-sonnet-4-6", usage: { input_tokens: 428, output_tokens: 50 } });
    expect(String(p?.usd)).toBe("0.002034");
    expect(p!.breakdown.input + p!.breakdown.output).not.toBe(p?.usd); // what it was before
  });

  it("prices cache reads and writes with 5m and 1h TTLs, and the savings (Opus 4.8: 5 / 6.25 / 10 / 0.50 / 25)", () => {
    const p = priceCall({
      model: "claude-opus-4-8",
      usage: {
        input_tokens: 1240,
        cache_read_input_tokens: 980,
        cache_creation_input_tokens: 3000,
        cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
        output_tokens: 312,
      },
    });
    close(p?.breakdown.input, 0.0062); // 1240 × 5
    close(p?.breakdown.cacheRead, 0.00049); // 980 × 0.5
    close(p?.breakdown.cacheWrite5m, 0.00625); // 1000 × 6.25
    close(p?.breakdown.cacheWrite1h, 0.02); // 2000 × 10
    close(p?.breakdown.output, 0.0078); // 312 × 25
    close(p?.usd, 0.0062 + 0.00049 + 0.00625 + 0.02 + 0.0078);
    close(p?.cacheSavingsUsd, 0.00441); // 980 × (5 − 0.5)
  });

  it("bills cache writes without a TTL split as 5-minute writes", () => {
    const p = priceCall({
      model: "claude-haiku-4-5",
      usage: { input_tokens: 0, cache_creation_input_tokens: 4000, output_tokens: 0 },
    });
    close(p?.breakdown.cacheWrite5m, 0.005); // 4000 × 1.25
    close(p?.breakdown.cacheWrite1h, 0);
  });

  it("applies the 50% batch discount to every kind of token, by flag or by service tier", () => {
    const usage = {
      input_tokens: 2000,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 1000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1000 },
      output_tokens: 400,
    };
    // Haiku 4.5 halved: input 0.5, 1h write 1, read 0.05, output 2.5
    const expected = 2000 * 0.5e-6 + 1000 * 1e-6 + 1000 * 0.05e-6 + 400 * 2.5e-6;
    close(priceCall({ model: "claude-haiku-4-5", usage, batch: true })?.usd, expected);
    close(priceCall({ model: "claude-haiku-4-5", usage, serviceTier: "batch" })?.usd, expected);
    close(priceCall({ model: "claude-haiku-4-5", usage, batch: true })?.cacheSavingsUsd, 1000 * 0.45e-6);
  });

  it("switches Sonnet 4/4.5 to the long-context tier for the whole request above 200k input tokens", () => {
    const below = priceCall({ model: "claude-sonnet-4-5", usage: { input_tokens: 200_000, output_tokens: 1000 } });
    close(below?.usd, 0.6 + 0.015); // at the threshold: 200k × 3, 1000 × 15
    // 150k uncached + 60k read + 10k 1h write = 220k > 200k: $6 input, $0.60 read, $12 1h write, $22.50 output
    const above = priceCall({
      model: "claude-sonnet-4-5-20250929",
      usage: {
        input_tokens: 150_000,
        cache_read_input_tokens: 60_000,
        cache_creation_input_tokens: 10_000,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 10_000 },
        output_tokens: 2000,
      },
    });
    close(above?.usd, 0.9 + 0.036 + 0.12 + 0.045);
    close(above?.cacheSavingsUsd, 60_000 * 5.4e-6);
    expect(above?.priceId).toBe("claude-sonnet-4-5:long-context");
    const batchAbove = priceCall({
      model: "claude-sonnet-4-0",
      usage: { input_tokens: 300_000, output_tokens: 0 },
      batch: true,
    });
    close(batchAbove?.usd, 0.9); // 300k × 6 × 0.5
    // Sonnet 4.6 has no long-context tier
    close(priceCall({ model: "claude-sonnet-4-6", usage: { input_tokens: 300_000 } })?.usd, 0.9);
  });

  it("knows the confirmed figures of every family", () => {
    const perMillion = (model: string) => {
      const u = {
        input_tokens: 1e6,
        output_tokens: 1e6,
        cache_read_input_tokens: 1e6,
        cache_creation_input_tokens: 2e6,
        cache_creation: { ephemeral_5m_input_tokens: 1e6, ephemeral_1h_input_tokens: 1e6 },
      };
      const b = priceCall({ model, usage: u })?.breakdown;
      return b && [b.input, b.cacheWrite5m, b.cacheWrite1h, b.cacheRead, b.output];
    };
    expect(perMillion("claude-opus-4-5")).toEqual([5, 6.25, 10, 0.5, 25]);
    expect(perMillion("claude-opus-5")).toEqual([5, 6.25, 10, 0.5, 25]);
    expect(perMillion("claude-opus-4-1")).toEqual([15, 18.75, 30, 1.5, 75]);
    expect(perMillion("claude-3-7-sonnet-20250219")).toEqual([3, 3.75, 6, 0.3, 15]);
    expect(perMillion("claude-3-5-haiku-20241022")).toEqual([0.8, 1, 1.6, 0.08, 4]);
    expect(perMillion("claude-3-haiku-20240307")).toEqual([0.25, 0.3, 0.5, 0.03, 1.25]);
    expect(perMillion("claude-opus-5-5")).toEqual([4, 5, 8, 0.2, 20]);
    expect(perMillion("claude-sonnet-5")).toEqual([2, 2.5, 4, 0.2, 10]);
    expect(perMillion("claude-fable-5-1")).toEqual([10, 12.5, 20, 0.25, 50]);
  });

  it("returns undefined for a model it does not know, never a guess", () => {
    expect(priceCall({ model: "claude-haiku-5-5", usage: { input_tokens: 10 } })).toBeUndefined();
    expect(priceCall({ model: "gpt-4o", usage: { input_tokens: 10 } })).toBeUndefined();
    expect(priceCall({ model: "", usage: { input_tokens: 10 } })).toBeUndefined();
  });

  it("never throws on odd usage: nulls, strings, negatives, missing fields", () => {
    const odd = {
      input_tokens: "1000",
      output_tokens: null,
      cache_read_input_tokens: -5,
      cache_creation: null,
    } as never;
    close(priceCall({ model: "claude-sonnet-4-6", usage: odd })?.usd, 0.003);
    close(priceCall({ model: "claude-sonnet-4-6", usage: null })?.usd, 0);
    close(
      priceCall({ model: "claude-sonnet-4-6", usage: { input_tokens: Number.NaN, output_tokens: "x" } as never })?.usd,
      0,
    );
  });
});

describe("model ids", () => {
  it("resolve with and without dates, through aliases, Bedrock and Vertex ids", () => {
    const id = (model: string) => priceCall({ model, usage: {} })?.priceId;
    expect(id("claude-sonnet-4-5")).toBe("claude-sonnet-4-5");
    expect(id("claude-sonnet-4-5-20250929")).toBe("claude-sonnet-4-5");
    expect(id("anthropic.claude-sonnet-4-5-20250929-v1:0")).toBe("claude-sonnet-4-5");
    expect(id("us.anthropic.claude-sonnet-4-5-20250929-v1:0")).toBe("claude-sonnet-4-5");
    expect(id("eu.anthropic.claude-haiku-4-5-20251001-v1:0")).toBe("claude-haiku-4-5");
    expect(id("global.anthropic.claude-opus-4-5-20251101-v1:0")).toBe("claude-opus-4-5");
    expect(id("claude-sonnet-4-5@20250929")).toBe("claude-sonnet-4-5");
    expect(id("claude-opus-4-1@20250805")).toBe("claude-opus-4-1");
    expect(id("claude-sonnet-4-20250514")).toBe("claude-sonnet-4-0");
    expect(id("claude-opus-4-0")).toBe("claude-opus-4-0");
    expect(id("claude-3-5-haiku-latest")).toBe("claude-3-5-haiku");
    expect(id("claude-opus-4-8[1m]")).toBe("claude-opus-4-8");
    expect(id("Claude-Sonnet-4-6")).toBe("claude-sonnet-4-6");
    expect(normalizeModelId("apac.anthropic.claude-3-7-sonnet-20250219-v1:0")).toBe("claude-3-7-sonnet-20250219");
  });
});

describe("estimateMaxCost", () => {
  it("is an upper bound: all input at the 1h-write rate plus max_tokens of output", () => {
    close(
      estimateMaxCost({ model: "claude-sonnet-4-6", inputTokens: 1000, maxTokens: 500 }),
      1000 * 6e-6 + 500 * 15e-6,
    );
    close(
      estimateMaxCost({ model: "claude-sonnet-4-5", inputTokens: 250_000, maxTokens: 1000 }),
      250_000 * 12e-6 + 1000 * 22.5e-6,
    );
    close(
      estimateMaxCost({ model: "claude-haiku-4-5", inputTokens: 1000, maxTokens: 1000, batch: true }),
      (1000 * 2e-6 + 1000 * 5e-6) / 2,
    );
    expect(estimateMaxCost({ model: "mystery", inputTokens: 1, maxTokens: 1 })).toBeUndefined();
    const real = priceCall({
      model: "claude-sonnet-4-6",
      usage: { input_tokens: 900, cache_read_input_tokens: 100, output_tokens: 500 },
    });
    expect(real!.usd).toBeLessThanOrEqual(
      estimateMaxCost({ model: "claude-sonnet-4-6", inputTokens: 1000, maxTokens: 500 })!,
    );
  });

  it("rejects bad numbers naming the field", () => {
    expect(() => estimateMaxCost({ model: "claude-sonnet-4-6", inputTokens: -1, maxTokens: 1 })).toThrow(
      "`inputTokens` must be a number ≥ 0",
    );
    expect(() => estimateMaxCost({ model: "claude-sonnet-4-6", inputTokens: 1, maxTokens: Number.NaN })).toThrow(
      "`maxTokens`",
    );
  });
});

describe("withPrices", () => {
  it("adds a model, with standard cache multipliers by default, and leaves the original table alone", () => {
    const table = withPrices(PRICE_TABLE, { "my-finetune": { input: 2, output: 8, aliases: ["my-finetune-v2"] } });
    const p = priceCall(
      {
        model: "my-finetune-v2",
        usage: {
          input_tokens: 1000,
          cache_read_input_tokens: 1000,
          cache_creation_input_tokens: 1000,
          output_tokens: 1000,
        },
      },
      table,
    );
    close(p?.usd, 1000 * 2e-6 + 1000 * 0.2e-6 + 1000 * 2.5e-6 + 1000 * 8e-6);
    expect(priceCall({ model: "my-finetune", usage: {} })).toBeUndefined();
  });

  it("overrides an entry, keeping its aliases", () => {
    const table = withPrices(PRICE_TABLE, { "claude-sonnet-4-5": { input: 2.5, output: 12, cacheRead: 0.2 } });
    // the override drops the long-context tier: 2M tokens stay at the new flat rates
    close(
      priceCall(
        { model: "claude-sonnet-4-5-20250929", usage: { input_tokens: 1e6, cache_read_input_tokens: 1e6 } },
        table,
      )?.usd,
      2.7,
    );
    close(priceCall({ model: "claude-sonnet-4-5", usage: { input_tokens: 100_000 } })?.usd, 0.3);
  });

  it("rejects a bad price naming the model and field", () => {
    expect(() => withPrices(PRICE_TABLE, { x: { input: -1, output: 1 } })).toThrow(
      "`x.input` must be a USD-per-million-tokens number ≥ 0",
    );
    expect(() => withPrices(PRICE_TABLE, { x: { input: 1 } as never })).toThrow("`x.output`");
  });

  it("has a source and a read date on every entry", () => {
    for (const entry of Object.values(PRICE_TABLE.entries)) {
      expect(entry.source).toMatch(/^https:\/\/platform\.claude\.com\//);
      expect(entry.readOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });
});
