// The two rate limiters the ratelimit benches compare, on one ioredis client (a Redis or a Cluster):
// Ballast with one and three rules, rate-limiter-flexible with one and three (RateLimiterUnion). Limits
// are high enough that every decision is an allow: the cost of deciding, not of refusing.
import { createRateLimiter, redisStore } from "@ballast/ratelimit";
import type { Cluster, Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterUnion } from "rate-limiter-flexible";

type Decide = (i: number) => Promise<unknown>;
export interface Contenders {
  /** Ballast, one rule */
  b1: Decide;
  /** rate-limiter-flexible, one rule */
  f1: Decide;
  /** Ballast, three rules */
  b3: Decide;
  /** rate-limiter-flexible, three rules through RateLimiterUnion */
  f3: Decide;
}

/** Decision `i` is made for user `i % users` (`prefix` keeps processes' users apart). */
export function contenders(client: Redis | Cluster, users: number, prefix = ""): Contenders {
  const big = 1e12;
  const key = (i: number) => `${prefix}user_${i % users}`;
  // each limiter with its own store, as two apps would have
  const store = () => redisStore({ client });
  const ballast1 = createRateLimiter({
    name: "b1",
    store: store(),
    rules: [{ name: "requests", limit: big, window: "1m" }],
  });
  const ballast3 = createRateLimiter({
    name: "b3",
    store: store(),
    rules: [
      { name: "requests", limit: big, window: "1m" },
      { name: "input_tokens", limit: big, window: "1m", measure: "input_tokens" },
      { name: "daily_tokens", limit: big, window: "1d", measure: "tokens" },
    ],
  });
  const rlf = (keyPrefix: string, duration: number) =>
    new RateLimiterRedis({ storeClient: client, keyPrefix, points: big, duration });
  const flexible1 = rlf("f1", 60);
  const union = new RateLimiterUnion(rlf("u1", 60), rlf("u2", 60), rlf("u3", 86_400));
  return {
    b1: (i) => ballast1.acquire(key(i)),
    f1: (i) => flexible1.consume(key(i)),
    b3: (i) => ballast3.acquire(key(i), { inputTokens: 100, maxTokens: 100 }),
    f3: (i) => union.consume(key(i)),
  };
}
