import { periodAt } from "./calendar.js";
import type { StoreRule } from "./store.js";

/** A GCRA bucket, as opposed to a window (sliding, or a calendar period). */
export const isBucket = (rule: StoreRule): boolean => !rule.calendar && rule.algorithm === "gcra";

/** Where a window rule (sliding or calendar) counts at `now`: both stores name their keys by `window`. */
export interface WindowAt {
  /** a sliding window's index (now / window), a calendar period's start */
  window: number;
  /** how much the last window's count still counts: the part of it a sliding window still covers; 0 for a calendar period */
  weight: number;
  /** ms until this window ends */
  resetMs: number;
  /** ms this window's count must live: a sliding window's until the next has passed, a period's a day past its end */
  ttlMs: number;
}

export function windowAt(rule: StoreRule, now: number): WindowAt {
  if (rule.calendar) {
    const period = periodAt(now, rule.calendar.unit, rule.calendar.timeZone);
    return { window: period.start, weight: 0, resetMs: period.end - now, ttlMs: period.end - now + 86_400_000 };
  }
  const w = rule.windowMs;
  const window = Math.floor(now / w);
  const elapsed = now - window * w;
  return { window, weight: 1 - elapsed / w, resetMs: w - elapsed, ttlMs: 2 * w };
}

/**
 * ms until a refused demand of `cost` fits a window rule that has counted `count` in this window and
 * `last` in the one before; −1 when it never can (it exceeds the limit itself).
 */
export function windowWait(
  rule: StoreRule,
  now: number,
  at: WindowAt,
  cost: number,
  count: number,
  last: number,
): number {
  const { limit, windowMs: w } = rule;
  if (cost > limit) return -1;
  if (rule.calendar) return at.resetMs;
  // the last window's weight fades enough within this window, or only in the next, once this window's count has
  if (count + cost <= limit) return Math.ceil(at.window * w + (1 - (limit - count - cost) / last) * w - now);
  return Math.ceil((at.window + 1) * w + (1 - (limit - cost) / count) * w - now);
}

/**
 * A GCRA bucket at `now`, from its `stored` theoretical arrival time: the arrival time, its fill (in units
 * counted), and the ms until a refused demand of `cost` fits (−1: never).
 */
export function bucketAt(
  rule: StoreRule,
  now: number,
  stored: number,
  cost: number,
): { arrival: number; used: number; waitMs: number } {
  const interval = rule.windowMs / rule.limit;
  const arrival = Math.max(stored, now);
  const waitMs = cost > rule.limit ? -1 : Math.ceil(arrival + cost * interval - now - rule.windowMs);
  return { arrival, used: (arrival - now) / interval, waitMs };
}
