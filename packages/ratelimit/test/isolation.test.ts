// One key's data can never change another key's decisions or the limiter's store health.

import { memoryKV, redisKV } from "@ballast/store";
import { startRedis } from "@ballast/test-services";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createRateLimiter, memoryStore, redisStore } from "../src/index.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function redis() {
  const service = await startRedis();
  const client = new Redis(service.url, { maxRetriesPerRequest: 0 });
  cleanups.push(
    () => service.stop(),
    () => client.disconnect(),
  );
  return client;
}
const RULES = [
  { name: "requests", limit: 1000, window: "1h" },
  { name: "input", limit: 100_000, window: "1h", measure: "input_tokens" as const },
];

describe("one key's bad data stays that key's", () => {
  it("fractional token estimates are charged whole; the other rules are charged with them or not at all", async () => {
    const client = await redis();
    for (const onStoreError of ["local", "fail-open", "fail-closed"] as const) {
      const limiter = createRateLimiter({
        name: `frac-${onStoreError}`,
        store: redisStore({ client }),
        rules: RULES,
        onStoreError,
      });
      const first = await limiter.acquire("mallory", { inputTokens: 10.5 });
      const second = await limiter.acquire("mallory", { inputTokens: 10 });
      expect([first.allowed, second.allowed]).toEqual([true, true]);
      expect(second.rule).toBeUndefined();
      expect(second.remaining).toEqual({ requests: 998, input: 100_000 - 11 - 10 });
      const alice = await limiter.acquire("alice", { inputTokens: 5 });
      expect(alice.remaining).toEqual({ requests: 999, input: 99_995 });
      const keys = await client.keys(`ballast:{frac-${onStoreError}:alice}:*`);
      expect(keys.length).toBeGreaterThan(0); // alice's acquire reached Redis
    }
  });

  it("a key whose count Redis cannot add to is that key's problem, never a store outage", async () => {
    const client = await redis();
    const limiter = createRateLimiter({
      name: "corrupt",
      store: redisStore({ client }),
      rules: RULES,
      onStoreError: "fail-closed",
    });
    await limiter.acquire("mallory", { inputTokens: 1 });
    // what an older version, or anyone with Redis access, may have left: a count that is not a number
    for (const key of await client.keys("ballast:{corrupt:mallory}:input:*")) await client.set(key, "not a number");
    const before = await client.keys("ballast:{corrupt:mallory}:requests:*");
    const requestsBefore = await Promise.all(before.map((k) => client.get(k)));
    const refused = await limiter.acquire("mallory", { inputTokens: 1 });
    expect(refused).toMatchObject({ allowed: false, rule: "store_error" });
    // all rules or none: the request count was not charged for the refused acquire
    expect(await Promise.all(before.map((k) => client.get(k)))).toEqual(requestsBefore);
    // alice's next acquire reaches Redis and is decided there
    const alice = await limiter.acquire("alice", { inputTokens: 1 });
    expect(alice).toMatchObject({ allowed: true, remaining: { requests: 999, input: 99_999 } });
  });

  it("settle refuses usage that is not a finite count ≥ 0, naming the field; huge real counts cannot reach inf", async () => {
    const client = await redis();
    const limiter = createRateLimiter({
      name: "usage",
      store: redisStore({ client }),
      rules: [...RULES, { name: "usd", limit: 10, window: "1d", measure: "usd" }],
    });
    const ticket = await limiter.acquire("u", { model: "claude-sonnet-4-6", inputTokens: 10, maxTokens: 100 });
    await expect(ticket.settle({ input_tokens: "1e300" as never, output_tokens: 5 })).rejects.toThrow(
      'settle: `usage.input_tokens` must be a number from 0 to 1000000000; got "1e300"',
    );
    await expect(ticket.settle({ input_tokens: 10, output_tokens: 1e308 })).rejects.toThrow(
      "settle: `usage.output_tokens` must be a number from 0 to 1000000000; got 1e+308",
    );
    await expect(ticket.settle({ input_tokens: 10, output_tokens: Number.NaN })).rejects.toThrow("got NaN");
    await ticket.settle({ input_tokens: 10, output_tokens: 5 }); // the ticket is still open after a refused settle
    const values = await Promise.all((await client.keys("ballast:{usage:u}:*")).map((k) => client.get(k)));
    for (const v of values) expect(Number.isFinite(Number(v))).toBe(true);
    const next = await limiter.acquire("u", { model: "claude-sonnet-4-6", inputTokens: 10, maxTokens: 100 });
    expect(next.allowed).toBe(true);
  });

  it("random fractional, huge and hostile inputs from one key never change another key's decisions", async () => {
    const client = await redis();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            inputTokens: fc.oneof(
              fc.double({ min: 0, max: 1e6, noNaN: true }),
              fc.integer({ min: 0, max: 1000 }),
              fc.constantFrom(0.5, 1e9, 1e12, -1, Number.NaN, Number.POSITIVE_INFINITY),
            ),
            maxTokens: fc.oneof(fc.integer({ min: 0, max: 4096 }), fc.constantFrom(0.25, 1e15)),
            settle: fc.oneof(
              fc.double({ min: 0, max: 1e6, noNaN: true }),
              fc.constantFrom("7" as unknown as number, 1e308, -3),
            ),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (hostile) => {
          const rules = [...RULES, { name: "usd", limit: 5, window: "1d", measure: "usd" as const }];
          // fail-closed: a store outage would show as alice refused
          const shared = createRateLimiter({
            name: `prop${run}`,
            store: redisStore({ client }),
            rules,
            onStoreError: "fail-closed",
          });
          const alone = createRateLimiter({ name: `prop${run}`, store: memoryStore(), rules });
          run++;
          const honest = async (limiter: typeof shared) => {
            const t = await limiter.acquire("alice", { model: "claude-sonnet-4-6", inputTokens: 100, maxTokens: 50 });
            await t.settle({ input_tokens: 100, output_tokens: 20 });
            return [t.allowed, t.remaining];
          };
          const expected = [await honest(alone), await honest(alone)];
          const seen = [await honest(shared)];
          for (const h of hostile) {
            try {
              const t = await shared.acquire("mallory", {
                model: "claude-sonnet-4-6",
                inputTokens: h.inputTokens,
                maxTokens: h.maxTokens,
              });
              await t.settle({ input_tokens: h.settle, output_tokens: h.settle }).catch(() => {});
            } catch {
              // refused input: that is the point
            }
          }
          seen.push(await honest(shared));
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("configuration that can never work is refused at construction", () => {
  it("names the option and what it accepts", async () => {
    const rule = { name: "r", limit: 1, window: "1m" };
    expect(() => createRateLimiter({ name: "x", rules: [{ ...rule, window: "99999999999999999999d" }] })).toThrow(
      "`rules[0].window` must be a duration from 1s to 400d",
    );
    expect(() => createRateLimiter({ name: "x", rules: [{ ...rule, limit: Number.NaN }] })).toThrow(
      "`rules[0].limit` must be a number > 0; got NaN",
    );
    expect(() => createRateLimiter({ name: "x", rules: [rule], store: {} as never })).toThrow(
      "`store` must be a rate-limit store: memoryStore() or redisStore({ client }) from @ballast/ratelimit",
    );
    expect(() =>
      createRateLimiter({
        name: "x",
        rules: [rule],
        store: redisKV({ client: new Redis({ lazyConnect: true }) }) as never,
      }),
    ).toThrow("(a key-value store from @ballast/store is not one)");
    expect(() => createRateLimiter({ name: "x", rules: [rule], store: memoryKV() as never })).toThrow(
      "`store` must be",
    );
    // a client without the calls the store makes (node-redis, a key-value store) is refused before any decision
    for (const client of [{}, { evalsha() {}, eval() {} }, memoryKV()]) {
      expect(() => redisStore({ client: client as never })).toThrow(
        "redisStore: `client` must be an ioredis Redis or Cluster instance",
      );
    }
    const limiter = createRateLimiter({ name: "x", rules: [rule] });
    await expect(limiter.acquire("lone \ud800 surrogate")).rejects.toThrow(
      "acquire: `key` must be well-formed Unicode (it has a lone surrogate)",
    );
  });
});
