import type { KeyValueStore } from "@ballast/store";
import { memoryKV } from "@ballast/store";

type Json = Record<string, unknown>;

export interface ResponseCacheOptions {
  /** where answers are kept (default `memoryKV()`; `redisKV({ client })` shares them between processes) */
  store?: KeyValueStore;
  /** how long an answer is served as fresh: ms or "30s", "10m", "1h", "1d" */
  ttl: number | string;
  /** how much longer a stored answer may be served when the API fails (stale-if-error); default 0 */
  staleTtl?: number | string;
  /** separates caches sharing a store (default "default") */
  namespace?: string;
  /** what identifies a request instead of all of its parameters (the value is hashed) */
  key?: (params: Json) => unknown;
  /** which requests are cached, instead of the default: `temperature: 0` (SDK 0.x), or `cacheable()` per call */
  when?: (params: Json) => boolean;
  /** cache requests that carry tool results (default false: their answers depend on live data) */
  allowToolResults?: boolean;
  /**
   * let clients with other credentials or another base URL share answers (default false: the key includes a
   * hash of the client's API key or auth token and its base URL, so tenants never see each other's answers)
   */
  shareAcrossClients?: boolean;
  /** store answers cut at `max_tokens` too (default false: a cut answer is served once, not repeated) */
  cacheTruncated?: boolean;
}

export interface ResolvedOptions {
  store: KeyValueStore;
  ttlMs: number;
  staleTtlMs: number;
  namespace: string;
  key: (params: Json) => unknown;
  when: ((params: Json) => boolean) | undefined;
  allowToolResults: boolean;
  shareAcrossClients: boolean;
  cacheTruncated: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function durationMs(name: string, value: unknown, allowZero: boolean): number {
  const m = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value) : null;
  const ms = typeof value === "number" ? value : m ? Number(m[1]) * (UNITS[m[2] as string] as number) : Number.NaN;
  if (!(Number.isFinite(ms) && (ms > 0 || (allowZero && ms === 0)))) {
    throw new TypeError(
      `withResponseCache: \`${name}\` must be ${allowZero ? "≥ 0" : "> 0"} ms or a duration like "30s", "10m", "1h", "1d"; got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/** Everything of a request that shapes the answer: all parameters but `stream` (a stream and a message say the same). */
function defaultKey(params: Json): unknown {
  const { stream: _stream, ...rest } = params;
  return rest;
}

export function resolveOptions(o: ResponseCacheOptions): ResolvedOptions {
  if (typeof o !== "object" || o === null)
    throw new TypeError("withResponseCache: options must be an object with `ttl`");
  for (const name of ["allowToolResults", "shareAcrossClients", "cacheTruncated"] as const) {
    if (o[name] !== undefined && typeof o[name] !== "boolean") {
      throw new TypeError(`withResponseCache: \`${name}\` must be true or false; got ${JSON.stringify(o[name])}`);
    }
  }
  for (const name of ["key", "when"] as const) {
    if (o[name] !== undefined && typeof o[name] !== "function") {
      throw new TypeError(`withResponseCache: \`${name}\` must be a function; got ${typeof o[name]}`);
    }
  }
  const namespace = o.namespace ?? "default";
  if (!/^[\w.-]{1,64}$/.test(namespace)) {
    throw new TypeError(
      `withResponseCache: \`namespace\` must be 1–64 letters, digits, ".", "_" or "-"; got ${JSON.stringify(namespace)}`,
    );
  }
  return {
    store: o.store ?? memoryKV(),
    ttlMs: durationMs("ttl", o.ttl, false),
    staleTtlMs: o.staleTtl === undefined ? 0 : durationMs("staleTtl", o.staleTtl, true),
    namespace,
    key: o.key ?? defaultKey,
    when: o.when,
    allowToolResults: o.allowToolResults ?? false,
    shareAcrossClients: o.shareAcrossClients ?? false,
    cacheTruncated: o.cacheTruncated ?? false,
  };
}
