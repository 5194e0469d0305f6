import { ExpiringLru } from "./expiring-lru.js";

/**
 * The storage the response cache and the deferred queue need: strings with a time to live, a
 * set-if-absent for cross-process locks, and hashes for records that must survive a restart.
 * `memoryKV()` for one process, `redisKV({ client })` to share between processes and restarts.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** sets only when the key is absent (or expired); true when this call set it */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  hashSet(key: string, fields: Record<string, string>): Promise<void>;
  hashGet(key: string, field: string): Promise<string | undefined>;
  hashGetAll(key: string): Promise<Record<string, string>>;
  hashDelete(key: string, fields: string[]): Promise<void>;
}

const checkTtl = (ttlMs: number) => {
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new TypeError(`ttlMs must be a number > 0; got ${ttlMs}`);
};

export interface MemoryKVOptions {
  /** most string keys kept; the least recently written go first (default 10 000) */
  maxKeys?: number;
  /** the clock, ms (tests) */
  now?: () => number;
}

/** In process memory: bounded and expiring strings; hashes are kept until deleted. */
export function memoryKV(options: MemoryKVOptions = {}): KeyValueStore {
  const strings = new ExpiringLru<string>(options.maxKeys ?? 10_000);
  const hashes = new Map<string, Map<string, string>>();
  const now = options.now ?? Date.now;
  return {
    async get(key) {
      return strings.get(key, now());
    },
    async set(key, value, ttlMs) {
      checkTtl(ttlMs);
      strings.set(key, value, now() + ttlMs);
    },
    async setIfAbsent(key, value, ttlMs) {
      checkTtl(ttlMs);
      const t = now();
      if (strings.get(key, t) !== undefined) return false;
      strings.set(key, value, t + ttlMs);
      return true;
    },
    async delete(key) {
      strings.delete(key);
      hashes.delete(key);
    },
    async hashSet(key, fields) {
      const h = hashes.get(key) ?? new Map<string, string>();
      for (const [f, v] of Object.entries(fields)) h.set(f, v);
      hashes.set(key, h);
    },
    async hashGet(key, field) {
      return hashes.get(key)?.get(field);
    },
    async hashGetAll(key) {
      return Object.fromEntries(hashes.get(key) ?? []);
    },
    async hashDelete(key, fields) {
      const h = hashes.get(key);
      for (const f of fields) h?.delete(f);
      if (h?.size === 0) hashes.delete(key);
    },
  };
}

/** The ioredis calls `redisKV` makes (a `Redis` or a `Cluster`). */
export interface RedisKVClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: "PX", ttlMs: number): Promise<unknown>;
  set(key: string, value: string, px: "PX", ttlMs: number, nx: "NX"): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  hset(key: string, fields: Record<string, string>): Promise<number>;
  hget(key: string, field: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
}

/** Redis through an ioredis client: one command per call, every string key with its own expiry. */
export function redisKV(options: { client: RedisKVClient }): KeyValueStore {
  const r = options?.client;
  if (!r || typeof r.hgetall !== "function") {
    throw new TypeError("redisKV: `client` must be an ioredis Redis or Cluster");
  }
  return {
    async get(key) {
      return (await r.get(key)) ?? undefined;
    },
    async set(key, value, ttlMs) {
      checkTtl(ttlMs);
      await r.set(key, value, "PX", Math.ceil(ttlMs));
    },
    async setIfAbsent(key, value, ttlMs) {
      checkTtl(ttlMs);
      return (await r.set(key, value, "PX", Math.ceil(ttlMs), "NX")) === "OK";
    },
    async delete(key) {
      await r.del(key);
    },
    async hashSet(key, fields) {
      if (Object.keys(fields).length) await r.hset(key, fields);
    },
    async hashGet(key, field) {
      return (await r.hget(key, field)) ?? undefined;
    },
    async hashGetAll(key) {
      return r.hgetall(key);
    },
    async hashDelete(key, fields) {
      if (fields.length) await r.hdel(key, ...fields);
    },
  };
}
