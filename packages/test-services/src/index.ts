export { type Promtool, type PromtoolResult, promtool } from "./promtool.js";
export { type RedisService, startRedis } from "./redis.js";
export { findBinary, freePort, MissingServiceError } from "./resolve.js";
export { type PromSample, startVictoriaMetrics, type VictoriaMetricsService } from "./victoria-metrics.js";
