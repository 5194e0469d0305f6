import type { OrgLimits } from "./org-limits.js";

export interface Latency {
  /** time from request to the first content token, ms */
  ttftMs?: number;
  /** delay per output token after the first, ms */
  perTokenMs?: number;
}

export interface MockClaudeOptions {
  /** port to listen on; 0 (default) picks a free one */
  port?: number;
  /** interface to bind; default 127.0.0.1 */
  host?: string;
  /** seed for replies and ids: same seed and request → same reply */
  seed?: number;
  /** default latency, plus per-model overrides (`models: { "claude-opus-4-8": { ttftMs: 5000 } }`) */
  latency?: Latency & { models?: Record<string, Latency> };
  /** organisation rate limits; unset dimensions are effectively unlimited */
  orgLimits?: OrgLimits;
  /** length of generated replies, in output tokens (default 20–200) */
  reply?: { minTokens?: number; maxTokens?: number };
  /** how long a message batch stays `in_progress`, ms of the mock's clock (default 0) */
  batchDelayMs?: number;
  /** minimum cacheable prompt length per model id, overriding the built-in table */
  minCacheableTokens?: Record<string, number>;
  /** when set, only this API key is accepted; by default any non-empty key is */
  apiKey?: string;
  /** the clock for caching, rate limits and batches (ms); default Date.now plus `advanceTime` */
  now?: () => number;
  /** how many requests `mock.requests` keeps, oldest dropped first (default 10,000) */
  maxRecordedRequests?: number;
  /** a request body larger than this is answered 413 `request_too_large`, as the API does (default 32 MB; batches: 256 MB) */
  maxBodyBytes?: number;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  seed: number;
  latency: Required<Latency> & { models: Record<string, Latency> };
  orgLimits: OrgLimits;
  reply: { minTokens: number; maxTokens: number };
  batchDelayMs: number;
  minCacheableTokens: Record<string, number>;
  apiKey: string | undefined;
  now: (() => number) | undefined;
  maxRecordedRequests: number;
  maxBodyBytes: number;
}

function bad(option: string, accepted: string, got: unknown): never {
  throw new TypeError(`claude-mock: option \`${option}\` must be ${accepted}; got ${JSON.stringify(got)}`);
}

function nonNegative(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) bad(option, "a number ≥ 0", value);
  return value;
}

function positiveInt(option: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || (value as number) < 1) bad(option, "an integer ≥ 1", value);
  return value as number;
}

export function validateLatency(option: string, l: Latency | undefined): Latency {
  if (l === undefined) return {};
  if (typeof l !== "object" || l === null) bad(option, "an object { ttftMs?, perTokenMs? }", l);
  const out: Latency = {};
  if (l.ttftMs !== undefined) out.ttftMs = nonNegative(`${option}.ttftMs`, l.ttftMs, 0);
  if (l.perTokenMs !== undefined) out.perTokenMs = nonNegative(`${option}.perTokenMs`, l.perTokenMs, 0);
  return out;
}

export function validateOrgLimits(limits: OrgLimits | undefined): OrgLimits {
  if (limits === undefined) return {};
  if (typeof limits !== "object" || limits === null) bad("orgLimits", "an object", limits);
  const out: OrgLimits = {};
  for (const key of ["requestsPerMinute", "inputTokensPerMinute", "outputTokensPerMinute"] as const) {
    const v = positiveInt(`orgLimits.${key}`, limits[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export function resolveOptions(o: MockClaudeOptions = {}): ResolvedOptions {
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) bad("port", "an integer from 0 to 65535", o.port);
  const seed = o.seed ?? 1;
  if (!Number.isInteger(seed)) bad("seed", "an integer", o.seed);
  const base = validateLatency("latency", o.latency);
  const models: Record<string, Latency> = {};
  for (const [model, l] of Object.entries(o.latency?.models ?? {})) {
    models[model] = validateLatency(`latency.models.${model}`, l);
  }
  const minTokens = positiveInt("reply.minTokens", o.reply?.minTokens) ?? 20;
  const maxTokens = positiveInt("reply.maxTokens", o.reply?.maxTokens) ?? Math.max(200, minTokens);
  if (maxTokens < minTokens) bad("reply.maxTokens", `≥ reply.minTokens (${minTokens})`, maxTokens);
  for (const [model, n] of Object.entries(o.minCacheableTokens ?? {})) positiveInt(`minCacheableTokens.${model}`, n);
  if (o.apiKey !== undefined && (typeof o.apiKey !== "string" || o.apiKey === "")) {
    bad("apiKey", "a non-empty string", o.apiKey);
  }
  if (o.now !== undefined && typeof o.now !== "function") bad("now", "a function returning ms", o.now);
  return {
    port,
    host: o.host ?? "127.0.0.1",
    seed,
    latency: { ttftMs: base.ttftMs ?? 0, perTokenMs: base.perTokenMs ?? 0, models },
    orgLimits: validateOrgLimits(o.orgLimits),
    reply: { minTokens, maxTokens },
    batchDelayMs: nonNegative("batchDelayMs", o.batchDelayMs, 0),
    minCacheableTokens: { ...o.minCacheableTokens },
    apiKey: o.apiKey,
    now: o.now,
    maxRecordedRequests: positiveInt("maxRecordedRequests", o.maxRecordedRequests) ?? 10_000,
    maxBodyBytes: positiveInt("maxBodyBytes", o.maxBodyBytes) ?? 32_000_000,
  };
}
