export interface RetryBudgetOptions {
  /** retries allowed per call made, e.g. 0.2: one retry for every five calls (default 0.2) */
  ratio?: number;
  /** retries allowed per second whatever the traffic, so a quiet service can still retry (default 1) */
  minPerSecond?: number;
}

/**
 * A token bucket shared by every call through one policy (Finagle's retry budget): each call deposits
 * `ratio` tokens, `minPerSecond` tokens accrue per second, each retry or fallback takes one. It starts
 * with a reserve of ten seconds' worth (so a quiet service can retry at once) and never holds more than
 * that reserve plus a hundred calls' deposits. So in any run,
 * retries ≤ calls × ratio + minPerSecond × (elapsed seconds + 10) — an outage cannot multiply traffic.
 */
export class RetryBudget {
  #tokens: number;
  #at: number;
  readonly #ratio: number;
  readonly #perMs: number;
  readonly #cap: number;

  constructor(
    options: Required<RetryBudgetOptions>,
    private readonly now: () => number,
  ) {
    this.#ratio = options.ratio;
    this.#perMs = options.minPerSecond / 1000;
    this.#cap = options.minPerSecond * 10 + options.ratio * 100;
    this.#tokens = options.minPerSecond * 10;
    this.#at = now();
  }

  #refill(): void {
    const now = this.now();
    this.#tokens = Math.min(this.#cap, this.#tokens + Math.max(0, now - this.#at) * this.#perMs);
    this.#at = now;
  }

  /** a call started */
  deposit(): void {
    this.#refill();
    this.#tokens = Math.min(this.#cap, this.#tokens + this.#ratio);
  }

  /** takes one token for a retry; false when the budget is spent */
  tryWithdraw(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }
}
