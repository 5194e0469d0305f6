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

/**
 * Minimum cacheable prompt length, per Anthropic's prompt-caching docs: 1024 for Sonnet 3.7/4.x
 * and Opus 4/4.1, 2048 for Haiku 3/3.5, 4096 for Opus 4.5 and Haiku 4.5. Newer families whose
 * figure is not published are assumed to follow Opus 4.5 (4096); override with
 * `minCacheableTokens` when the docs say otherwise.
 */
export function defaultMinCacheableTokens(model: string): number {
  const m = model.replace(/@.*$/, "");
  if (/claude-3-(5-)?haiku|claude-3-haiku|haiku-3/.test(m)) return 2048;
  if (/sonnet-4(?!-[6-9])|sonnet-3-7|claude-3-7-sonnet|opus-4-[01]|opus-4-2025|claude-opus-4(-0)?$/.test(m)) {
    return 1024;
  }
  if (/claude-sonnet-4-[6-9]/.test(m)) return 2048;
  return 4096;
}
