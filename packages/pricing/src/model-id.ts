import type { PriceEntry, PriceTable } from "./table.js";

/**
 * The plain Anthropic id inside a provider's id:
 *   anthropic.claude-sonnet-4-5-20250929-v1:0 and us./eu./apac./global. prefixes (Bedrock) → claude-sonnet-4-5-20250929
 *   claude-sonnet-4-5@20250929 (Vertex)                                                     → claude-sonnet-4-5-20250929
 *   claude-opus-4-8[1m] (1M-context suffix)                                                   → claude-opus-4-8
 */
export function normalizeModelId(model: string): string {
  let id = model.trim().toLowerCase();
  id = id.replace(/^arn:aws:bedrock:[^/]+\/(?:[^/]+\/)?/, "");
  id = id.replace(/^(?:[a-z]{2,6}\.)?anthropic\./, "");
  id = id.replace(/-v\d+(?::\d+)?$/, "");
  id = id.replace(/@(\d{8})$/, "-$1");
  id = id.replace(/\[1m\]$/, "");
  return id;
}

/** Index from every id and alias (and their undated forms) to the entry. */
export function indexTable(table: PriceTable): Map<string, PriceEntry> {
  const index = new Map<string, PriceEntry>();
  for (const entry of Object.values(table.entries)) {
    for (const id of [entry.id, ...(entry.aliases ?? [])]) index.set(id.toLowerCase(), entry);
  }
  return index;
}

const indexes = new WeakMap<PriceTable, Map<string, PriceEntry>>();
// Model ids repeat on every call: remember each resolution (bounded, per table).
const resolved = new WeakMap<PriceTable, Map<string, PriceEntry | undefined>>();
const MAX_RESOLVED = 1000;

/** The table entry that prices `model`, or undefined when the table does not know it. */
export function resolvePriceEntry(model: string, table: PriceTable): PriceEntry | undefined {
  let index = indexes.get(table);
  if (!index) {
    index = indexTable(table);
    indexes.set(table, index);
  }
  let cache = resolved.get(table);
  if (!cache) {
    cache = new Map();
    resolved.set(table, cache);
  }
  if (cache.has(model)) return cache.get(model);
  const id = normalizeModelId(model);
  const entry = index.get(id) ?? index.get(id.replace(/-(\d{8}|latest)$/, ""));
  if (cache.size >= MAX_RESOLVED) cache.clear();
  cache.set(model, entry);
  return entry;
}
