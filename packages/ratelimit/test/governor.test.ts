import Anthropic from "@anthropic-ai/sdk";
import { startMockClaude } from "@ballast/claude-mock";
import { retryPolicy, withRetry } from "@ballast/retry";
import { describe, expect, it } from "vitest";
import { createGovernor, GovernorQueueFullError, GovernorTimeoutError, withGovernor } from "../src/index.js";

// One real second is one minute for both the mock's rate limiter and the governor, so a test of
// per-minute pacing takes seconds. The governor's clock is injected; its logic is the real one.
function acceleratedClock(speed = 60) {
  const start = Date.now();
  return {
    now: () => start + (Date.now() - start) * speed,
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms / speed)),
  };
}

describe("org-level governor", () => {
  it("paces 200 calls to a 50 requests/min org limit with zero 429s", async () => {
    const clock = acceleratedClock();
    const mock = await startMockClaude({ orgLimits: { requestsPerMinute: 50 }, now: clock.now });
    try {
      const governor = createGovernor({ clock, timeoutMs: 600_000 });
      const client = withGovernor(new Anthropic({ baseURL: mock.url, apiKey: "sk-test", maxRetries: 0 }), governor);
      const params = {
        model: "claude-sonnet-4-6",
        max_tokens: 20,
        messages: [{ role: "user" as const, content: "hi" }],
      };
      const started = clock.now();
      const results = await Promise.allSettled(Array.from({ length: 200 }, () => client.messages.create(params)));
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      expect(mock.requests.filter((r) => r.status === 429)).toHaveLength(0);
      expect(mock.requests).toHaveLength(200);
      // 50 at once, then 150 at 50 a minute: about three minutes of the mock's time
      expect(clock.now() - started).toBeGreaterThanOrEqual(2.5 * 60_000);
    } finally {
      await mock.close();
    }
  }, 30_000);

  for (const order of ["withRetry(withGovernor(client))", "withGovernor(withRetry(client))"]) {
    it(`composes with @ballast/retry either way round: ${order} paces and falls back`, async () => {
      const clock = acceleratedClock();
      const mock = await startMockClaude({ orgLimits: { requestsPerMinute: 4 }, now: clock.now });
      try {
        const governor = createGovernor({ clock, timeoutMs: 600_000, initialConcurrency: 1 });
        const policy = retryPolicy({ fallbackModels: ["claude-haiku-4-5"], baseDelayMs: 1, budget: false });
        const raw = new Anthropic({ baseURL: mock.url, apiKey: "sk-test", maxRetries: 0 });
        const client = order.startsWith("withRetry")
          ? withRetry(withGovernor(raw, governor), policy)
          : withGovernor(withRetry(raw, policy), governor);
        mock.enqueue({ status: 529, model: "claude-sonnet-4-6", times: 1 });
        const started = clock.now();
        const params = {
          model: "claude-sonnet-4-6",
          max_tokens: 20,
          messages: [{ role: "user" as const, content: "hi" }],
        };
        const replies = await Promise.all(Array.from({ length: 8 }, () => client.messages.create(params)));
        // retry: the overloaded call went to the fallback model
        expect(replies.filter((r) => r.model.startsWith("claude-haiku-4-5"))).toHaveLength(1);
        // governor: 9 requests to a 4/min org limit without one 429 means it waited for the refills
        expect(mock.requests.map((r) => r.status).filter((s) => s === 429)).toEqual([]);
        expect(mock.requests).toHaveLength(9);
        expect(clock.now() - started).toBeGreaterThanOrEqual(60_000);
      } finally {
        await mock.close();
      }
    }, 30_000);
  }

  it("runs waiting calls by priority, bounds its queue and times waits out", async () => {
    const clock = acceleratedClock(1);
    const governor = createGovernor({ clock, maxQueue: 3 });
    governor.observe({ "anthropic-ratelimit-requests-limit": "60", "anthropic-ratelimit-requests-remaining": "0" });
    const order: string[] = [];
    const job = (name: string) => async () => {
      order.push(name);
    };
    const low = governor.schedule(job("low"), { priority: 0 });
    const high = governor.schedule(job("high"), { priority: 5 });
    const timeout = governor.schedule(job("never"), { timeoutMs: 50 });
    await expect(governor.schedule(job("overflow"))).rejects.toBeInstanceOf(GovernorQueueFullError);
    await expect(timeout).rejects.toBeInstanceOf(GovernorTimeoutError);
    await Promise.all([low, high]); // 60/min: one unit per second
    expect(order).toEqual(["high", "low"]);
  }, 10_000);

  it("rejects bad options naming them", () => {
    expect(() => createGovernor({ maxQueue: 0 })).toThrow("`maxQueue` must be an integer ≥ 1");
  });
});
