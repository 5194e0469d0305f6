export {
  createGovernor,
  Governor,
  type GovernorClock,
  type GovernorOptions,
  GovernorQueueFullError,
  GovernorTimeoutError,
  type RateLimitKind,
  type ScheduleOptions,
  withGovernor,
} from "./governor.js";
export {
  type BudgetAlert,
  createRateLimiter,
  type Demand,
  RateLimiter,
  type RateLimiterOptions,
  type StoreErrorMode,
  type Ticket,
} from "./limiter.js";
export { MemoryStore, type MemoryStoreOptions, memoryStore } from "./memory-store.js";
export {
  expressRateLimit,
  fastifyRateLimit,
  honoRateLimit,
  limitedBody,
  type MiddlewareOptions,
} from "./middleware.js";
export { type RedisLike, RedisStore, redisStore } from "./redis-store.js";
export type { Algorithm, Measure, RuleInput } from "./rules.js";
export type { AcquireResult, RateLimitStore, StoreRule } from "./store.js";
export { type CallContext, RateLimitedError, type WithRateLimitOptions, withRateLimit } from "./with-rate-limit.js";
