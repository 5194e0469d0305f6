const WINDOW_MS = 5 * 60_000;
const MAX_TRACKED = 10_000;
// A rough token estimate for text the API has not counted for us; used only for this estimate.
const CHARS_PER_TOKEN = 4;

type Json = Record<string, unknown>;

function hasCacheControl(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasCacheControl);
  return typeof value === "object" && value !== null && (value as Json).cache_control != null;
}

/** A prefix part, summarised: a hash of it, its length as JSON in characters, and its array length. */
interface Print {
  hash: number;
  chars: number;
  items: number;
}

// characters of a string read into its hash, spread over it: a 100 KB prompt costs what a 1 KB one does
const STRING_SAMPLES = 64;

/** Mixes `n` into a 32-bit FNV-1a hash. */
const mix = (hash: number, n: number) => Math.imul(hash ^ n, 16777619);

/**
 * Prints `value` (JSON-like) walking its structure, without serialising it: each string by its length
 * and STRING_SAMPLES characters spread over it, so the cost does not grow with the prompt. Two prompts
 * of one length that differ only between samples print alike, which only skews this estimate. `chars` is
 * the length of its JSON, escapes aside.
 */
function print(value: unknown, into: Print = { hash: 2166136261, chars: 0, items: -1 }): Print {
  if (typeof value === "string") {
    into.hash = mix(into.hash, value.length);
    const step = Math.max(1, Math.floor(value.length / STRING_SAMPLES));
    for (let i = 0; i < value.length; i += step) into.hash = mix(into.hash, value.charCodeAt(i));
    into.chars += value.length + 2;
  } else if (Array.isArray(value)) {
    into.hash = mix(into.hash, 91);
    into.chars += 1 + Math.max(1, value.length);
    for (const item of value) print(item, into);
  } else if (typeof value === "object" && value !== null) {
    into.hash = mix(into.hash, 123);
    const keys = Object.keys(value);
    into.chars += 1 + Math.max(1, keys.length);
    for (const key of keys) {
      print(key, into);
      into.chars += 1;
      print((value as Json)[key], into);
    }
  } else {
    const text = String(value ?? null);
    for (let i = 0; i < text.length; i++) into.hash = mix(into.hash, text.charCodeAt(i));
    into.chars += text.length;
  }
  return into;
}

/**
 * Spots the prompt-cache opportunity peers do not report: the same tools + system prefix, long enough
 * to be cached, sent again within 5 minutes without any `cache_control`. Returns the prefix's
 * estimated tokens when the request repeats such a prefix, else 0.
 */
export class MissedCacheDetector {
  readonly #seen = new Map<string, number>();
  // prints of the tools and system prompts calls send, by identity: apps send the same few again and again
  readonly #prints = new WeakMap<object, Print>();

  /** `minCacheableTokens` is asked only for a request that has a prefix without `cache_control`. */
  check(body: Json, model: string, now: number, minCacheableTokens: (model: string) => number): number {
    // cheapest test first: most calls have no prefix to cache, and this runs on every call
    if (body.tools === undefined && body.system === undefined) return 0;
    if (body.cache_control != null || hasCacheControl(body.tools) || hasCacheControl(body.system)) return 0;
    if (Array.isArray(body.messages) && body.messages.some((m) => hasCacheControl((m as Json)?.content))) return 0;
    const name = this.#print(body.model);
    const tools = this.#print(body.tools);
    const system = this.#print(body.system);
    // the characters of JSON.stringify([model, tools, system]): the three parts, two commas, two brackets
    const tokens = Math.floor((name.chars + tools.chars + system.chars + 4) / CHARS_PER_TOKEN);
    if (tokens < minCacheableTokens(model)) return 0;
    const key = `${name.hash} ${tools.hash} ${system.hash} ${tools.chars} ${system.chars}`;
    const last = this.#seen.get(key);
    this.#seen.delete(key);
    this.#seen.set(key, now);
    if (this.#seen.size > MAX_TRACKED) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return last !== undefined && now - last <= WINDOW_MS ? tokens : 0;
  }

  /** An object is printed again when its array length changed; one changed in place otherwise keeps its print. */
  #print(value: unknown): Print {
    if (typeof value !== "object" || value === null) return print(value);
    const items = Array.isArray(value) ? value.length : -1;
    let p = this.#prints.get(value);
    if (!p || p.items !== items) {
      p = { ...print(value), items };
      this.#prints.set(value, p);
    }
    return p;
  }
}
