import { createHash } from "node:crypto";
import type { Rule } from "./rules.js";

const MAX_KEY_BYTES = 256;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Validates a caller's key and turns it into a limiter's store keys: one per rule, all under one hash
 * tag (one Redis Cluster slot). The key is data: percent-encoded (or hashed with `hashKeys`), so no
 * character of it can act as Redis key syntax (`{`, `}`, `:`).
 */
export function storeKeys(limiter: string, rules: readonly Rule[], key: string, hashKeys: boolean): string[] {
  if (typeof key !== "string" || key.length === 0) throw new TypeError("acquire: `key` must be a non-empty string");
  // String.prototype.isWellFormed (Node 20+; ES2024, past this build's lib)
  if (!(key as unknown as { isWellFormed(): boolean }).isWellFormed())
    throw new TypeError("acquire: `key` must be well-formed Unicode (it has a lone surrogate)");
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw new TypeError(`acquire: \`key\` must be at most ${MAX_KEY_BYTES} bytes; got ${Buffer.byteLength(key)}`);
  if (CONTROL.test(key)) throw new TypeError("acquire: `key` must not contain control characters");
  const safe = hashKeys ? createHash("sha256").update(key).digest("hex") : encodeURIComponent(key);
  return rules.map((r) => `ballast:{${limiter}:${safe}}:${r.name}`);
}
