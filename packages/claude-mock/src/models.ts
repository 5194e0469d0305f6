/**
 * What the mock knows about model ids: the dated id an alias answers with, and the
 * minimum prompt length (in tokens) below which a cache breakpoint is silently ignored.
 */

const DATED_IDS: Readonly<Record<string, string>> = {
  "claude-opus-4-5": "claude-opus-4-5-20251101",
  "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
  "claude-haiku-4-5": "claude-haiku-4-5-20251001",
  "claude-opus-4-1": "claude-opus-4-1-20250805",
  "claude-opus-4-0": "claude-opus-4-20250514",
  "claude-sonnet-4-0": "claude-sonnet-4-20250514",
  "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
  "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
};

// Anything shaped like a Claude model id is served, so tests can invent ids for fallbacks.
const MODEL_ID = /^claude-[a-z0-9][a-z0-9.-]*(@\d{8})?$/;

export function isKnownModelShape(model: string): boolean {
  return MODEL_ID.test(model);
}

/** The model id a response reports: aliases answer with their dated snapshot, as the API does. */
export function responseModelId(model: string): string {
  return DATED_IDS[model] ?? model;
}

// Minimum cacheable prompt length by family, from Anthropic's prompt-caching docs (2026-11).
const MIN_CACHEABLE: ReadonlyArray<[RegExp, number]> = [
  [/^claude-(opus-5|fable|mythos)/, 512],
  [/^claude-opus-4-7/, 2048],
  [/^claude-(opus-4-[56]|haiku-4-5)/, 4096],
  [/^claude-(3-5-haiku|3-haiku|haiku-3)/, 2048],
  [/^claude-(opus-4|sonnet-4|sonnet-5|3-7-sonnet|sonnet-3-7)/, 1024],
];

/**
 * Minimum cacheable prompt length: 512 for Opus 5, Fable and Mythos; 1024 for Opus 4.8,
 * Sonnet 5, Sonnet 4.x, Sonnet 3.7, Opus 4/4.1; 2048 for Opus 4.7 and Haiku 3/3.5; 4096 for
 * Opus 4.5/4.6 and Haiku 4.5. Ids not in the table (Haiku 5.x, invented test ids) get 1024;
 * override with the `minCacheableTokens` option.
 */
export function defaultMinCacheableTokens(model: string): number {
  for (const [pattern, tokens] of MIN_CACHEABLE) if (pattern.test(model)) return tokens;
  return 1024;
}
