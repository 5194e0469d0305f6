export type CircuitState = "closed" | "open" | "half_open";

const BUCKETS = 10;

export interface CircuitBreakerOptions {
  /** failure share over the window that opens the circuit (default 0.5) */
  failureRate?: number;
  /** calls the window must hold before the rate counts (default 10) */
  minimumCalls?: number;
  /** sliding window, ms (default 30 000) */
  windowMs?: number;
  /** how long the circuit stays open before one probe call is let through, ms (default 30 000) */
  openMs?: number;
}

/**
 * One model's circuit: failure rate over a sliding time window with a minimum number of calls →
 * open (fail fast, nothing sent) → after `openMs` one half-open probe → closed on its success, open
 * again on its failure.
 */
export class CircuitBreaker {
  #state: CircuitState = "closed";
  #openedAt = 0;
  #probing = false;
  // The sliding window as ten buckets of windowMs/10: O(1) per call however busy the model is.
  #buckets = Array.from({ length: BUCKETS }, () => ({ start: Number.NEGATIVE_INFINITY, calls: 0, failures: 0 }));

  constructor(
    private readonly options: Required<CircuitBreakerOptions>,
    private readonly now: () => number,
    private readonly onChange: (from: CircuitState, to: CircuitState) => void,
  ) {}

  get state(): CircuitState {
    if (this.#state === "open" && this.now() - this.#openedAt >= this.options.openMs) this.#set("half_open");
    return this.#state;
  }

  /** ms until a probe is allowed (0 unless open) */
  get retryInMs(): number {
    return this.state === "open" ? Math.max(0, this.options.openMs - (this.now() - this.#openedAt)) : 0;
  }

  /** May a call go out now? A half-open circuit lets one probe through at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "half_open" && !this.#probing) {
      this.#probing = true;
      return true;
    }
    return false;
  }

  success(): void {
    if (this.#state === "half_open") {
      this.#probing = false;
      for (const b of this.#buckets) b.start = Number.NEGATIVE_INFINITY;
      this.#set("closed");
      return;
    }
    this.#record(false);
  }

  failure(): void {
    if (this.#state === "half_open") {
      this.#probing = false;
      this.#open();
      return;
    }
    this.#record(true);
  }

  /** A call that ended without a verdict on the model (a 4xx, an abort): frees a half-open probe. */
  release(): void {
    this.#probing = false;
  }

  #record(failed: boolean): void {
    const now = this.now();
    const width = this.options.windowMs / BUCKETS;
    const start = Math.floor(now / width) * width;
    const bucket = this.#buckets[Math.floor(now / width) % BUCKETS] as {
      start: number;
      calls: number;
      failures: number;
    };
    if (bucket.start !== start) Object.assign(bucket, { start, calls: 0, failures: 0 });
    bucket.calls++;
    if (failed) bucket.failures++;
    if (this.#state !== "closed") return;
    let calls = 0;
    let failures = 0;
    for (const b of this.#buckets) {
      if (b.start > now - this.options.windowMs) {
        calls += b.calls;
        failures += b.failures;
      }
    }
    if (calls >= this.options.minimumCalls && failures / calls >= this.options.failureRate) this.#open();
  }

  #open(): void {
    this.#openedAt = this.now();
    this.#set("open");
  }

  #set(to: CircuitState): void {
    if (this.#state === to) return;
    const from = this.#state;
    this.#state = to;
    this.onChange(from, to);
  }
}
