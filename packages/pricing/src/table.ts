/** USD per million tokens, by kind of token. */
export interface Rates {
  input: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
  output: number;
}

export interface PriceEntry extends Rates {
  /** the entry's id: the model's undated alias (`claude-sonnet-4-5`) */
  id: string;
  /** other ids that resolve here (dated snapshots, legacy names) */
  aliases?: readonly string[];
  /** rates for the whole request once its input (cached included) passes `thresholdTokens` */
  longContext?: Rates & { thresholdTokens: number };
  /** prompts shorter than this are never cached (Anthropic's prompt-caching docs); absent when unpublished */
  minCacheableTokens?: number;
  /** where the figures were read, and when (YYYY-MM-DD) */
  source: string;
  readOn: string;
}

export interface PriceTable {
  /** when the table as a whole was last checked */
  date: string;
  /** multiplier for Message Batches API calls (50% off every kind of token) */
  batchMultiplier: number;
  entries: Readonly<Record<string, PriceEntry>>;
}

const PRICING = "https://platform.claude.com/docs/en/about-claude/pricing";
const rates = (
  input: number,
  cacheWrite5m: number,
  cacheWrite1h: number,
  cacheRead: number,
  output: number,
): Rates => ({
  input,
  cacheWrite5m,
  cacheWrite1h,
  cacheRead,
  output,
});

// Sonnet 4 and 4.5 with the 1M context window: above 200k input tokens the whole request is billed
// at $6 / $22.50, cache rates at the usual multipliers of that input price.
const SONNET_LONG = { ...rates(6, 7.5, 12, 0.6, 22.5), thresholdTokens: 200_000 };

const entries: PriceEntry[] = [
  { id: "claude-fable-5-1", ...rates(10, 12.5, 20, 0.25, 50), source: PRICING, readOn: "2026-11-25" },
  { id: "claude-mythos-5-1", ...rates(10, 12.5, 20, 0.25, 50), source: PRICING, readOn: "2026-11-25" },
  {
    id: "claude-fable-5",
    minCacheableTokens: 512,
    ...rates(10, 12.5, 20, 1, 50),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-mythos-5",
    minCacheableTokens: 512,
    ...rates(10, 12.5, 20, 1, 50),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-opus-5-5",
    ...rates(4, 5, 8, 0.2, 20),
    source: "https://platform.claude.com/docs/en/models/opus-5-5/overview",
    readOn: "2026-11-25",
  },
  {
    id: "claude-opus-5",
    minCacheableTokens: 512,
    ...rates(5, 6.25, 10, 0.5, 25),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-opus-4-8",
    minCacheableTokens: 1024,
    ...rates(5, 6.25, 10, 0.5, 25),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-opus-4-7",
    minCacheableTokens: 2048,
    ...rates(5, 6.25, 10, 0.5, 25),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-opus-4-6",
    minCacheableTokens: 4096,
    ...rates(5, 6.25, 10, 0.5, 25),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-opus-4-5",
    minCacheableTokens: 4096,
    aliases: ["claude-opus-4-5-20251101"],
    ...rates(5, 6.25, 10, 0.5, 25),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-opus-4-1",
    minCacheableTokens: 1024,
    aliases: ["claude-opus-4-1-20250805"],
    ...rates(15, 18.75, 30, 1.5, 75),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-opus-4-0",
    minCacheableTokens: 1024,
    aliases: ["claude-opus-4", "claude-opus-4-20250514"],
    ...rates(15, 18.75, 30, 1.5, 75),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-sonnet-5-5",
    ...rates(2, 2.5, 4, 0.2, 10),
    source: "https://platform.claude.com/docs/en/models/sonnet-5-5/overview",
    readOn: "2026-11-25",
  },
  {
    id: "claude-sonnet-5",
    minCacheableTokens: 1024,
    ...rates(2, 2.5, 4, 0.2, 10),
    source: "https://platform.claude.com/docs/en/models/sonnet-5/overview",
    readOn: "2026-11-25",
  },
  {
    id: "claude-sonnet-4-6",
    minCacheableTokens: 1024,
    ...rates(3, 3.75, 6, 0.3, 15),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-sonnet-4-5",
    minCacheableTokens: 1024,
    aliases: ["claude-sonnet-4-5-20250929"],
    ...rates(3, 3.75, 6, 0.3, 15),
    longContext: SONNET_LONG,
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-sonnet-4-0",
    minCacheableTokens: 1024,
    aliases: ["claude-sonnet-4", "claude-sonnet-4-20250514"],
    ...rates(3, 3.75, 6, 0.3, 15),
    longContext: SONNET_LONG,
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-3-7-sonnet",
    minCacheableTokens: 1024,
    aliases: ["claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219", "claude-sonnet-3-7"],
    ...rates(3, 3.75, 6, 0.3, 15),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-haiku-4-5",
    minCacheableTokens: 4096,
    aliases: ["claude-haiku-4-5-20251001"],
    ...rates(1, 1.25, 2, 0.1, 5),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-3-5-haiku",
    minCacheableTokens: 2048,
    aliases: ["claude-3-5-haiku-latest", "claude-3-5-haiku-20241022", "claude-haiku-3-5"],
    ...rates(0.8, 1, 1.6, 0.08, 4),
    source: PRICING,
    readOn: "2026-11-25",
  },
  {
    id: "claude-3-haiku",
    minCacheableTokens: 2048,
    aliases: ["claude-3-haiku-20240307", "claude-haiku-3"],
    ...rates(0.25, 0.3, 0.5, 0.03, 1.25),
    source: PRICING,
    readOn: "2026-11-25",
  },
];

/**
 * Anthropic's list prices, checked on `date`. Haiku 5.5 is left out: its tiered prices could not be
 * confirmed from an official page, and a price that cannot be confirmed is never guessed.
 */
export const PRICE_TABLE: PriceTable = Object.freeze({
  date: "2026-11-25",
  batchMultiplier: 0.5,
  entries: Object.freeze(Object.fromEntries(entries.map((e) => [e.id, Object.freeze(e)]))),
});
