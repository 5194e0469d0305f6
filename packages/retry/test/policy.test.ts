import Anthropic from "@anthropic-ai/sdk";
import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BrokenCircuitError,
  classify,
  DeadlineExceededError,
  isRetryable,
  retryAfterMs,
  retryPolicy,
  withRetry,
} from "../src/index.js";
import { ask, client, FALLBACK, mock, PRIMARY } from "./helpers.js";
import { inMemoryTracing } from "./tracing.js";

const apiError = (status: number, headers: Record<string, string> = {}, type?: string) =>
  Object.assign(new Error("x"), {
    status,
    headers: new Headers(headers),
    error: type ? { error: { type } } : undefined,
  });

describe("classification", () => {
  it("retries 408, 409, 429, 5xx, 529, connection errors and timeouts; not other 4xx", () => {
    for (const s of [408, 409, 429, 500, 502, 503, 504, 529]) expect(isRetryable(apiError(s)), String(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 413, 422]) expect(isRetryable(apiError(s)), String(s)).toBe(false);
    expect(classify(apiError(429))).toBe("rate_limited");
    expect(classify(apiError(529))).toBe("overloaded");
    expect(classify(new Anthropic.APIConnectionError({ message: "down" }))).toBe("connection");
    expect(classify(new Anthropic.APIConnectionTimeoutError())).toBe("timeout");
    expect(classify(new Anthropic.APIUserAbortError())).toBeUndefined();
  });

  it("lets x-should-retry override the status either way", () => {
    expect(isRetryable(apiError(400, { "x-should-retry": "true" }))).toBe(true);
    expect(isRetryable(apiError(503, { "x-should-retry": "false" }))).toBe(false);
  });

  it("reads retry-after-ms, then retry-after in seconds or as an HTTP date", () => {
    expect(retryAfterMs(apiError(429, { "retry-after-ms": "250", "retry-after": "9" }))).toBe(250);
    expect(retryAfterMs(apiError(429, { "retry-after": "2" }))).toBe(2000);
    const now = Date.parse("2026-11-25T10:00:00Z");
    expect(retryAfterMs(apiError(429, { "retry-after": "Wed, 25 Nov 2026 10:00:30 GMT" }), now)).toBe(30_000);
    expect(retryAfterMs(apiError(429))).toBeUndefined();
  });
});

describe("retry budget", () => {
  it("1,000 calls against an API that always answers 503 add at most ratio × calls + floor × (seconds + 10) retries", async () => {
    const m = await mock();
    m.enqueue({ status: 503, times: 100_000 });
    // from before the policy exists: its budget accrues from its creation
    const started = performance.now();
    const policy = retryPolicy({
      baseDelayMs: 0,
      maxDelayMs: 0,
      maxAttempts: 5,
      circuitBreaker: false,
      budget: { ratio: 0.2, minPerSecond: 1 },
    });
    const c = withRetry(client(m), policy);
    for (let i = 0; i < 1000; i += 20) {
      await Promise.all(Array.from({ length: 20 }, () => c.messages.create(ask()).catch(() => {})));
    }
    const seconds = (performance.now() - started) / 1000;
    expect(m.requests.length).toBeGreaterThan(1000); // some retries happened
    expect(m.requests.length).toBeLessThanOrEqual(1000 * 1.2 + 1 * (seconds + 10));
    expect(policy.budgetTokens).toBeGreaterThanOrEqual(0);
  }, 60_000);
});

describe("circuit breaker", () => {
  it("opens at its threshold, fails fast with nothing on the wire, probes after openMs, closes on success", async () => {
    const m = await mock();
    let now = 1_000_000;
    const states: string[] = [];
    const policy = retryPolicy({
      maxAttempts: 1,
      budget: false,
      now: () => now,
      circuitBreaker: { failureRate: 0.5, minimumCalls: 4, windowMs: 60_000, openMs: 30_000 },
      onBreakerStateChange: (e) => states.push(`${e.model}:${e.from}->${e.to}`),
    });
    const c = withRetry(client(m), policy);
    m.enqueue({ status: 500, times: 4 });
    for (let i = 0; i < 4; i++) await expect(c.messages.create(ask())).rejects.toThrow();
    expect(policy.circuitState(PRIMARY)).toBe("open");
    await expect(c.messages.create(ask())).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(m.requests).toHaveLength(4); // nothing sent while open
    now += 30_000;
    expect(policy.circuitState(PRIMARY)).toBe("half_open");
    const probe = await c.messages.create(ask());
    expect(probe.type).toBe("message");
    expect(policy.circuitState(PRIMARY)).toBe("closed");
    expect(states).toEqual([`${PRIMARY}:closed->open`, `${PRIMARY}:open->half_open`, `${PRIMARY}:half_open->closed`]);
  });

  it("hands the call to the fallback model while the primary's circuit is open", async () => {
    const m = await mock();
    const now = 0;
    const policy = retryPolicy({
      maxAttempts: 1,
      now: () => now,
      fallbackModels: [FALLBACK],
      circuitBreaker: { minimumCalls: 2, failureRate: 1 },
    });
    const c = withRetry(client(m), policy);
    m.enqueue({ status: 400, times: 1 }); // a client error is not a model failure
    await expect(c.messages.create(ask())).rejects.toThrow();
    m.enqueue({ status: 500, model: PRIMARY, times: 2 });
    await c.messages.create(ask()); // 500 on primary → exhausted → fallback answers
    await c.messages.create(ask());
    expect(policy.circuitState(PRIMARY)).toBe("open");
    const before = m.requests.length;
    const msg = await c.messages.create(ask());
    expect(msg.model).toBe("claude-haiku-4-5-20251001");
    expect(m.requests.slice(before).map((r) => r.model)).toEqual([FALLBACK]);
  });
});

describe("fallback order", () => {
  it("follows fallbackModels in order, skipping the model the call asked for", async () => {
    const m = await mock();
    const c = withRetry(client(m), retryPolicy({ baseDelayMs: 1, fallbackModels: ["claude-sonnet-5", FALLBACK] }));
    m.enqueue({ status: 529, model: FALLBACK, times: 20 }, { status: 529, model: "claude-sonnet-5", times: 20 });
    await expect(c.messages.create(ask({ model: FALLBACK }))).rejects.toThrow();
    const models = m.requests.map((r) => r.model);
    // the model asked for, then the list's other one; never back to the model that failed
    expect([...new Set(models)]).toEqual([FALLBACK, "claude-sonnet-5"]);
    expect(models.at(-1)).toBe("claude-sonnet-5");
  });
});

describe("execute", () => {
  it("bounds the whole call by deadlineMs and never sleeps past it", async () => {
    const policy = retryPolicy({
      deadlineMs: 300,
      baseDelayMs: 1000,
      maxDelayMs: 1000,
      random: () => 0.99,
      budget: false,
    });
    let calls = 0;
    const started = performance.now();
    const error = await policy
      .execute(async () => {
        calls++;
        throw apiError(503);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(calls).toBe(1); // the 990 ms backoff would pass the 300 ms deadline: not slept
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("reports attempts and fallbacks as metrics when @opentelemetry/api has a provider", async () => {
    class Reader extends MetricReader {
      constructor() {
        super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
      }
      protected async onForceFlush() {}
      protected async onShutdown() {}
    }
    const reader = new Reader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    try {
      const policy = retryPolicy({ baseDelayMs: 0, maxDelayMs: 0, fallbackModels: [FALLBACK] });
      let n = 0;
      await policy.execute(
        async ({ model }) => {
          n++;
          if (n === 1) throw apiError(500);
          if (model === PRIMARY) throw apiError(529);
          return "ok";
        },
        { model: PRIMARY },
      );
      const { resourceMetrics } = await reader.collect();
      const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
      const attempts = all.find((x) => x.descriptor.name === "ballast.retry.attempts")!;
      expect(attempts.dataPoints.map((p) => [p.attributes["ballast.retry.reason"], p.value])).toEqual([
        ["server_error", 1],
      ]);
      const fallbacks = all.find((x) => x.descriptor.name === "ballast.retry.fallbacks")!;
      expect(fallbacks.dataPoints[0]!.attributes).toEqual({
        "ballast.fallback.from": PRIMARY,
        "ballast.fallback.to": FALLBACK,
        "ballast.fallback.reason": "overloaded",
      });
      const circuit = all.find((x) => x.descriptor.name === "ballast.circuit.state")!;
      expect(
        circuit.dataPoints.find(
          (p) => p.attributes["ballast.circuit.state"] === "closed" && p.attributes["gen_ai.request.model"] === PRIMARY,
        )?.value,
      ).toBe(1);
    } finally {
      metrics.disable();
    }
  });
});

describe("span events", () => {
  it("adds a ballast.retry event to the active span for each retry", async () => {
    const { provider, exporter } = inMemoryTracing();
    const tracer = provider.getTracer("test");
    const policy = retryPolicy({ baseDelayMs: 0, maxDelayMs: 0 });
    let n = 0;
    await tracer.startActiveSpan("work", async (span) => {
      await policy.execute(async () => {
        if (n++ < 2) throw apiError(503);
        return "ok";
      });
      span.end();
    });
    const events = exporter.getFinishedSpans()[0]!.events;
    expect(
      events.map((e) => [e.name, e.attributes?.["ballast.retry.attempt"], e.attributes?.["ballast.retry.reason"]]),
    ).toEqual([
      ["ballast.retry", 1, "server_error"],
      ["ballast.retry", 2, "server_error"],
    ]);
    await provider.shutdown();
  });
});

describe("properties", () => {
  it("delays stay within [0, cap], attempts never exceed maxAttempts, the budget never goes negative", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.array(fc.constantFrom(500, 503, 529, 429, 408), { minLength: 1, maxLength: 8 }),
        async (maxAttempts, base, extra, r, failures) => {
          const delays: number[] = [];
          const policy = retryPolicy({
            maxAttempts,
            baseDelayMs: base,
            maxDelayMs: base + extra,
            random: () => r,
            deadlineMs: 250,
            onRetry: (e) => delays.push(e.delayMs),
          });
          let attempts = 0;
          await policy
            .execute(async () => {
              const status = failures[attempts++];
              if (status !== undefined) throw apiError(status);
              return "ok";
            })
            .catch(() => {});
          expect(attempts).toBeLessThanOrEqual(maxAttempts);
          for (const d of delays) {
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThanOrEqual(base + extra);
          }
          expect(delays.reduce((a, b) => a + b, 0)).toBeLessThan(250);
          expect(policy.budgetTokens).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("options", () => {
  it("reject nonsense, naming the option and what is accepted", () => {
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow("`maxAttempts` must be an integer ≥ 1; got 0");
    expect(() => retryPolicy({ baseDelayMs: -1 })).toThrow("`baseDelayMs` must be a number ≥ 0");
    expect(() => retryPolicy({ baseDelayMs: 1000, maxDelayMs: 10 })).toThrow(
      "`maxDelayMs` must be ≥ baseDelayMs (1000)",
    );
    expect(() => retryPolicy({ fallbackModels: ["claude-haiku-4-5", ""] })).toThrow(
      "`fallbackModels[1]` must be a non-empty model id",
    );
    expect(() => retryPolicy({ circuitBreaker: { failureRate: 2 } })).toThrow(
      "`circuitBreaker.failureRate` must be a number in (0, 1]",
    );
    expect(() => withRetry({} as never, retryPolicy())).toThrow("`client` must be an Anthropic SDK client");
  });
});

describe("hooks", () => {
  it("change nothing when they throw, and the first throw of each is reported once", async () => {
    const warned: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => warned.push(message);
    try {
      const policy = retryPolicy({
        baseDelayMs: 0,
        maxDelayMs: 0,
        onRetry: () => {
          throw new Error("hook bug");
        },
      });
      for (let call = 0; call < 2; call++) {
        let attempts = 0;
        const out = await policy.execute(async () => {
          if (attempts++ < 2) throw apiError(503);
          return "ok";
        });
        expect([out, attempts]).toEqual(["ok", 3]);
      }
      expect(warned).toHaveLength(1);
      expect(warned[0]).toContain("your onRetry hook threw (hook bug); the call goes on");
      // another policy's throwing hook is its own problem: reported too, not silenced by the first
      const other = retryPolicy({
        baseDelayMs: 0,
        maxDelayMs: 0,
        onRetry: () => {
          throw new Error("other bug");
        },
      });
      let attempts = 0;
      await other.execute(async () => {
        if (attempts++ < 1) throw apiError(503);
        return "ok";
      });
      expect(warned).toHaveLength(2);
      expect(warned[1]).toContain("your onRetry hook threw (other bug)");
    } finally {
      console.warn = warn;
    }
  });
});
