import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startRedis, startRedisCluster } from "@ballast/test-services";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type BudgetAlert, createRateLimiter, MemoryStore, memoryStore, redisStore } from "../src/index.js";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function redis() {
  const service = await startRedis();
  const client = new Redis(service.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  client.on("error", () => {});
  await client.connect();
  cleanups.push(
    () => service.stop(),
    () => client.disconnect(),
  );
  return { service, client };
}

const execFileAsync = promisify(execFile);
/** Runs a fixture of this package in its own process. */
const runFixture = (fixture: string, args: string[]) =>
  execFileAsync(process.execPath, [fixture, ...args], { cwd: PACKAGE_DIR });

describe("rules and keys", () => {
  it("refuse bad input with errors that name the option", async () => {
    const ok = { name: "r", limit: 1, window: "1m" };
    expect(() => createRateLimiter({ name: "x", rules: [{ ...ok, limit: 0 }] })).toThrow(
      "`rules[0].limit` must be a number > 0; got 0",
    );
    expect(() => createRateLimiter({ name: "x", rules: [{ ...ok, measure: "bananas" as never }] })).toThrow(
      "`rules[0].measure` must be requests | input_tokens | output_tokens | tokens | usd",
    );
    expect(() => createRateLimiter({ name: "x", rules: [{ ...ok, window: "5 parsecs" }] })).toThrow(
      '`rules[0].window` must be a duration from 1s to 400d, like "30s", "1m", "1h" or "1d", or "day" / "month"; got "5 parsecs"',
    );
    expect(() => createRateLimiter({ name: "has space", rules: [ok] })).toThrow("`name` must be 1 to 64 characters");
    expect(() => createRateLimiter({ name: "x", rules: [] })).toThrow("`rules` must be a non-empty array");
    const limiter = createRateLimiter({ name: "x", rules: [ok] });
    await expect(limiter.acquire("k".repeat(10_000))).rejects.toThrow("`key` must be at most 256 bytes; got 10000");
    await expect(limiter.acquire("a\nb")).rejects.toThrow("control characters");
    await expect(limiter.acquire("u", { maxTokens: -1 })).rejects.toThrow(
      "acquire: `maxTokens` must be a number from 0 to 1000000000; got -1",
    );
    const usd = createRateLimiter({ name: "x", rules: [{ name: "d", limit: 1, window: "1d", measure: "usd" }] });
    await expect(usd.acquire("u", { model: "mystery-model", maxTokens: 10 })).rejects.toThrow(
      'counts USD but model "mystery-model" has no price',
    );
  });

  it("keep user keys as data: braces and colons cannot reach Redis key syntax", async () => {
    const { client } = await redis();
    const limiter = createRateLimiter({
      name: "keys",
      store: redisStore({ client }),
      rules: [{ name: "requests", limit: 5, window: "1m" }],
    });
    await limiter.acquire("evil}{other:key");
    const keys = await client.keys("*");
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^ballast:\{keys:evil%7D%7Bother%3Akey\}:requests:\d+$/);
  });
});

describe("memory store", () => {
  it("limits requests per window and answers with the rule, retry-after and standard headers", async () => {
    const limiter = createRateLimiter({ name: "chat", rules: [{ name: "requests", limit: 3, window: "1m" }] });
    const tickets = [];
    for (let i = 0; i < 4; i++) tickets.push(await limiter.acquire("user_abc"));
    expect(tickets.map((t) => t.allowed)).toEqual([true, true, true, false]);
    const refused = tickets[3]!;
    expect(refused.rule).toBe("requests");
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.headers["Retry-After"]).toMatch(/^\d+$/);
    expect(refused.headers["RateLimit-Policy"]).toBe('"requests";q=3;w=60');
    expect(tickets[1]!.headers.RateLimit).toMatch(/^"requests";r=1;t=\d+$/);
    expect(tickets[1]!.remaining).toEqual({ requests: 1 });
  });

  it("charges all rules or none", async () => {
    const limiter = createRateLimiter({
      name: "multi",
      rules: [
        { name: "requests", limit: 10, window: "1m" },
        { name: "input_tokens", limit: 1000, window: "1m", measure: "input_tokens" },
      ],
    });
    expect((await limiter.acquire("u", { inputTokens: 800 })).allowed).toBe(true);
    const refused = await limiter.acquire("u", { inputTokens: 300 });
    expect(refused).toMatchObject({ allowed: false, rule: "input_tokens" });
    const next = await limiter.acquire("u", { inputTokens: 200 });
    expect(next.remaining).toEqual({ requests: 8, input_tokens: 0 }); // the refused call charged nothing
  });

  // Both stores against one reference model per algorithm. The Redis store runs the real script on a real
  // Redis; only its clock is the test's (Redis's own TIME cannot be moved), as the memory store's is.
  async function bothStores() {
    const { client } = await redis();
    let now = 0;
    let run = 0;
    const clock = {
      set: (t: number) => {
        now = t;
      },
    };
    const stores = [
      { name: "memory", make: () => new MemoryStore({ now: () => now }) },
      { name: "redis", make: () => redisStore({ client, now: () => now }) },
    ];
    // every run gets keys of its own: the Redis keys of earlier runs are still there
    return { clock, stores, key: () => `prop:${++run}` };
  }

  it("agrees with a reference sliding-window model over random arrival times, memory and Redis stores", async () => {
    const { clock, stores, key } = await bothStores();
    for (const { name, make } of stores) {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 3 })), { maxLength: 60 }),
          async (steps) => {
            let now = 1_000_000;
            const store = make();
            const k = key();
            const rule = { algorithm: "sliding" as const, limit: 10, windowMs: 10_000, alertAt: [] };
            const counts = new Map<number, number>();
            for (const [dt, cost] of steps) {
              now += dt;
              clock.set(now);
              const idx = Math.floor(now / 10_000);
              const used = (counts.get(idx - 1) ?? 0) * (1 - (now - idx * 10_000) / 10_000) + (counts.get(idx) ?? 0);
              const expected = used + cost <= 10;
              if (expected) counts.set(idx, (counts.get(idx) ?? 0) + cost);
              expect((await store.acquire([k], [rule], [cost])).allowed, name).toBe(expected);
            }
          },
        ),
        { numRuns: 50 },
      );
    }
  });

  it("agrees with a reference GCRA model over random arrival times and costs, memory and Redis stores", async () => {
    const { clock, stores, key } = await bothStores();
    for (const { name, make } of stores) {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 4 })), { maxLength: 60 }),
          async (steps) => {
            let now = 5_000_000;
            const store = make();
            const k = key();
            const rule = { algorithm: "gcra" as const, limit: 8, windowMs: 8000, alertAt: [] };
            const interval = rule.windowMs / rule.limit;
            let tat = 0; // the reference: theoretical arrival time
            for (const [dt, cost] of steps) {
              now += dt;
              clock.set(now);
              const next = Math.max(tat, now) + cost * interval;
              const expected = cost <= rule.limit && next - now <= rule.windowMs;
              if (expected) tat = next;
              expect((await store.acquire([k], [rule], [cost])).allowed, name).toBe(expected);
            }
          },
        ),
        { numRuns: 50 },
      );
    }
  });

  // redisStore writes one script per shape of rule list (acquire.lua's sections): every kind, whole and
  // fractional counts and alert thresholds, in random combinations, decide exactly as the memory store.
  it("decides as the memory store for random mixes of rules, costs, alerts and times on Redis", async () => {
    const { clock, stores, key } = await bothStores();
    const [memory, redis] = stores.map((s) => s.make()) as [MemoryStore, ReturnType<typeof redisStore>];
    const rule = fc.record({
      kind: fc.constantFrom("sliding", "gcra", "day"),
      fractional: fc.boolean(),
      limit: fc.integer({ min: 4, max: 40 }),
      windowMs: fc.constantFrom(4000, 60_000),
      alertAt: fc.uniqueArray(fc.constantFrom(0.25, 0.5, 1), { maxLength: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(rule, { minLength: 1, maxLength: 4 }),
        // costs in eighths: exact in binary, so float sums agree between Redis and JavaScript
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 48 })), { maxLength: 30 }),
        async (shape, steps) => {
          const rules = shape.map((r) => ({
            algorithm: r.kind === "gcra" ? ("gcra" as const) : ("sliding" as const),
            ...(r.kind === "day" ? { calendar: { unit: "day" as const, timeZone: "Europe/Berlin" } } : {}),
            fractional: r.fractional,
            limit: r.limit,
            // A GCRA alert is deduplicated by its key's TTL alone (a bucket has no window index), and Redis
            // expires keys by its own clock, not the test's: with alerts, a window the test never outlives.
            windowMs: r.kind === "day" ? 86_400_000 : r.kind === "gcra" && r.alertAt.length ? 600_000 : r.windowMs,
            alertAt: [...r.alertAt].sort(),
          }));
          const base = rules.map((_, i) => `${key()}:${i}`);
          let now = 1_700_000_000_000;
          for (const [dt, eighths] of steps) {
            now += dt;
            clock.set(now);
            const costs = rules.map((r) => (r.fractional ? eighths / 8 : Math.ceil(eighths / 8)));
            const expected = await memory.acquire(base, rules, costs);
            const got = await redis.acquire(base, rules, costs);
            // Lua formats a number with 14 significant digits: fractions are compared to the nano-unit
            const nano = (x: number | undefined) => (x === undefined ? undefined : Math.round(x * 1e9));
            expect({ ...got, remaining: got.remaining.map(nano), refusedUsed: nano(got.refusedUsed) }).toEqual({
              ...expected,
              remaining: expected.remaining.map(nano),
              refusedUsed: nano(expected.refusedUsed),
            });
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("takes up to 16 rules in one limiter, and says so past that", async () => {
    const { client } = await redis();
    const rules = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ name: `r${i}`, limit: 2 + i, window: i % 2 ? "1h" : "1m" }));
    const limiter = createRateLimiter({ name: "many", store: redisStore({ client }), rules: rules(16) });
    const tickets = [await limiter.acquire("u"), await limiter.acquire("u"), await limiter.acquire("u")];
    expect(tickets.map((t) => t.allowed)).toEqual([true, true, false]);
    expect(tickets[2]?.rule).toBe("r0");
    expect(tickets[1]?.remaining.r15).toBe(15);
    expect(() => createRateLimiter({ name: "x", rules: rules(17) })).toThrow(
      "`rules` must be at most 16 rules (one Redis script holds them all); got 17",
    );
  });

  it("GCRA spaces requests evenly: a burst up to the limit, then one per interval", () => {
    let now = 0;
    const store = memoryStore({ now: () => now });
    const rule = { algorithm: "gcra" as const, limit: 4, windowMs: 4000, alertAt: [] };
    const burst = Array.from({ length: 5 }, () => store.acquireSync(["g"], [rule], [1]));
    expect(burst.map((r) => r.allowed)).toEqual([true, true, true, true, false]);
    expect(burst[4]!.retryAfterMs).toBe(1000);
    now += 1000;
    expect(store.acquireSync(["g"], [rule], [1]).allowed).toBe(true);
    expect(store.acquireSync(["g"], [rule], [1]).allowed).toBe(false);
  });
});

describe("redis store", () => {
  it("is exact under concurrency: 4 processes × 500 concurrent acquires, limit 100 → exactly 100", async () => {
    const { service } = await redis();
    const run = () =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ["test/fixtures/acquire-many.mjs", service.url, "500"], {
          cwd: PACKAGE_DIR,
        });
        let out = "";
        child.stdout.on("data", (d) => {
          out += d;
        });
        child.stderr.on("data", (d) => {
          out += d;
        });
        child.once("exit", (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(out))));
      });
    const allowed = await Promise.all([run(), run(), run(), run()]);
    expect(allowed.reduce((a, b) => a + b, 0)).toBe(100);
  }, 60_000);

  it("is exact on a 3-master Redis Cluster too: every key of a limiter and key shares one slot", async () => {
    const cluster = await startRedisCluster(3);
    cleanups.push(() => cluster.stop());
    const client = new Redis.Cluster(cluster.nodes);
    cleanups.push(() => client.disconnect());
    const limiter = createRateLimiter({
      name: "cluster",
      store: redisStore({ client }),
      rules: [
        { name: "requests", limit: 100, window: "1m" },
        { name: "tokens", limit: 1_000_000, window: "1h", measure: "tokens" },
      ],
      onStoreError: "fail-closed",
      storeTimeoutMs: 10_000,
    });
    const tickets = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => limiter.acquire(i % 2 ? "user_a" : "user_b", { inputTokens: 10 })),
    );
    expect(tickets.filter((t) => t.rule === "store_error")).toHaveLength(0); // no CROSSSLOT, no store errors
    expect(tickets.filter((t) => t.allowed)).toHaveLength(200); // 100 per key
  }, 60_000);

  it("reserves the worst case, so 50 concurrent first requests cannot overrun a $1 budget; settling frees it", async () => {
    const { client } = await redis();
    const limiter = createRateLimiter({
      name: "budget",
      store: redisStore({ client }),
      rules: [{ name: "daily_usd", limit: 1, window: "1d", measure: "usd" }],
    });
    // Haiku 4.5: 10 000 input at the 1h-write rate ($2/M) + 6 000 output ($5/M) = $0.05 reserved each
    const demand = { model: "claude-haiku-4-5", inputTokens: 10_000, maxTokens: 6_000 };
    const tickets = await Promise.all(Array.from({ length: 50 }, () => limiter.acquire("new_user", demand)));
    const allowed = tickets.filter((t) => t.allowed);
    expect(allowed.length).toBeLessThanOrEqual(20);
    expect(allowed.length).toBeGreaterThanOrEqual(19); // floating sums may leave the 20th just over
    expect(tickets.find((t) => !t.allowed)?.rule).toBe("daily_usd");
    // each call really used 5 000 input ($0.005) and 1 000 output ($0.005): $0.01
    await Promise.all(allowed.map((t) => t.settle({ input_tokens: 5000, output_tokens: 1000 })));
    const again = await limiter.acquire("new_user", demand);
    expect(again.allowed).toBe(true);
    expect(again.remaining.daily_usd).toBeCloseTo(1 - allowed.length * 0.01 - 0.05, 9);
  });

  it("fires each budget alert once per key and window, even from two processes' limiters", async () => {
    const { client } = await redis();
    const alerts: BudgetAlert[] = [];
    const make = () =>
      createRateLimiter({
        name: "alerts",
        store: redisStore({ client }),
        rules: [{ name: "tokens", limit: 1000, window: "1h", measure: "tokens", alertAt: [0.5, 0.8, 1] }],
        onBudgetAlert: (a) => alerts.push(a),
      });
    const [a, b] = [make(), make()];
    for (const limiter of [a, b, a, b, a]) {
      const t = await limiter.acquire("u", { inputTokens: 100, maxTokens: 100 });
      await t.settle({ input_tokens: 100, output_tokens: 80 });
    }
    expect(alerts.map((x) => x.threshold)).toEqual([0.5, 0.8]);
    expect(alerts[0]).toMatchObject({ limiter: "alerts", key: "u", rule: "tokens", limit: 1000 });
  });

  it("alerts on money spent, not reserved: across processes, 80% fires once, when settled spend crosses it", async () => {
    const { service, client } = await redis();
    const spend = async (maxTokens: number, outputTokens: number) => {
      const { stdout } = await runFixture("test/fixtures/spend.mjs", [
        service.url,
        String(maxTokens),
        String(outputTokens),
      ]);
      return JSON.parse(stdout) as { allowed: boolean; alerts: number[] };
    };
    // Sonnet 4.6 output: $15 per million tokens, so 60,000 tokens reserve $0.90 of the $1 budget
    expect(await spend(60_000, 6_000)).toEqual({ allowed: true, alerts: [] }); // spent $0.09
    expect(await spend(60_000, 51_000)).toEqual({ allowed: true, alerts: [0.8] }); // spent $0.855
    expect(await spend(1_000, 1_000)).toEqual({ allowed: true, alerts: [] }); // $0.87: fired already
    // refusals still count what is reserved: $0.87 spent + $0.90 reserved would pass the $1
    expect(await spend(60_000, 0)).toEqual({ allowed: false, alerts: [] });
    const spent = await client.keys("ballast:{spend:team}:usd:spent:*");
    expect(Number(await client.get(spent[0]!))).toBeCloseTo(0.87, 9);
  });

  it("goes on when onBudgetAlert throws: every alert still counted and delivered, the first throw reported once", async () => {
    const warned: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => warned.push(message);
    try {
      const thresholds: number[] = [];
      const limiter = createRateLimiter({
        name: "hook",
        store: memoryStore(),
        rules: [{ name: "tokens", limit: 1000, window: "1h", measure: "tokens", alertAt: [0.5, 0.8, 1] }],
        onBudgetAlert: (a) => {
          thresholds.push(a.threshold);
          throw new Error("pager down");
        },
      });
      for (let i = 0; i < 6; i++) {
        const t = await limiter.acquire("u", { inputTokens: 100, maxTokens: 100 });
        if (t.allowed) await t.settle({ input_tokens: 100, output_tokens: 100 });
      }
      expect(thresholds).toEqual([0.5, 0.8, 1]);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toContain("your onBudgetAlert hook of limiter hook threw (pager down); the call goes on");
    } finally {
      console.warn = warn;
    }
  });

  it("sends decisions made in one tick in a few socket writes, and leaves the connection uncorked", async () => {
    const { client } = await redis();
    const limiter = createRateLimiter({
      name: "coalesce",
      store: redisStore({ client }),
      rules: [{ name: "requests", limit: 70, window: "1m" }],
    });
    await limiter.acquire("warm-up"); // reads Redis's clock and loads the script, once per store
    const socket = client.stream as import("node:net").Socket;
    let writes = 0;
    const write = socket._writev?.bind(socket);
    const writeOne = socket._write.bind(socket);
    socket._writev = (chunks, done) => {
      writes++;
      write?.(chunks, done);
    };
    socket._write = (chunk, encoding, done) => {
      writes++;
      writeOne(chunk, encoding, done);
    };
    const decisions = Array.from({ length: 100 }, () => limiter.acquire("u"));
    const ping = client.ping(); // the app's own command in the same tick goes out with them
    const tickets = await Promise.all(decisions);
    expect(await ping).toBe("PONG");
    expect(tickets.filter((t) => t.allowed)).toHaveLength(70);
    expect(writes).toBeLessThanOrEqual(Math.ceil(100 / 16)); // at most 16 decisions wait for one write
    expect(writes).toBeGreaterThan(1); // and no more: Redis starts on the first while the rest are made
    expect(socket.writableCorked).toBe(0);
    // a decision alone in its tick is sent at the end of that tick, not held back
    expect((await limiter.acquire("v")).allowed).toBe(true);
  });

  it("reloads its script when Redis has lost it (NOSCRIPT), counting on", async () => {
    const { client } = await redis();
    const limiter = createRateLimiter({
      name: "noscript",
      store: redisStore({ client }),
      rules: [
        { name: "requests", limit: 3, window: "1m" },
        { name: "tokens", limit: 1000, window: "1h", measure: "tokens" },
      ],
      onStoreError: "fail-closed",
    });
    expect((await limiter.acquire("u", { inputTokens: 10 })).allowed).toBe(true);
    expect(await client.script("FLUSH")).toBe("OK");
    const tickets = [await limiter.acquire("u", { inputTokens: 10 }), await limiter.acquire("u", { inputTokens: 10 })];
    expect(tickets.map((t) => [t.allowed, t.rule])).toEqual([
      [true, undefined],
      [true, undefined],
    ]);
    expect(tickets[1]?.remaining).toEqual({ requests: 0, tokens: 970 });
    expect((await limiter.acquire("u", { inputTokens: 10 })).rule).toBe("requests");
  });

  it("ignores the app clock: moved ±1 hour, the window stays Redis's", async () => {
    const { client } = await redis();
    const limiter = createRateLimiter({
      name: "clock",
      store: redisStore({ client }),
      rules: [{ name: "requests", limit: 3, window: "1m" }],
    });
    const real = Date.now;
    const results: boolean[] = [];
    for (const skew of [3_600_000, 0, -3_600_000, 3_600_000]) {
      vi.spyOn(Date, "now").mockReturnValue(real() + skew);
      results.push((await limiter.acquire("u")).allowed);
      vi.restoreAllMocks();
    }
    expect(results).toEqual([true, true, true, false]);
  });

  it("survives Redis going away: fail-open admits, fail-closed refuses, local keeps limiting; back without a restart", async () => {
    const service = await startRedis();
    const port = service.port;
    const client = new Redis(service.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 100,
    });
    client.on("error", () => {});
    cleanups.push(() => client.disconnect());
    const rules = [{ name: "requests", limit: 2, window: "1m" }];
    const open = createRateLimiter({ name: "o", store: redisStore({ client }), rules, onStoreError: "fail-open" });
    const closed = createRateLimiter({ name: "c", store: redisStore({ client }), rules, onStoreError: "fail-closed" });
    const local = createRateLimiter({ name: "l", store: redisStore({ client }), rules, onStoreError: "local" });
    await new Promise((r) => client.once("ready", r));
    expect((await local.acquire("u")).allowed).toBe(true);

    await service.stop();
    await new Promise((r) => setTimeout(r, 100));
    const failOpen = await Promise.all([open.acquire("u"), open.acquire("u"), open.acquire("u")]);
    expect(failOpen.every((t) => t.allowed)).toBe(true);
    const failClosed = await closed.acquire("u");
    expect(failClosed).toMatchObject({ allowed: false, rule: "store_error" });
    const localRun = [await local.acquire("u"), await local.acquire("u"), await local.acquire("u")];
    expect(localRun.map((t) => t.allowed)).toEqual([true, true, false]); // in memory, same rules

    const back = await startRedis({ port });
    cleanups.push(() => back.stop());
    await new Promise((r) => setTimeout(r, 2500)); // reconnect, and the 1 s store backoff passes
    expect((await closed.acquire("u")).allowed).toBe(true);
    expect(await client.keys("ballast:{c:u}:*")).toHaveLength(1); // counted in Redis again
  }, 30_000);
});
