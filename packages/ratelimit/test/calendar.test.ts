import { startRedis } from "@ballast/test-services";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { periodAt } from "../src/calendar.js";
import { createRateLimiter, MemoryStore, redisStore } from "../src/index.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("calendar windows", () => {
  it("know where days and months start in a time zone, DST days included", () => {
    const day = periodAt(Date.parse("2026-11-25T15:00:00Z"), "day", "America/New_York");
    expect(new Date(day.start).toISOString()).toBe("2026-11-25T05:00:00.000Z");
    expect(new Date(day.end).toISOString()).toBe("2026-11-26T05:00:00.000Z");
    const dst = periodAt(Date.parse("2026-03-08T12:00:00Z"), "day", "America/New_York"); // clocks spring forward
    expect((dst.end - dst.start) / 3_600_000).toBe(23);
    const month = periodAt(Date.parse("2026-02-10T00:00:00Z"), "month", "Asia/Tokyo");
    expect(new Date(month.start).toISOString()).toBe("2026-01-31T15:00:00.000Z");
    expect(new Date(month.end).toISOString()).toBe("2026-02-28T15:00:00.000Z");
  });

  it("reset a daily budget at local midnight, not 24 hours after the first call", async () => {
    let now = Date.parse("2026-11-26T04:30:00Z"); // 23:30 in New York
    const limiter = createRateLimiter({
      name: "daily",
      store: new MemoryStore({ now: () => now }),
      rules: [{ name: "per_day", limit: 2, window: "day", timeZone: "America/New_York" }],
    });
    expect((await limiter.acquire("u")).allowed).toBe(true);
    expect((await limiter.acquire("u")).allowed).toBe(true);
    const refused = await limiter.acquire("u");
    expect(refused).toMatchObject({ allowed: false, rule: "per_day", retryAfterMs: 30 * 60_000 });
    now += 40 * 60_000; // 00:10 the next day
    expect((await limiter.acquire("u")).allowed).toBe(true);
  });

  it("work the same in Redis, keyed by the period, with Redis's clock choosing it", async () => {
    const service = await startRedis();
    const client = new Redis(service.url);
    cleanups.push(
      () => service.stop(),
      () => client.disconnect(),
    );
    const limiter = createRateLimiter({
      name: "cal",
      store: redisStore({ client }),
      rules: [
        { name: "monthly_usd", limit: 1, window: "month", measure: "usd", timeZone: "Europe/Berlin", alertAt: [0.5] },
      ],
    });
    const demand = { model: "claude-haiku-4-5", inputTokens: 10_000, maxTokens: 6_000 }; // $0.05 reserved
    const tickets = [];
    for (let i = 0; i < 21; i++) tickets.push(await limiter.acquire("u", demand));
    expect(tickets.filter((t) => t.allowed).length).toBeGreaterThanOrEqual(19);
    expect(tickets.at(-1)).toMatchObject({ allowed: false, rule: "monthly_usd" });
    const period = periodAt(Date.now(), "month", "Europe/Berlin");
    expect(await client.get(`ballast:{cal:u}:monthly_usd:${period.start}`)).not.toBeNull();
    await tickets[0]!.settle({ input_tokens: 1000, output_tokens: 100 });
    const after = Number(await client.get(`ballast:{cal:u}:monthly_usd:${period.start}`));
    expect(after).toBeLessThan(tickets.filter((t) => t.allowed).length * 0.05);
  });

  it("reject a time zone on a duration window, and an unknown zone", () => {
    expect(() =>
      createRateLimiter({ name: "x", rules: [{ name: "r", limit: 1, window: "1d", timeZone: "UTC" }] }),
    ).toThrow("`rules[0].timeZone` must be set only with a calendar window");
    expect(() =>
      createRateLimiter({ name: "x", rules: [{ name: "r", limit: 1, window: "day", timeZone: "Mars/Olympus" }] }),
    ).toThrow('`rules[0].timeZone` must be an IANA time zone like "Europe/Berlin"; got "Mars/Olympus"');
  });
});
