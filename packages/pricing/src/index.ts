export { normalizeModelId, resolvePriceEntry } from "./model-id.js";
export { type PriceOverride, withPrices } from "./overrides.js";
export {
  type CallPrice,
  estimateMaxCost,
  type MaxCostInput,
  type PriceCallInput,
  priceCall,
  type TokenCounts,
  tokenCounts,
  type UsageLike,
} from "./price.js";
export { PRICE_TABLE, type PriceEntry, type PriceTable, type Rates } from "./table.js";
