import type { PriceTable, UsageLike } from "@ballast/pricing";
import { type Demand, demandTokens, ruleCost, settledUsage, shown } from "./amounts.js";
import { policyHeader, rateLimitHeaders } from "./headers.js";
import { storeKeys } from "./keys.js";
import { parseRules, type Rule, type RuleInput } from "./rules.js";
import { type AcquireResult, admitted, type RateLimitStore, refused, type StoreRule } from "./store.js";
import { type StoreErrorMode, StoreFailover } from "./store-failover.js";
import { type BudgetAlert, LimiterTelemetry } from "./telemetry.js";

export type { BudgetAlert, Demand, StoreErrorMode };

export interface RateLimiterOptions {
  /** the limiter's name, part of every store key and metric (1–64 of A-Z a-z 0-9 _ . -) */
  name: string;
  /** where counts live (default `memoryStore()`: one process) */
  store?: RateLimitStore;
  rules: RuleInput[];
  /** when the store fails: admit (`fail-open`), refuse (`fail-closed`), or limit in memory (`local`, default) */
  onStoreError?: StoreErrorMode;
  onBudgetAlert?: (alert: BudgetAlert) => void;
  /** store keys as SHA-256 of the key (for keys that must not be readable in Redis) */
  hashKeys?: boolean;
  /** price table for `usd` rules (default `PRICE_TABLE`) */
  pricing?: PriceTable;
  /** a store call slower than this counts as a store error, so a hung Redis never stalls a call (default 250) */
  storeTimeoutMs?: number;
}

export interface Ticket {
  allowed: boolean;
  /** the rule that refused (or `store_error` under fail-closed); undefined when allowed */
  rule: string | undefined;
  /** what is left per rule after this acquire */
  remaining: Record<string, number>;
  /** ms until the refused demand could fit; −1 when it never can; 0 when allowed */
  retryAfterMs: number;
  /**
   * refused: what the refusing rule had counted for this key before this demand, in its measure (requests,
   * tokens, USD); undefined when allowed or refused for a store error
   */
  spent: number | undefined;
  /** `RateLimit-Policy` and `RateLimit` (IETF draft) and, when refused, `Retry-After` */
  headers: Record<string, string>;
  /** reconciles the reservation with what the call used: refunds the unused part, charges an overrun */
  settle(usage: UsageLike): Promise<void>;
  /** gives the whole reservation back (the call failed before using anything) */
  cancel(): Promise<void>;
}

// `refusedBy` of a refusal that no rule made: the store failed and the limiter fails closed.
const REFUSED_BY_STORE_ERROR = -2;

function bad(option: string, accepted: string, got: unknown): never {
  throw new TypeError(`createRateLimiter: \`${option}\` must be ${accepted}; got ${shown(got)}`);
}

export class RateLimiter {
  readonly name: string;
  readonly rules: readonly Rule[];
  readonly #options: RateLimiterOptions;
  readonly #store: StoreFailover;
  readonly #telemetry: LimiterTelemetry;
  /** the rules as acquire sees them: thresholds only where an acquire's amount is what is spent */
  readonly #acquireRules: StoreRule[];
  /** the rules as settle sees them: thresholds on what is spent */
  readonly #settleRules: StoreRule[];
  readonly #policyHeader: string;

  constructor(options: RateLimiterOptions) {
    if (typeof options !== "object" || options === null)
      throw new TypeError("createRateLimiter: options must be an object");
    if (typeof options.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(options.name)) {
      bad("name", "1 to 64 characters of A-Z a-z 0-9 _ . -", options.name);
    }
    const timeout = options.storeTimeoutMs;
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0))
      bad("storeTimeoutMs", "a number > 0", timeout);
    const mode = options.onStoreError ?? "local";
    if (!["fail-open", "fail-closed", "local"].includes(mode)) {
      bad("onStoreError", '"fail-open", "fail-closed" or "local"', mode);
    }
    const store = options.store as Partial<RateLimitStore> | undefined;
    if (store !== undefined && (typeof store?.acquire !== "function" || typeof store.adjust !== "function")) {
      const keyValue = typeof (store as { hashGet?: unknown } | null)?.hashGet === "function";
      throw new TypeError(
        `createRateLimiter: \`store\` must be a rate-limit store: memoryStore() or redisStore({ client }) from @ballast/ratelimit${keyValue ? " (a key-value store from @ballast/store is not one)" : ""}`,
      );
    }
    this.name = options.name;
    this.rules = parseRules(options.rules);
    this.#options = options;
    this.#store = new StoreFailover(options.store, mode, timeout ?? 250, this.name);
    this.#telemetry = new LimiterTelemetry(this.name, this.rules, options.onBudgetAlert);
    const storeRule = (r: Rule, alertAt: number[]): StoreRule => ({
      algorithm: r.algorithm,
      fractional: r.measure === "usd",
      ...(r.calendar ? { calendar: r.calendar } : {}),
      limit: r.limit,
      windowMs: r.windowMs,
      alertAt,
    });
    // Budget alerts are on what is spent: a request is spent when it is admitted, tokens and USD when the
    // call is settled (a reservation's max_tokens headroom is not spending). A GCRA rule alerts on its
    // bucket's fill, at both.
    const alertsAtAcquire = (r: Rule) => r.measure === "requests" || (r.algorithm === "gcra" && !r.calendar);
    this.#acquireRules = this.rules.map((r) => storeRule(r, alertsAtAcquire(r) ? r.alertAt : []));
    this.#settleRules = this.rules.map((r) => storeRule(r, r.measure === "requests" ? [] : r.alertAt));
    this.#policyHeader = policyHeader(this.rules);
  }

  async acquire(key: string, given: Demand = {}): Promise<Ticket> {
    const base = storeKeys(this.name, this.rules, key, this.#options.hashKeys ?? false);
    const demand: Demand = {
      ...given,
      maxTokens: demandTokens("maxTokens", given.maxTokens),
      inputTokens: demandTokens("inputTokens", given.inputTokens),
    };
    const costs = this.rules.map((r) => ruleCost(r, demand, undefined, this.#options.pricing));
    let result: AcquireResult;
    let store: RateLimitStore | undefined;
    try {
      result = await this.#store.run((s) => {
        store = s;
        return s.acquire(base, this.#acquireRules, costs);
      });
    } catch {
      this.#telemetry.decision("store_error");
      const outcome = this.#store.mode === "fail-closed" ? refused(REFUSED_BY_STORE_ERROR, 1000) : admitted();
      return this.#ticket(key, base, demand, costs, outcome, undefined);
    }
    this.#telemetry.alerts(key, result.alerts);
    this.#telemetry.decision(
      result.allowed ? "allowed" : "limited",
      result.allowed ? undefined : this.rules[result.refusedBy]?.name,
    );
    return this.#ticket(key, base, demand, costs, result, store);
  }

  #ticket(
    key: string,
    base: string[],
    demand: Demand,
    costs: number[],
    result: AcquireResult,
    store: RateLimitStore | undefined,
  ): Ticket {
    const remaining: Record<string, number> = {};
    this.rules.forEach((r, i) => {
      remaining[r.name] = result.allowed ? (result.remaining[i] ?? r.limit) : 0;
    });
    let open = result.allowed && store !== undefined;
    const adjust = async (deltas: number[], spent: number[]) => {
      if (!open || !store) return;
      open = false;
      try {
        this.#telemetry.alerts(key, await store.adjust(base, this.#settleRules, deltas, result.windows, spent));
      } catch {
        this.#telemetry.decision("store_error");
      }
    };
    return {
      allowed: result.allowed,
      rule: result.allowed
        ? undefined
        : result.refusedBy === REFUSED_BY_STORE_ERROR
          ? "store_error"
          : this.rules[result.refusedBy]?.name,
      remaining,
      retryAfterMs: result.allowed ? 0 : result.retryAfterMs,
      spent: result.allowed ? undefined : result.refusedUsed,
      headers: rateLimitHeaders(this.rules, result, this.#policyHeader),
      settle: async (usage) => {
        const checked = settledUsage(usage); // before anything is sent: a refused settle leaves the ticket open
        const spent = this.rules.map((r) => ruleCost(r, demand, checked, this.#options.pricing));
        await adjust(
          spent.map((amount, i) => amount - (costs[i] as number)),
          spent,
        );
      },
      cancel: () =>
        adjust(
          costs.map((c) => -c),
          costs.map(() => 0),
        ),
    };
  }
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RateLimiter(options);
}
