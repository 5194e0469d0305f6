export type { CircuitBreakerOptions, CircuitState } from "./breaker.js";
export type { RetryBudgetOptions } from "./budget.js";
export { classify, isRetryable, type RetryReason, retryAfterMs } from "./classify.js";
export {
  BrokenCircuitError,
  DeadlineExceededError,
  FirstTokenTimeoutError,
  RetryAfterTooLongError,
  StreamInterruptedError,
} from "./errors.js";
export type { BreakerStateChangeEvent, FallbackEvent, RetryEvent, RetryPolicyOptions } from "./options.js";
export { type AttemptContext, type ExecuteOptions, RetryPolicy, retryPolicy } from "./policy.js";
export { withRetry } from "./with-retry.js";
