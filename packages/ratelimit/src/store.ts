import type { CalendarUnit } from "./calendar.js";
import type { Algorithm } from "./rules.js";

/** One rule as a store sees it. */
export interface StoreRule {
  algorithm: Algorithm;
  /** counts fractions (USD), not whole tokens or requests */
  fractional?: boolean;
  /** a calendar window: fixed periods (days, months) in a time zone instead of a sliding window */
  calendar?: { unit: CalendarUnit; timeZone: string };
  limit: number;
  windowMs: number;
  alertAt: number[];
}

export interface AcquireResult {
  allowed: boolean;
  /** index of the refusing rule, −1 when allowed */
  refusedBy: number;
  /** ms until the refused demand could fit; −1 when it never can (it exceeds the limit itself) */
  retryAfterMs: number;
  /** per rule, after this acquire */
  remaining: number[];
  resetMs: number[];
  /** per rule, the window the demand was counted in (for settling) */
  windows: number[];
  /** alerts fired: rule index and threshold */
  alerts: Array<[number, number]>;
  /** refused: what the refusing rule had counted for the key (in its measure), before this demand */
  refusedUsed?: number;
}

/**
 * Where counts live. `acquire` checks every rule and charges all or none, atomically, and fires the
 * alerts of the rules given thresholds; `adjust` settles a reservation (delta = actual − reserved) in the
 * window it was counted in, adds `spent` (the actual amount; 0 for a cancel) to that window's spend and
 * fires the alerts the spend crosses (a GCRA rule's: the bucket's fill).
 */
export interface RateLimitStore {
  acquire(base: string[], rules: StoreRule[], costs: number[]): Promise<AcquireResult>;
  adjust(
    base: string[],
    rules: StoreRule[],
    deltas: number[],
    windows: number[],
    spent: number[],
  ): Promise<Array<[number, number]>>;
}

/** An allowed acquire before any rule's figures are added. */
export function admitted(): AcquireResult {
  return { allowed: true, refusedBy: -1, retryAfterMs: 0, remaining: [], resetMs: [], windows: [], alerts: [] };
}

/**
 * The result of an acquire that `rule` (index) refused; `retryAfterMs` −1 when the demand can never fit;
 * `used`: what that rule had counted for the key, before this demand.
 */
export function refused(rule: number, retryAfterMs: number, used?: number): AcquireResult {
  return {
    allowed: false,
    refusedBy: rule,
    retryAfterMs,
    remaining: [],
    resetMs: [],
    windows: [],
    alerts: [],
    ...(used === undefined ? {} : { refusedUsed: used }),
  };
}
