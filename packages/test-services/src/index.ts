export { chromium } from "./chromium.ts";
export { dockerCompose } from "./docker-compose.ts";
export { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.ts";
export { type Command, type Promtool, type PromtoolResult, promtool } from "./promtool.ts";
export { type RedisService, redisArgs, startRedis } from "./redis.ts";
export { type RedisClusterService, startRedisCluster } from "./redis-cluster.ts";
export { findBinary, freePort, MissingServiceError } from "./resolve.ts";
export { type NodeProcess, runNode, startNode } from "./run-node.ts";
export { type PromSample, startVictoriaMetrics, type VictoriaMetricsService } from "./victoria-metrics.ts";
