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

interface TableLookup {
  index: Map<string, PriceEntry>;
  // Model ids repeat on every call: each resolution is remembered (bounded).
  resolved: Map<string, PriceEntry | undefined>;
}
const lookups = new WeakMap<PriceTable, TableLookup>();
const MAX_RESOLVED = 1000;

/** The table entry that prices `model`, or undefined when the table does not know it. */
export function resolvePriceEntry(model: string, table: PriceTable): PriceEntry | undefined {
  let lookup = lookups.get(table);
  if (!lookup) {
    lookup = { index: indexTable(table), resolved: new Map() };
    lookups.set(table, lookup);
  }
  const known = lookup.resolved.get(model);
  if (known !== undefined || lookup.resolved.has(model)) return known;
  const id = normalizeModelId(model);
  const entry = lookup.index.get(id) ?? lookup.index.get(id.replace(/-(\d{8}|latest)$/, ""));
  if (lookup.resolved.size >= MAX_RESOLVED) lookup.resolved.clear();
  lookup.resolved.set(model, entry);
  return entry;
}
