import { startRedis } from "@ballast/test-services";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExpiringLru, type KeyValueStore, memoryKV, redisKV } from "../src/index.js";

let redis: Awaited<ReturnType<typeof startRedis>>;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

let clock = 1_000;
const stores: Array<[string, () => KeyValueStore, (ms: number) => Promise<void>]> = [
  [
    "memoryKV",
    () => memoryKV({ now: () => clock }),
    async (ms) => {
      clock += ms;
    },
  ],
  ["redisKV", () => redisKV({ client }), (ms) => new Promise((r) => setTimeout(r, ms))],
];

describe.each(stores)("%s", (_name, make, elapse) => {
  it("keeps strings for their time to live, then forgets them", async () => {
    const kv = make();
    const key = `t:${Math.random()}`;
    await kv.set(key, "a", 60);
    expect(await kv.get(key)).toBe("a");
    await elapse(80);
    expect(await kv.get(key)).toBeUndefined();
  });

  it("sets if absent only once, and again after expiry or delete", async () => {
    const kv = make();
    const key = `lock:${Math.random()}`;
    expect(await kv.setIfAbsent(key, "1", 60)).toBe(true);
    expect(await kv.setIfAbsent(key, "2", 60)).toBe(false);
    expect(await kv.get(key)).toBe("1");
    await elapse(80);
    expect(await kv.setIfAbsent(key, "3", 1000)).toBe(true);
    await kv.delete(key);
    expect(await kv.setIfAbsent(key, "4", 1000)).toBe(true);
  });

  it("keeps hashes until their fields are deleted", async () => {
    const kv = make();
    const key = `h:${Math.random()}`;
    await kv.hashSet(key, { a: "1", b: "2" });
    await kv.hashSet(key, { b: "3" });
    expect(await kv.hashGetAll(key)).toEqual({ a: "1", b: "3" });
    expect([await kv.hashGet(key, "b"), await kv.hashGet(key, "c")]).toEqual(["3", undefined]);
    await kv.hashDelete(key, ["a"]);
    expect(await kv.hashGetAll(key)).toEqual({ b: "3" });
    await kv.hashDelete(key, ["b"]);
    expect(await kv.hashGetAll(key)).toEqual({});
  });

  it("refuses a time to live that is not a positive number", async () => {
    await expect(make().set("k", "v", 0)).rejects.toThrow("ttlMs must be a number > 0; got 0");
  });
});

describe("ExpiringLru", () => {
  it("holds at most maxKeys entries, dropping the least recently written", () => {
    const lru = new ExpiringLru<number>(3);
    for (let i = 0; i < 5; i++) lru.set(`k${i}`, i, 100);
    lru.set("k2", 22, 100); // rewriting makes it the newest
    lru.set("k5", 5, 100);
    expect(lru.size).toBe(3);
    expect(["k0", "k1", "k2", "k3", "k4", "k5"].map((k) => lru.get(k, 0))).toEqual([
      undefined,
      undefined,
      22,
      undefined,
      4,
      5,
    ]);
    expect(() => new ExpiringLru(0)).toThrow("`maxKeys` must be an integer ≥ 1; got 0");
  });

  it("forgets an entry at its expiry", () => {
    const lru = new ExpiringLru<string>(10);
    lru.set("a", "x", 50);
    expect(lru.get("a", 49)).toBe("x");
    expect(lru.get("a", 50)).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it("rejects a client that is not ioredis-shaped", () => {
    expect(() => redisKV({ client: {} as never })).toThrow("redisKV: `client` must be an ioredis Redis or Cluster");
  });
});
