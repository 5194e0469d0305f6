import type { CircuitBreakerOptions, CircuitState } from "./breaker.js";
import type { RetryBudgetOptions } from "./budget.js";
import type { RetryReason } from "./classify.js";

export interface RetryEvent {
  attempt: number;
  model: string | undefined;
  reason: RetryReason;
  delayMs: number;
  error: unknown;
}

export interface FallbackEvent {
  from: string | undefined;
  to: string | undefined;
  reason: RetryReason | "circuit_open" | "retry_after" | "exhausted";
  error: unknown;
}

export interface BreakerStateChangeEvent {
  model: string;
  from: CircuitState;
  to: CircuitState;
}

export interface RetryPolicyOptions {
  /** attempts per model, the first included (default 3) */
  maxAttempts?: number;
  /** backoff: full jitter between 0 and min(maxDelayMs, baseDelayMs × 2^(n−1)) (defaults 500 / 30 000) */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** a server-asked wait above this is not slept: a fallback model serves, or the call fails (default 60 000) */
  maxRetryAfterMs?: number;
  /** bound on the whole call, waits and attempts included */
  deadlineMs?: number;
  /** retry budget shared by every call through the policy; `false` turns it off (default { ratio 0.2, minPerSecond 1 }) */
  budget?: RetryBudgetOptions | false;
  /** one breaker per model; `false` turns it off (default on) */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** models to hand the call to, in order, on overload, an open circuit, a too-long retry-after or exhausted attempts */
  fallbackModels?: string[];
  /** streams: no first content event within this many ms → the next fallback model (reason `slow`) */
  firstTokenTimeoutMs?: number;
  /** non-streaming: an attempt taking longer is aborted → the next fallback model, else retried (`slow`) */
  attemptTimeoutMs?: number;
  onRetry?: (event: RetryEvent) => void;
  onFallback?: (event: FallbackEvent) => void;
  onBreakerStateChange?: (event: BreakerStateChangeEvent) => void;
  /** randomness for jitter, [0, 1) (tests) */
  random?: () => number;
  /** the clock, ms (tests) */
  now?: () => number;
}

export interface ResolvedRetryOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  deadlineMs: number;
  budget: Required<RetryBudgetOptions> | false;
  circuitBreaker: Required<CircuitBreakerOptions> | false;
  fallbackModels: string[];
  firstTokenTimeoutMs: number | undefined;
  attemptTimeoutMs: number | undefined;
  random: () => number;
  now: () => number;
}

function bad(option: string, accepted: string, got: unknown): never {
  throw new TypeError(`retryPolicy: \`${option}\` must be ${accepted}; got ${JSON.stringify(got)}`);
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function nonNegative(option: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (!isNum(v) || v < 0) bad(option, "a number ≥ 0", v);
  return v;
}

function positive(option: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (!isNum(v) || v <= 0) bad(option, "a number > 0", v);
  return v;
}

export function resolveRetryOptions(o: RetryPolicyOptions = {}): ResolvedRetryOptions {
  if (typeof o !== "object" || o === null) bad("options", "an object", o);
  const maxAttempts = o.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) bad("maxAttempts", "an integer ≥ 1", o.maxAttempts);
  const baseDelayMs = nonNegative("baseDelayMs", o.baseDelayMs, 500);
  const maxDelayMs = nonNegative("maxDelayMs", o.maxDelayMs, 30_000);
  if (maxDelayMs < baseDelayMs) bad("maxDelayMs", `≥ baseDelayMs (${baseDelayMs})`, o.maxDelayMs);
  const fallbackModels = o.fallbackModels ?? [];
  if (!Array.isArray(fallbackModels)) bad("fallbackModels", "an array of model ids", fallbackModels);
  fallbackModels.forEach((m, i) => {
    if (typeof m !== "string" || m.trim() === "") bad(`fallbackModels[${i}]`, "a non-empty model id", m);
  });
  let budget: ResolvedRetryOptions["budget"] = false;
  if (o.budget !== false) {
    const b = o.budget ?? {};
    budget = {
      ratio: nonNegative("budget.ratio", b.ratio, 0.2),
      minPerSecond: nonNegative("budget.minPerSecond", b.minPerSecond, 1),
    };
  }
  let circuitBreaker: ResolvedRetryOptions["circuitBreaker"] = false;
  if (o.circuitBreaker !== false) {
    const c = o.circuitBreaker ?? {};
    const rate = c.failureRate ?? 0.5;
    if (!isNum(rate) || rate <= 0 || rate > 1) bad("circuitBreaker.failureRate", "a number in (0, 1]", c.failureRate);
    const minimumCalls = c.minimumCalls ?? 10;
    if (!Number.isInteger(minimumCalls) || minimumCalls < 1)
      bad("circuitBreaker.minimumCalls", "an integer ≥ 1", c.minimumCalls);
    circuitBreaker = {
      failureRate: rate,
      minimumCalls,
      windowMs: positive("circuitBreaker.windowMs", c.windowMs) ?? 30_000,
      openMs: positive("circuitBreaker.openMs", c.openMs) ?? 30_000,
    };
  }
  for (const hook of ["onRetry", "onFallback", "onBreakerStateChange", "random", "now"] as const) {
    if (o[hook] !== undefined && typeof o[hook] !== "function") bad(hook, "a function", o[hook]);
  }
  return {
    maxAttempts,
    baseDelayMs,
    maxDelayMs,
    maxRetryAfterMs: nonNegative("maxRetryAfterMs", o.maxRetryAfterMs, 60_000),
    deadlineMs: positive("deadlineMs", o.deadlineMs) ?? Number.POSITIVE_INFINITY,
    budget,
    circuitBreaker,
    fallbackModels: [...fallbackModels],
    firstTokenTimeoutMs: positive("firstTokenTimeoutMs", o.firstTokenTimeoutMs),
    attemptTimeoutMs: positive("attemptTimeoutMs", o.attemptTimeoutMs),
    random: o.random ?? Math.random,
    now: o.now ?? Date.now,
  };
}
