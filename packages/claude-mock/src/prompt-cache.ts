import type { AnalyzedPrompt } from "./prompt.js";

const TTL_MS = { "5m": 5 * 60_000, "1h": 60 * 60_000 } as const;
// The API looks for earlier cache entries up to 20 blocks before each breakpoint.
const LOOKBACK_BLOCKS = 20;

export interface CacheUsage {
  input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

interface Entry {
  expiresAt: number;
  ttlMs: number;
}

/** What a request would read and write; `commit()` applies it once the request is admitted. */
export interface CachePlan {
  usage: CacheUsage;
  commit(): void;
}

/**
 * Prompt caching as the Messages API does it: a prefix ending at a `cache_control` breakpoint is
 * written when it is at least the model's minimum length; a later request whose prefix matches an
 * unexpired entry (at a breakpoint or up to 20 blocks before one) reads it and refreshes its TTL.
 */
export class PromptCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }

  plan(prompt: AnalyzedPrompt, minTokens: number, now: number): CachePlan {
    const { segments, totalTokens } = prompt;
    let hitIndex = -1;
    let hit: Entry | undefined;
    let earliestSearched = segments.length;
    for (let b = segments.length - 1; b >= 0 && hitIndex < 0; b--) {
      if (!segments[b]?.cacheTtl) continue;
      const from = Math.max(0, b - LOOKBACK_BLOCKS);
      for (let p = Math.min(b, earliestSearched - 1); p >= from; p--) {
        const segment = segments[p];
        if (!segment || segment.cumulativeTokens < minTokens) break;
        const entry = this.#entries.get(segment.prefixHash);
        if (entry && entry.expiresAt > now) {
          hitIndex = p;
          hit = entry;
          break;
        }
      }
      earliestSearched = from;
    }

    const read = hitIndex >= 0 ? (segments[hitIndex]?.cumulativeTokens ?? 0) : 0;
    const writes: Array<{ hash: string; ttlMs: number }> = [];
    const creation = { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 };
    let covered = read;
    for (let i = hitIndex + 1; i < segments.length; i++) {
      const segment = segments[i];
      if (!segment?.cacheTtl || segment.cumulativeTokens < minTokens) continue;
      const tokens = segment.cumulativeTokens - covered;
      if (segment.cacheTtl === "1h") creation.ephemeral_1h_input_tokens += tokens;
      else creation.ephemeral_5m_input_tokens += tokens;
      covered = segment.cumulativeTokens;
      writes.push({ hash: segment.prefixHash, ttlMs: TTL_MS[segment.cacheTtl] });
    }
    const written = covered - read;

    return {
      usage: {
        input_tokens: totalTokens - covered,
        cache_read_input_tokens: read,
        cache_creation_input_tokens: written,
        cache_creation: creation,
      },
      commit: () => {
        if (hit) hit.expiresAt = now + hit.ttlMs;
        for (const w of writes) this.#set(w.hash, { expiresAt: now + w.ttlMs, ttlMs: w.ttlMs });
      },
    };
  }

  #set(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#maxEntries) {
      // Map iteration order is insertion order: the first key is the least recently written.
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}
