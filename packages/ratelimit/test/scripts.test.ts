// The Lua scripts redisStore ships: named by SHA1s computed at build time, run by EVALSHA, and sent
// with EVAL when Redis does not have them (a restart, SCRIPT FLUSH, a new replica).
import { createHash } from "node:crypto";
import { startRedis } from "@ballast/test-services";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createRateLimiter, RedisStore, redisStore } from "../src/index.js";
import { SCRIPTS } from "../src/scripts.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function redis() {
  const service = await startRedis();
  const client = new Redis(service.url);
  cleanups.push(
    () => service.stop(),
    () => client.disconnect(),
  );
  return client;
}

/** Every command Redis ran while `work` ran, as MONITOR shows them. */
async function commandsDuring(client: Redis, work: () => Promise<unknown>): Promise<string[]> {
  const monitor = await client.monitor();
  const seen: string[] = [];
  monitor.on("monitor", (_time: string, args: string[]) => seen.push(args.slice(0, 2).join(" ").toUpperCase()));
  await work();
  await client.ping(); // MONITOR's lines arrive before this reply's
  await new Promise((resolve) => setTimeout(resolve, 50));
  monitor.disconnect();
  return seen;
}

describe("the shipped Lua scripts", () => {
  it("carry the SHA1 of their source, as Redis computes it (run `pnpm build` after editing a script)", async () => {
    const client = await redis();
    for (const [name, script] of Object.entries(SCRIPTS)) {
      expect(script.sha1, name).toBe(createHash("sha1").update(script.source).digest("hex"));
      expect(await client.script("LOAD", script.source), name).toBe(script.sha1);
    }
  });

  it("run by EVALSHA, sent with EVAL only when Redis does not have them, for every script", async () => {
    const client = await redis();
    const limiter = createRateLimiter({
      name: "sha",
      store: redisStore({ client }),
      rules: [
        { name: "requests", limit: 100, window: "1m" },
        { name: "tokens", limit: 10_000, window: "1m", measure: "input_tokens" },
      ],
    });
    const requestsOnly = createRateLimiter({
      name: "sha1",
      store: redisStore({ client }),
      rules: [{ name: "requests", limit: 100, window: "1m" }],
    });
    const work = async () => {
      const ticket = await limiter.acquire("u", { inputTokens: 10 });
      await ticket.settle({ input_tokens: 5 });
      await requestsOnly.acquire("u");
    };
    await client.script("FLUSH");
    const first = await commandsDuring(client, work);
    const shas = [SCRIPTS.acquire.sha1, SCRIPTS.settle.sha1, SCRIPTS.requests.sha1];
    expect(first.filter((c) => c.startsWith("EVAL"))).toEqual(
      shas.flatMap((sha) => [`EVALSHA ${sha.toUpperCase()}`, expect.stringMatching(/^EVAL -- /)]),
    );
    const again = await commandsDuring(client, work);
    expect(again.filter((c) => c.startsWith("EVAL"))).toEqual(shas.map((sha) => `EVALSHA ${sha.toUpperCase()}`));
    expect(await client.script("EXISTS", ...shas)).toEqual([1, 1, 1]);
  });

  it("RedisStore.acquireScript names the script a rule list runs", () => {
    const rule = { algorithm: "sliding" as const, limit: 100, windowMs: 60_000, alertAt: [] };
    expect(RedisStore.acquireScript([rule])).toBe(SCRIPTS.requests.source);
    expect(RedisStore.acquireScript([rule, rule])).toBe(SCRIPTS.acquire.source);
    expect(RedisStore.acquireScript([{ ...rule, alertAt: [0.5] }])).toBe(SCRIPTS.acquire.source);
    expect(RedisStore.acquireScript([{ ...rule, algorithm: "gcra" }])).toBe(SCRIPTS.acquire.source);
  });

  it("read Redis's clock at the first decision and once a minute after, never per decision", async () => {
    const client = await redis();
    const limiter = createRateLimiter({
      name: "clock",
      store: redisStore({ client }),
      rules: [{ name: "requests", limit: 1000, window: "1m" }],
    });
    const decide = () => Promise.all(Array.from({ length: 20 }, () => limiter.acquire("u")));
    const times = async (work: () => Promise<unknown>) =>
      (await commandsDuring(client, work)).filter((c) => c === "TIME").length;
    expect(await times(decide)).toBe(1);
    expect(await times(decide)).toBe(0);
    const monotonic = performance.now();
    vi.spyOn(performance, "now").mockImplementation(() => monotonic + 61_000);
    try {
      expect(await times(decide)).toBe(1);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
