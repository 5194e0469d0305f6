import { createHash } from "node:crypto";

const WINDOW_MS = 5 * 60_000;
const MAX_TRACKED = 10_000;
// A rough token estimate for text the API has not counted for us; used only for this estimate.
const CHARS_PER_TOKEN = 4;

type Json = Record<string, unknown>;

function hasCacheControl(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasCacheControl);
  return typeof value === "object" && value !== null && (value as Json).cache_control != null;
}

/**
 * Spots the prompt-cache opportunity peers do not report: the same tools + system prefix, long enough
 * to be cached, sent again within 5 minutes without any `cache_control`. Returns the prefix's
 * estimated tokens when the request repeats such a prefix, else 0.
 */
export class MissedCacheDetector {
  readonly #seen = new Map<string, number>();

  /** `minCacheableTokens` is asked only for a request that has a prefix without `cache_control`. */
  check(body: Json, model: string, now: number, minCacheableTokens: (model: string) => number): number {
    // cheapest test first: most calls have no prefix to cache, and this runs on every call
    if (body.tools === undefined && body.system === undefined) return 0;
    if (body.cache_control != null || hasCacheControl(body.tools) || hasCacheControl(body.system)) return 0;
    if (Array.isArray(body.messages) && body.messages.some((m) => hasCacheControl((m as Json)?.content))) return 0;
    const prefix = JSON.stringify([body.model, body.tools ?? null, body.system ?? null]);
    const tokens = Math.floor(prefix.length / CHARS_PER_TOKEN);
    if (tokens < minCacheableTokens(model)) return 0;
    const key = createHash("sha1").update(prefix).digest("base64");
    const last = this.#seen.get(key);
    this.#seen.delete(key);
    this.#seen.set(key, now);
    if (this.#seen.size > MAX_TRACKED) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return last !== undefined && now - last <= WINDOW_MS ? tokens : 0;
  }
}
