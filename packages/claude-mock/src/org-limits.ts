/** Per-minute organisation limits, as token buckets refilled continuously (as the API does). */
export interface OrgLimits {
  requestsPerMinute?: number;
  inputTokensPerMinute?: number;
  outputTokensPerMinute?: number;
}

// With no limit configured, headers still report one: high enough never to refuse a benchmark.
const UNLIMITED = { requests: 1_000_000_000, input: 1_000_000_000_000, output: 1_000_000_000_000 };

class Bucket {
  #level: number;
  #at: number;
  constructor(
    readonly limit: number,
    now: number,
  ) {
    this.#level = limit;
    this.#at = now;
  }
  level(now: number): number {
    const refill = ((now - this.#at) * this.limit) / 60_000;
    this.#level = Math.min(this.limit, this.#level + Math.max(0, refill));
    this.#at = Math.max(this.#at, now);
    return this.#level;
  }
  take(amount: number, now: number): void {
    this.#level = this.level(now) - amount;
  }
  /** ms until `amount` is available */
  waitFor(amount: number, now: number): number {
    const missing = Math.min(amount, this.limit) - this.level(now);
    return missing <= 0 ? 0 : Math.ceil((missing * 60_000) / this.limit);
  }
  resetAt(now: number): number {
    return now + this.waitFor(this.limit, now);
  }
}

export type LimitKind = "requests" | "input_tokens" | "output_tokens";

export interface Refusal {
  kind: LimitKind;
  limit: number;
  retryAfterMs: number;
}

export class OrgRateLimiter {
  #requests: Bucket;
  #input: Bucket;
  #output: Bucket;

  constructor(limits: OrgLimits, now: number) {
    this.#requests = new Bucket(limits.requestsPerMinute ?? UNLIMITED.requests, now);
    this.#input = new Bucket(limits.inputTokensPerMinute ?? UNLIMITED.input, now);
    this.#output = new Bucket(limits.outputTokensPerMinute ?? UNLIMITED.output, now);
  }

  /**
   * Admits a request that will consume `inputTokens` (uncached input plus cache writes: cache
   * reads do not count towards input-token limits), or says which limit refused it and for how long.
   */
  admit(inputTokens: number, now: number): Refusal | undefined {
    const checks: Array<[LimitKind, Bucket, number]> = [
      ["requests", this.#requests, 1],
      ["input_tokens", this.#input, inputTokens],
      ["output_tokens", this.#output, 1],
    ];
    for (const [kind, bucket, amount] of checks) {
      const wait = bucket.waitFor(amount, now);
      if (wait > 0) return { kind, limit: bucket.limit, retryAfterMs: wait };
    }
    this.#requests.take(1, now);
    this.#input.take(inputTokens, now);
    return undefined;
  }

  /** Output tokens are charged when known, as the API adjusts its estimate after the reply. */
  chargeOutput(outputTokens: number, now: number): void {
    this.#output.take(outputTokens, now);
  }

  headers(now: number): Record<string, string> {
    const out: Record<string, string> = {};
    const put = (name: string, bucket: Bucket) => {
      out[`anthropic-ratelimit-${name}-limit`] = String(bucket.limit);
      out[`anthropic-ratelimit-${name}-remaining`] = String(Math.max(0, Math.floor(bucket.level(now))));
      out[`anthropic-ratelimit-${name}-reset`] = `${new Date(bucket.resetAt(now)).toISOString().slice(0, 19)}Z`;
    };
    put("requests", this.#requests);
    put("input-tokens", this.#input);
    put("output-tokens", this.#output);
    // `tokens-*` reports whichever of input and output is closest to running out.
    const tight =
      this.#input.level(now) / this.#input.limit <= this.#output.level(now) / this.#output.limit
        ? this.#input
        : this.#output;
    put("tokens", tight);
    return out;
  }
}
