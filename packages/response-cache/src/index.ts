export type { ResponseCacheOptions } from "./options.js";
export { type CacheStatus, cacheable, cacheStatus, withResponseCache } from "./with-response-cache.js";
