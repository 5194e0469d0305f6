export { ExpiringLru } from "./expiring-lru.js";
export { type KeyValueStore, type MemoryKVOptions, memoryKV, type RedisKVClient, redisKV } from "./key-value.js";
