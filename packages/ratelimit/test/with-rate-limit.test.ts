// withRateLimit on the real SDK over HTTP against claude-mock, counting in a real Redis: refused calls
// never reach the wire, and every call that did is settled to its real usage, streams included.
import Anthropic from "@anthropic-ai/sdk";
import { type MockClaude, startMockClaude } from "@ballast/claude-mock";
import { type RedisService, startRedis } from "@ballast/test-services";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRateLimiter, RateLimitedError, type RuleInput, redisStore, withRateLimit } from "../src/index.js";

let redis: RedisService;
let connection: Redis;
let mock: MockClaude;
beforeAll(async () => {
  [redis, mock] = await Promise.all([startRedis(), startMockClaude()]);
  connection = new Redis(redis.url);
});
afterAll(async () => {
  connection?.disconnect();
  await Promise.all([redis?.stop(), mock?.close()]);
});

let limiters = 0;
function limited(rules: RuleInput[], key = () => "user_1" as string | undefined) {
  const limiter = createRateLimiter({ name: `wrl_${++limiters}`, store: redisStore({ client: connection }), rules });
  const client = withRateLimit(new Anthropic({ baseURL: mock.url, apiKey: "sk-test", maxRetries: 0 }), limiter, {
    key,
  });
  return { limiter, client };
}
const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "claude-sonnet-4-6",
  max_tokens: 100,
  messages: [{ role: "user" as const, content }],
  ...extra,
});
/** What the key has spent under a `tokens` rule: its limit minus what a zero demand finds left. */
const spentTokens = async (limiter: ReturnType<typeof limited>["limiter"], limit: number) =>
  limit - ((await limiter.acquire("user_1", {})).remaining.tokens as number);

describe("withRateLimit", () => {
  it("throws RateLimitedError for a refused call without sending it", async () => {
    const { client } = limited([{ name: "calls", limit: 2, window: "1h" }]);
    const before = mock.requests.length;
    await client.messages.create(ask("one"));
    await client.messages.create(ask("two"));
    const refused = await client.messages.create(ask("three")).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused).toMatchObject({ rule: "calls", limit: 2, spent: 2, requested: 1, key: "user_1" });
    expect((refused as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
    expect((refused as RateLimitedError).headers["RateLimit-Policy"]).toContain("calls");
    expect(mock.requests.length - before).toBe(2);
  });

  it("settles a call to its real usage, and lets a key of undefined through uncounted", async () => {
    const { limiter, client } = limited([{ name: "tokens", limit: 1_000_000, window: "1h", measure: "tokens" }]);
    const message = await client.messages.create(ask("Where is my order?"));
    expect(await spentTokens(limiter, 1_000_000)).toBe(message.usage.input_tokens + message.usage.output_tokens);

    const open = limited([{ name: "calls", limit: 1, window: "1h" }], () => undefined);
    for (let i = 0; i < 3; i++) await open.client.messages.create(ask("free"));
  });

  it("settles streams read to the end, abandoned, and cut by the server, and gives back what failed", async () => {
    const { limiter, client } = limited([{ name: "tokens", limit: 1_000_000, window: "1h", measure: "tokens" }]);
    let expected = 0;

    const full = await client.messages.stream(ask("Read me to the end")).finalMessage();
    expected += full.usage.input_tokens + full.usage.output_tokens;
    expect(await spentTokens(limiter, 1_000_000)).toBe(expected);

    // abandoned after its first event: the input was billed, output so far is message_start's
    const stream = await client.messages.create({ ...ask("Leave me early"), stream: true });
    let input = 0;
    let output = 0;
    for await (const event of stream) {
      if (event.type === "message_start") {
        input = event.message.usage.input_tokens;
        output = event.message.usage.output_tokens;
      }
      break;
    }
    expected += input + output;
    await expect.poll(() => spentTokens(limiter, 1_000_000)).toBe(expected);

    // cut by an SSE error after two deltas: billed input, counted
    mock.enqueue({ stream: "error", after: 2 });
    const cut = await client.messages.create({ ...ask("Break me"), stream: true });
    let cutUsage = { input_tokens: 0, output_tokens: 0 };
    await expect(
      (async () => {
        for await (const event of cut) if (event.type === "message_start") cutUsage = event.message.usage;
      })(),
    ).rejects.toThrow();
    expected += cutUsage.input_tokens + cutUsage.output_tokens;
    await expect.poll(() => spentTokens(limiter, 1_000_000)).toBe(expected);

    // an error answer is not billed: its reservation is given back
    mock.enqueue({ status: 500 });
    await expect(client.messages.create(ask("Fail"))).rejects.toMatchObject({ status: 500 });
    expect(await spentTokens(limiter, 1_000_000)).toBe(expected);
  });

  it("says what it accepts", () => {
    const limiter = createRateLimiter({ name: "wrl_args", rules: [{ name: "calls", limit: 1, window: "1m" }] });
    const base = new Anthropic({ apiKey: "sk-test" });
    expect(() => withRateLimit(base, {} as never, { key: () => "k" })).toThrow(/`limiter` must be a limiter/);
    expect(() => withRateLimit(base, limiter, {} as never)).toThrow(/`options.key` must be a function/);
    expect(() => withRateLimit({} as never, limiter, { key: () => "k" })).toThrow(/withRateLimit: `client`/);
  });
});
