import type { PriceEntry, PriceTable } from "./table.js";

/** Prices for a model you add or override; cache rates default to the API's standard multipliers. */
export interface PriceOverride {
  input: number;
  output: number;
  /** default: 1.25 × input */
  cacheWrite5m?: number;
  /** default: 2 × input */
  cacheWrite1h?: number;
  /** default: 0.1 × input */
  cacheRead?: number;
  aliases?: string[];
  source?: string;
}

/**
 * A new table: `table` plus `overrides` (added, or replacing the entry of the same id). The original is
 * left untouched, so several tables can coexist.
 */
export function withPrices(table: PriceTable, overrides: Record<string, PriceOverride>): PriceTable {
  if (typeof overrides !== "object" || overrides === null) {
    throw new TypeError("withPrices: `overrides` must be an object of { [modelId]: { input, output, … } }");
  }
  const entries: Record<string, PriceEntry> = { ...table.entries };
  const today = new Date().toISOString().slice(0, 10);
  for (const [id, o] of Object.entries(overrides)) {
    const rate = (field: keyof PriceOverride, fallback?: number): number => {
      const v = o?.[field] ?? fallback;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        throw new TypeError(
          `withPrices: \`${id}.${field}\` must be a USD-per-million-tokens number ≥ 0; got ${JSON.stringify(v)}`,
        );
      }
      return v;
    };
    const input = rate("input");
    entries[id] = {
      id,
      aliases: o.aliases ?? table.entries[id]?.aliases ?? [],
      input,
      output: rate("output"),
      cacheWrite5m: rate("cacheWrite5m", input * 1.25),
      cacheWrite1h: rate("cacheWrite1h", input * 2),
      cacheRead: rate("cacheRead", input * 0.1),
      source: o.source ?? "user override",
      readOn: today,
    };
  }
  return { ...table, entries };
}
