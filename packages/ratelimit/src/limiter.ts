import { createHash } from "node:crypto";
import { messageOf, otelApi, WarnOnce } from "@ballast/intercept";
import { estimateMaxCost, type PriceTable, priceCall, tokenCounts, type UsageLike } from "@ballast/pricing";
import { demandTokens, settledUsage, usdAmount } from "./amounts.js";
import { MemoryStore } from "./memory-store.js";
import { parseRules, type Rule, type RuleInput } from "./rules.js";
import { type AcquireResult, admitted, type RateLimitStore, refused, type StoreRule } from "./store.js";

export type StoreErrorMode = "fail-open" | "fail-closed" | "local";

export interface BudgetAlert {
  limiter: string;
  key: string;
  rule: string;
  /** the fraction of the limit crossed, from `alertAt` */
  threshold: number;
  limit: number;
  window: string;
}

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

export interface Demand {
  model?: string;
  /** the request's `max_tokens` (reserved as output until settled) */
  maxTokens?: number;
  /** the request's input tokens, e.g. from `countTokens` */
  inputTokens?: number;
}

export interface Ticket {
  allowed: boolean;
  /** the rule that refused (or `store_error` under fail-closed); undefined when allowed */
  rule: string | undefined;
  /** what is left per rule after this acquire */
  remaining: Record<string, number>;
  /** ms until the refused demand could fit; −1 when it never can; 0 when allowed */
  retryAfterMs: number;
  /** `RateLimit-Policy` and `RateLimit` (IETF draft) and, when refused, `Retry-After` */
  headers: Record<string, string>;
  /** reconciles the reservation with what the call used: refunds the unused part, charges an overrun */
  settle(usage: UsageLike): Promise<void>;
  /** gives the whole reservation back (the call failed before using anything) */
  cancel(): Promise<void>;
}

const MAX_KEY_BYTES = 256;
// `refusedBy` of a refusal that no rule made: the store failed and the limiter fails closed.
const REFUSED_BY_STORE_ERROR = -2;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Rejects store calls that take longer than `timeoutMs`, with one shared unref'd timer rather than a
 * timer per call (a per-call setTimeout costs more than the Redis round trip it guards).
 */
class Watchdog {
  readonly #pending = new Set<{ start: number; reject: (e: Error) => void }>();
  #timer: ReturnType<typeof setInterval> | undefined;
  constructor(private readonly timeoutMs: number) {}

  run<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = { start: performance.now(), reject };
      this.#pending.add(entry);
      this.#timer ??= setInterval(() => this.#sweep(), Math.max(10, this.timeoutMs / 2)).unref();
      promise.then(
        (value) => {
          this.#pending.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          this.#pending.delete(entry);
          reject(error);
        },
      );
    });
  }

  #sweep(): void {
    const now = performance.now();
    for (const entry of this.#pending) {
      if (now - entry.start >= this.timeoutMs) {
        this.#pending.delete(entry);
        entry.reject(new Error(`rate-limit store did not answer within ${this.timeoutMs} ms`));
      }
    }
    if (this.#pending.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

export class RateLimiter {
  readonly name: string;
  readonly rules: readonly Rule[];
  readonly #store: RateLimitStore;
  readonly #local: MemoryStore;
  readonly #mode: StoreErrorMode;
  readonly #options: RateLimiterOptions;
  /** the rules as acquire sees them: thresholds only where an acquire's amount is what is spent */
  readonly #acquireRules: StoreRule[];
  /** the rules as settle sees them: thresholds on what is spent */
  readonly #settleRules: StoreRule[];
  readonly #watchdog: Watchdog;
  readonly #policyHeader: string;
  #storeDownUntil = 0;
  #storeBackoffMs = 0;
  readonly #warnings = new WarnOnce((message) => otelApi()?.diag.warn(message));
  readonly #hookWarnings = new WarnOnce(console.warn);
  readonly #decisions?: import("@opentelemetry/api").Counter;
  readonly #alertCounter?: import("@opentelemetry/api").Counter;

  constructor(options: RateLimiterOptions) {
    if (typeof options !== "object" || options === null)
      throw new TypeError("createRateLimiter: options must be an object");
    if (typeof options.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(options.name)) {
      throw new TypeError(
        `createRateLimiter: \`name\` must be 1 to 64 characters of A-Z a-z 0-9 _ . -; got ${JSON.stringify(options.name)}`,
      );
    }
    const timeout = options.storeTimeoutMs;
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
      throw new TypeError(`createRateLimiter: \`storeTimeoutMs\` must be a number > 0; got ${timeout}`);
    }
    const mode = options.onStoreError ?? "local";
    if (!["fail-open", "fail-closed", "local"].includes(mode)) {
      throw new TypeError(
        `createRateLimiter: \`onStoreError\` must be "fail-open", "fail-closed" or "local"; got ${JSON.stringify(mode)}`,
      );
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
    this.#mode = mode;
    this.#local = new MemoryStore();
    this.#store = options.store ?? this.#local;
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
    this.#watchdog = new Watchdog(options.storeTimeoutMs ?? 250);
    this.#policyHeader = this.rules
      .map((r) => `"${r.name}";q=${r.limit};w=${Math.round(r.windowMs / 1000)}`)
      .join(", ");
    const meter = otelApi()?.metrics.getMeter("@ballast/ratelimit");
    this.#decisions = meter?.createCounter("ballast.ratelimit.decisions", { unit: "{decision}" });
    this.#alertCounter = meter?.createCounter("ballast.budget.alerts", { unit: "{alert}" });
  }

  /** Validates a caller's key and turns it into this limiter's store keys (one per rule, one hash tag). */
  #keys(key: string): string[] {
    if (typeof key !== "string" || key.length === 0) throw new TypeError("acquire: `key` must be a non-empty string");
    // String.prototype.isWellFormed (Node 20+; ES2024, past this build's lib)
    if (!(key as unknown as { isWellFormed(): boolean }).isWellFormed())
      throw new TypeError("acquire: `key` must be well-formed Unicode (it has a lone surrogate)");
    if (Buffer.byteLength(key) > MAX_KEY_BYTES)
      throw new TypeError(`acquire: \`key\` must be at most ${MAX_KEY_BYTES} bytes; got ${Buffer.byteLength(key)}`);
    if (CONTROL.test(key)) throw new TypeError("acquire: `key` must not contain control characters");
    // The key is data: encoded so that no character of it can act as Redis key syntax (`{`, `}`, `:`).
    const safe = this.#options.hashKeys ? createHash("sha256").update(key).digest("hex") : encodeURIComponent(key);
    return this.rules.map((r) => `ballast:{${this.name}:${safe}}:${r.name}`);
  }

  /** What `rule` counts for a demand (a reservation, before the call) or for real usage (at settle). */
  #cost(rule: Rule, demand: Demand, usage?: UsageLike): number {
    // a demand's counts were checked and made whole by acquire
    let input = demand.inputTokens ?? 0;
    let output = demand.maxTokens ?? 0;
    if (usage) {
      const t = tokenCounts(usage);
      input = t.input + t.cacheRead + t.cacheWrite5m + t.cacheWrite1h;
      output = t.output;
    }
    switch (rule.measure) {
      case "requests":
        return 1;
      case "input_tokens":
        return input;
      case "output_tokens":
        return output;
      case "tokens":
        return input + output;
      case "usd": {
        const model = demand.model ?? "";
        const usd = usage
          ? priceCall({ model, usage }, this.#options.pricing)?.usd
          : estimateMaxCost({ model, inputTokens: input, maxTokens: output }, this.#options.pricing);
        if (usd === undefined) {
          throw new TypeError(
            `acquire: rule "${rule.name}" counts USD but model ${JSON.stringify(demand.model)} has no price (give \`model\`, or add it with withPrices)`,
          );
        }
        return usdAmount(usd);
      }
    }
  }

  async acquire(key: string, given: Demand = {}): Promise<Ticket> {
    const base = this.#keys(key);
    const demand: Demand = {
      ...given,
      maxTokens: demandTokens("maxTokens", given.maxTokens),
      inputTokens: demandTokens("inputTokens", given.inputTokens),
    };
    const costs = this.rules.map((r) => this.#cost(r, demand));
    let result: AcquireResult;
    let store: RateLimitStore = this.#store;
    try {
      result = await this.#withStore((s) => {
        store = s;
        return s.acquire(base, this.#acquireRules, costs);
      });
    } catch {
      this.#record("store_error");
      const outcome = this.#mode === "fail-closed" ? refused(REFUSED_BY_STORE_ERROR, 1000) : admitted();
      return this.#ticket(key, base, demand, costs, outcome, undefined);
    }
    this.#fire(key, result.alerts);
    this.#record(
      result.allowed ? "allowed" : "limited",
      result.allowed ? undefined : this.rules[result.refusedBy]?.name,
    );
    return this.#ticket(key, base, demand, costs, result, store);
  }

  /**
   * Runs `op` on the store; when it fails, on the in-memory store (`local` mode) while the store is
   * retried with backoff (1 s doubling to 30 s). Throws the store's error in the other modes.
   */
  async #withStore<T>(op: (store: RateLimitStore) => Promise<T>): Promise<T> {
    if (this.#store === this.#local) return op(this.#local);
    if (Date.now() < this.#storeDownUntil) {
      if (this.#mode === "local") return op(this.#local);
      throw new Error("rate-limit store unavailable (backing off)");
    }
    try {
      const out = await this.#watchdog.run(op(this.#store));
      this.#storeBackoffMs = 0;
      return out;
    } catch (error) {
      // A script that failed on one key's data is that key's problem: the store is not down for the others.
      const keyError = isKeyError(error);
      if (!keyError) {
        this.#storeBackoffMs = Math.min(30_000, Math.max(1000, this.#storeBackoffMs * 2));
        this.#storeDownUntil = Date.now() + this.#storeBackoffMs;
      }
      this.#warnings.warn(
        keyError ? "key" : "store",
        keyError
          ? `@ballast/ratelimit: the store could not count a key of limiter ${this.name} (${messageOf(error)}); that key's calls are decided by ${this.#mode}, the others' as usual`
          : `@ballast/ratelimit: store error for limiter ${this.name}; using ${this.#mode} until it recovers (${messageOf(error)})`,
      );
      if (this.#mode === "local") return op(this.#local);
      throw error;
    }
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
    const refusedRuleName =
      result.refusedBy === REFUSED_BY_STORE_ERROR ? "store_error" : this.rules[result.refusedBy]?.name;
    const headers: Record<string, string> = { "RateLimit-Policy": this.#policyHeader };
    if (result.allowed && result.remaining.length > 0) {
      headers.RateLimit = this.rules
        .map(
          (r, i) =>
            `"${r.name}";r=${Math.max(0, Math.floor(result.remaining[i] ?? 0))};t=${Math.ceil((result.resetMs[i] ?? 0) / 1000)}`,
        )
        .join(", ");
    }
    if (!result.allowed) {
      const refusedRule = this.rules[result.refusedBy];
      headers.RateLimit = refusedRule
        ? `"${refusedRule.name}";r=0;t=${Math.max(0, Math.ceil(result.retryAfterMs / 1000))}`
        : "";
      if (result.retryAfterMs >= 0) headers["Retry-After"] = String(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
      if (!headers.RateLimit) delete headers.RateLimit;
    }
    let open = result.allowed && store !== undefined;
    const adjust = async (deltas: number[], spent: number[]) => {
      if (!open || !store) return;
      open = false;
      try {
        this.#fire(key, await store.adjust(base, this.#settleRules, deltas, result.windows, spent));
      } catch {
        this.#record("store_error");
      }
    };
    return {
      allowed: result.allowed,
      rule: result.allowed ? undefined : refusedRuleName,
      remaining,
      retryAfterMs: result.allowed ? 0 : result.retryAfterMs,
      headers,
      settle: async (usage) => {
        const checked = settledUsage(usage); // before anything is sent: a refused settle leaves the ticket open
        const spent = this.rules.map((r) => this.#cost(r, demand, checked));
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

  #fire(key: string, alerts: Array<[number, number]>): void {
    for (const [index, threshold] of alerts) {
      const rule = this.rules[index];
      if (!rule) continue;
      const alert: BudgetAlert = {
        limiter: this.name,
        key,
        rule: rule.name,
        threshold,
        limit: rule.limit,
        window: rule.window,
      };
      try {
        this.#alertCounter?.add(1, {
          "ballast.ratelimit.limiter": this.name,
          "ballast.ratelimit.rule": rule.name,
          "ballast.budget.threshold": String(threshold),
        });
        otelApi()
          ?.logs.getLogger("@ballast/ratelimit")
          .emit({ eventName: "ballast.budget.alert", body: { ...alert } });
      } catch (error) {
        this.#warnings.warn(
          "telemetry",
          `@ballast/ratelimit: recording rate-limit telemetry failed (${messageOf(error)}); the call goes on, and later failures are not reported`,
        );
      }
      try {
        this.#options.onBudgetAlert?.(alert);
      } catch (error) {
        // the user's hook must not break the call it is reporting on
        this.#hookWarnings.warn(
          "onBudgetAlert",
          `@ballast/ratelimit: your onBudgetAlert hook of limiter ${this.name} threw (${messageOf(error)}); the call goes on, and later throws are not reported`,
        );
      }
    }
  }

  #record(outcome: "allowed" | "limited" | "store_error", rule?: string): void {
    try {
      this.#decisions?.add(1, {
        "ballast.ratelimit.limiter": this.name,
        "ballast.ratelimit.outcome": outcome,
        ...(rule ? { "ballast.ratelimit.rule": rule } : {}),
      });
    } catch (error) {
      this.#warnings.warn(
        "telemetry",
        `@ballast/ratelimit: recording rate-limit telemetry failed (${messageOf(error)}); the call goes on, and later failures are not reported`,
      );
    }
  }
}

/**
 * A Redis error reply about one key's data (a script that failed on what the key holds), as opposed to
 * a store that is down, busy, read-only or out of memory.
 */
function isKeyError(error: unknown): boolean {
  const e = error as { name?: string; message?: string } | null;
  const message = e?.message ?? "";
  return (
    e?.name === "ReplyError" &&
    /script/i.test(message) &&
    !/^(BUSY|NOSCRIPT|LOADING|READONLY|OOM|MASTERDOWN|CLUSTERDOWN|TRYAGAIN)/.test(message)
  );
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RateLimiter(options);
}
