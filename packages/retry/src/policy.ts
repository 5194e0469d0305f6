import { messageOf, WarnOnce } from "@ballast/intercept";
import { CircuitBreaker, type CircuitState } from "./breaker.js";
import { RetryBudget } from "./budget.js";
import { classify, type RetryReason, retryAfterMs } from "./classify.js";
import { BrokenCircuitError, DeadlineExceededError, RetryAfterTooLongError } from "./errors.js";
import {
  type FallbackEvent,
  type ResolvedRetryOptions,
  type RetryPolicyOptions,
  resolveRetryOptions,
} from "./options.js";
import { RetryTelemetry } from "./telemetry.js";

export interface AttemptContext {
  /** 1 for the first attempt, counting every model */
  attempt: number;
  /** the model this attempt must use (the call's, or a fallback) */
  model: string | undefined;
  /** aborted when the caller aborts, the deadline passes or the attempt is too slow */
  signal: AbortSignal;
}

export interface ExecuteOptions {
  signal?: AbortSignal;
  model?: string;
  /** the error to reject with when `signal` aborts (withRetry passes the SDK's `APIUserAbortError`) */
  abortError?: () => unknown;
}

// Why the policy aborted an attempt itself.
class SlowAttempt {}
class DeadlinePassed {}

type HookName = "onRetry" | "onFallback" | "onBreakerStateChange";

/**
 * Runs the user's hook `name`: one that throws must not change the outcome of the call; its first throw
 * is reported, once per policy.
 */
function hook<K extends HookName>(
  hooks: RetryPolicyOptions,
  warnings: WarnOnce,
  name: K,
  event: Parameters<NonNullable<RetryPolicyOptions[K]>>[0],
): void {
  try {
    (hooks[name] as ((e: typeof event) => void) | undefined)?.(event);
  } catch (error) {
    warnings.warn(
      name,
      `@ballast/retry: your ${name} hook threw (${messageOf(error)}); the call goes on, and later throws of ${name} are not reported`,
    );
  }
}

/** Resolves after `ms`, or rejects with `aborted()` within a tick of `signal` aborting. */
function sleep(ms: number, signal: AbortSignal | undefined, aborted: () => unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * One place that decides retries for Claude calls: which errors, how long to wait (`retry-after`
 * first), when to hand the call to a fallback model, when a model's circuit is open, and how many
 * retries the recent traffic can afford.
 */
export class RetryPolicy {
  readonly #o: ResolvedRetryOptions;
  readonly #hooks: RetryPolicyOptions;
  readonly #budget: RetryBudget | undefined;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #telemetry: RetryTelemetry;
  readonly #hookWarnings = new WarnOnce(console.warn);

  constructor(options: RetryPolicyOptions = {}) {
    this.#o = resolveRetryOptions(options);
    this.#hooks = options;
    this.#budget = this.#o.budget ? new RetryBudget(this.#o.budget, this.#o.now) : undefined;
    this.#telemetry = new RetryTelemetry(() => new Map([...this.#breakers].map(([m, b]) => [m, b.state])));
  }

  /** the options in force (defaults filled in) */
  get options(): Readonly<ResolvedRetryOptions> {
    return this.#o;
  }

  /** `closed`, `open` or `half_open` for `model` */
  circuitState(model: string): CircuitState {
    return this.#breakers.get(model)?.state ?? "closed";
  }

  /** tokens left in the retry budget (Infinity when it is off) */
  get budgetTokens(): number {
    return this.#budget?.tokens ?? Number.POSITIVE_INFINITY;
  }

  #breaker(model: string): CircuitBreaker | undefined {
    const options = this.#o.circuitBreaker;
    if (!options) return undefined;
    let breaker = this.#breakers.get(model);
    if (!breaker) {
      breaker = new CircuitBreaker(options, this.#o.now, (from, to) =>
        hook(this.#hooks, this.#hookWarnings, "onBreakerStateChange", { model, from, to }),
      );
      this.#breakers.set(model, breaker);
    }
    return breaker;
  }

  /** Full-jitter exponential backoff for the `n`th retry on a model. */
  backoffMs(n: number): number {
    const cap = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** Math.max(0, n - 1));
    return this.#o.random() * cap;
  }

  /** Runs `fn` under the policy; with a `model`, each attempt is told the model to use (a fallback's, after one). */
  execute<T>(
    fn: (attempt: AttemptContext & { model: string }) => Promise<T>,
    options: ExecuteOptions & { model: string },
  ): Promise<T>;
  execute<T>(fn: (attempt: AttemptContext) => Promise<T>, options?: ExecuteOptions): Promise<T>;
  async execute<T>(
    fn: (attempt: AttemptContext & { model: string }) => Promise<T>,
    options: ExecuteOptions = {},
  ): Promise<T> {
    const o = this.#o;
    const { signal } = options;
    const aborted = () =>
      options.abortError?.() ?? signal?.reason ?? new DOMException("This operation was aborted", "AbortError");
    if (signal?.aborted) throw aborted();
    const deadline = o.now() + o.deadlineMs;
    this.#budget?.deposit();

    const models = options.model === undefined ? [undefined] : [...new Set([options.model, ...o.fallbackModels])];
    let index = 0;
    let onModel = 0;
    let attempt = 0;
    let lastError: unknown;
    const fallBack = (reason: FallbackEvent["reason"], error: unknown, costsBudget = true): boolean => {
      if (index + 1 >= models.length) return false;
      if (costsBudget && this.#budget && !this.#budget.tryWithdraw()) return false;
      const event = { from: models[index], to: models[index + 1], reason, error };
      this.#telemetry.fallback(event.from, event.to, reason);
      hook(this.#hooks, this.#hookWarnings, "onFallback", event);
      index++;
      onModel = 0;
      return true;
    };

    for (;;) {
      const model = models[index];
      const breaker = model === undefined ? undefined : this.#breaker(model);
      if (breaker && !breaker.tryAcquire()) {
        const open = new BrokenCircuitError(model as string, breaker.retryInMs);
        // nothing went out for the open model, so handing over costs no retry budget
        if (fallBack("circuit_open", open, false)) continue;
        throw open;
      }
      attempt++;
      onModel++;
      const controller = new AbortController();
      const onCallerAbort = () => controller.abort(signal?.reason);
      signal?.addEventListener("abort", onCallerAbort, { once: true });
      const timers = [
        setTimeout(() => controller.abort(new DeadlinePassed()), Math.min(deadline - o.now(), 2 ** 31 - 1)),
      ];
      if (o.attemptTimeoutMs !== undefined)
        timers.push(setTimeout(() => controller.abort(new SlowAttempt()), o.attemptTimeoutMs));
      try {
        // `model` is a string whenever the caller gave one, which is what the first overload promises
        const result = await fn({ attempt, model: model as string, signal: controller.signal });
        breaker?.success();
        return result;
      } catch (error) {
        if (signal?.aborted) {
          breaker?.release();
          throw aborted();
        }
        const why = controller.signal.reason;
        if (why instanceof DeadlinePassed) {
          breaker?.release();
          throw new DeadlineExceededError(o.deadlineMs, error);
        }
        const reason: RetryReason | undefined = why instanceof SlowAttempt || isSlow(error) ? "slow" : classify(error);
        if (reason === undefined) {
          breaker?.release();
          throw error;
        }
        breaker?.failure();
        lastError = error;
        const asked = retryAfterMs(error, o.now());
        if (asked !== undefined && asked > o.maxRetryAfterMs) {
          if (fallBack("retry_after", error)) continue;
          throw new RetryAfterTooLongError(asked, o.maxRetryAfterMs, error);
        }
        if ((reason === "overloaded" || reason === "slow") && fallBack(reason, error)) continue;
        if (onModel >= o.maxAttempts) {
          if (fallBack("exhausted", error)) continue;
          throw error;
        }
        if (this.#budget && !this.#budget.tryWithdraw()) throw error;
        const delayMs = asked ?? this.backoffMs(onModel);
        if (o.now() + delayMs >= deadline) throw new DeadlineExceededError(o.deadlineMs, lastError);
        this.#telemetry.retry(model, reason, attempt, delayMs);
        hook(this.#hooks, this.#hookWarnings, "onRetry", { attempt, model, reason, delayMs, error });
        await sleep(delayMs, signal, aborted);
      } finally {
        for (const t of timers) clearTimeout(t);
        signal?.removeEventListener("abort", onCallerAbort);
      }
    }
  }
}

/** Marks an error as "the model was too slow" (used by withRetry's first-token timeout). */
export const SLOW = Symbol.for("ballast.retry.slow");
function isSlow(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[SLOW] === true;
}

/** A retry policy; share one per upstream so its budget and circuit breakers see all the traffic. */
export function retryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  return new RetryPolicy(options);
}
