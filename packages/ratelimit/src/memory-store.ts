import { ExpiringLru } from "@ballast/store";
import { type AcquireResult, admitted, type RateLimitStore, refused, type StoreRule } from "./store.js";
import { bucketAt, isBucket, windowAt, windowWait } from "./windows.js";

export interface MemoryStoreOptions {
  /** most keys kept; the least recently used go first (default 100 000) */
  maxKeys?: number;
  /** the clock, ms (tests) */
  now?: () => number;
}

/**
 * The same algorithms as the Redis script, in process memory: bounded (LRU), every entry expiring on
 * its own. One process only: use `redisStore` to share limits between processes.
 */
export class MemoryStore implements RateLimitStore {
  readonly #entries: ExpiringLru<number>;
  readonly #now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    try {
      this.#entries = new ExpiringLru(options.maxKeys ?? 100_000);
    } catch (error) {
      throw new TypeError(`memoryStore: ${(error as Error).message}`);
    }
    this.#now = options.now ?? Date.now;
  }

  async acquire(base: string[], rules: StoreRule[], costs: number[]): Promise<AcquireResult> {
    return this.acquireSync(base, rules, costs);
  }

  /** synchronous form, for the `local` fallback and benchmarks */
  acquireSync(base: string[], rules: StoreRule[], costs: number[]): AcquireResult {
    const now = this.#now();
    const plans: Array<{ key: string; used: number; next: number; idx: number; reset: number; expiresAt: number }> = [];
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r] as StoreRule;
      const cost = costs[r] as number;
      const refuse = (wait: number, used: number) => refused(r, wait, used);
      if (!isBucket(rule)) {
        const at = windowAt(rule, now);
        const key = `${base[r]}:${at.window}`;
        const cur = this.#entries.get(key, now) ?? 0;
        const prev = at.weight ? (this.#entries.get(`${base[r]}:${at.window - 1}`, now) ?? 0) : 0;
        const used = prev * at.weight + cur;
        if (used + cost > rule.limit) return refuse(windowWait(rule, now, at, cost, cur, prev), used);
        plans.push({
          key,
          used,
          next: cur + cost,
          idx: at.window,
          reset: at.resetMs,
          expiresAt: now + at.ttlMs,
        });
      } else {
        const bucket = bucketAt(rule, now, this.#entries.get(base[r] as string, now) ?? 0, cost);
        if (bucket.used + cost > rule.limit) return refuse(bucket.waitMs, bucket.used);
        const next = bucket.arrival + cost * (rule.windowMs / rule.limit);
        plans.push({
          key: base[r] as string,
          used: bucket.used,
          next,
          idx: 0,
          reset: Math.ceil(next - now),
          expiresAt: Math.ceil(next) + 1,
        });
      }
    }
    const result = admitted();
    plans.forEach((p, r) => {
      const rule = rules[r] as StoreRule;
      const cost = costs[r] as number;
      this.#entries.set(p.key, p.next, p.expiresAt);
      const after = p.used + cost;
      // whole counts leave whole units, as Redis (which truncates a script's numbers) reports them
      result.remaining.push(rule.fractional ? rule.limit - after : Math.trunc(rule.limit - after) || 0);
      result.resetMs.push(p.reset);
      result.windows.push(p.idx);
      this.#alerts(base[r] as string, rule, p.idx, p.used, after, now, r, result.alerts);
    });
    return result;
  }

  #alerts(
    base: string,
    rule: StoreRule,
    idx: number,
    before: number,
    after: number,
    now: number,
    r: number,
    out: Array<[number, number]>,
  ): void {
    for (const threshold of rule.alertAt) {
      const at = threshold * rule.limit;
      const key = `${base}:alert:${idx}:${threshold}`;
      if (before < at && after >= at && this.#entries.get(key, now) === undefined) {
        this.#entries.set(key, 1, now + 2 * rule.windowMs);
        out.push([r, threshold]);
      }
    }
  }

  async adjust(
    base: string[],
    rules: StoreRule[],
    deltas: number[],
    windows: number[],
    spent: number[],
  ): Promise<Array<[number, number]>> {
    const now = this.#now();
    const fired: Array<[number, number]> = [];
    rules.forEach((rule, r) => {
      const delta = deltas[r] as number;
      const idx = windows[r] as number;
      if (isBucket(rule)) {
        const interval = rule.windowMs / rule.limit;
        const tat = Math.max(this.#entries.get(base[r] as string, now) ?? 0, now);
        const updated = Math.max(now, tat + delta * interval);
        this.#entries.set(base[r] as string, updated, Math.ceil(updated) + 1);
        this.#alerts(base[r] as string, rule, 0, (tat - now) / interval, (updated - now) / interval, now, r, fired);
        return;
      }
      const key = `${base[r]}:${idx}`;
      const cur = this.#entries.get(key, now);
      if (cur !== undefined) this.#entries.set(key, Math.max(0, cur + delta), this.#entries.expiresAt(key) as number);
      const amount = spent[r] as number;
      if (rule.alertAt.length === 0 || !(amount > 0)) return;
      const spentKey = `${base[r]}:spent:${idx}`;
      const before = this.#entries.get(spentKey, now) ?? 0;
      this.#entries.set(spentKey, before + amount, now + 2 * rule.windowMs);
      this.#alerts(base[r] as string, rule, idx, before, before + amount, now, r, fired);
    });
    return fired;
  }
}

export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options);
}
