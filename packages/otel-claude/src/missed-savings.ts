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

/** A prefix part's JSON, summarised: its hash, its length in characters, and its array length when read. */
interface Print {
  hash: string;
  chars: number;
  items: number;
}

// strings kept at most: by count, and by their characters all together
const MAX_STRINGS = 64;
const MAX_STRING_CHARS = 4_000_000;
const NULL_PRINT = print(null);

function print(value: unknown): Print {
  const json = JSON.stringify(value) ?? "null";
  const items = Array.isArray(value) ? value.length : -1;
  return { hash: createHash("sha1").update(json).digest("base64"), chars: json.length, items };
}

/**
 * Prints of the tools and system prompt calls send, kept per value: an app sends the same few again and
 * again, and serialising and hashing a 10 KB prompt on every call costs more than the rest of a call's
 * telemetry. Objects are kept by identity (weakly) and read again when an array's length changed; a part
 * changed in place otherwise keeps its print, which only skews this estimate. Strings are kept by value,
 * a bounded number and size of them.
 */
class Prints {
  readonly #objects = new WeakMap<object, Print>();
  readonly #strings = new Map<string, Print>();
  #stringChars = 0;

  of(value: unknown): Print {
    if (value === undefined || value === null) return NULL_PRINT;
    if (typeof value === "string") {
      let p = this.#strings.get(value);
      if (!p) {
        p = print(value);
        if (this.#strings.size >= MAX_STRINGS || this.#stringChars + value.length > MAX_STRING_CHARS) {
          this.#strings.clear();
          this.#stringChars = 0;
        }
        this.#strings.set(value, p);
        this.#stringChars += value.length;
      }
      return p;
    }
    if (typeof value !== "object") return print(value);
    let p = this.#objects.get(value);
    if (!p || p.items !== (Array.isArray(value) ? value.length : -1)) {
      p = print(value);
      this.#objects.set(value, p);
    }
    return p;
  }
}

/**
 * Spots the prompt-cache opportunity peers do not report: the same tools + system prefix, long enough
 * to be cached, sent again within 5 minutes without any `cache_control`. Returns the prefix's
 * estimated tokens when the request repeats such a prefix, else 0.
 */
export class MissedCacheDetector {
  readonly #seen = new Map<string, number>();
  readonly #prints = new Prints();

  /** `minCacheableTokens` is asked only for a request that has a prefix without `cache_control`. */
  check(body: Json, model: string, now: number, minCacheableTokens: (model: string) => number): number {
    // cheapest test first: most calls have no prefix to cache, and this runs on every call
    if (body.tools === undefined && body.system === undefined) return 0;
    if (body.cache_control != null || hasCacheControl(body.tools) || hasCacheControl(body.system)) return 0;
    if (Array.isArray(body.messages) && body.messages.some((m) => hasCacheControl((m as Json)?.content))) return 0;
    const name = this.#prints.of(body.model);
    const tools = this.#prints.of(body.tools);
    const system = this.#prints.of(body.system);
    // the characters of JSON.stringify([model, tools, system]): the three parts, two commas, two brackets
    const tokens = Math.floor((name.chars + tools.chars + system.chars + 4) / CHARS_PER_TOKEN);
    if (tokens < minCacheableTokens(model)) return 0;
    const key = `${name.hash}${tools.hash}${system.hash}`;
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
