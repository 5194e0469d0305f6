import { interceptCalls, otelApi } from "@ballast/intercept";

export type RateLimitKind = "requests" | "input_tokens" | "output_tokens" | "tokens";

interface Budget {
  limit: number;
  remaining: number;
  /** when `remaining` was read, on the governor's clock */
  at: number;
}

export interface GovernorClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface GovernorOptions {
  /** most calls waiting at once; past it `schedule` rejects at once (default 1000) */
  maxQueue?: number;
  /** longest a call may wait for headroom, ms (default 60 000) */
  timeoutMs?: number;
  /** calls allowed in flight before the first response tells the limits (default 4) */
  initialConcurrency?: number;
  /** time source (tests) */
  clock?: GovernorClock;
}

export interface ScheduleOptions {
  /** higher runs first (default 0) */
  priority?: number;
  /** input tokens the call will send, to pace against the input-token limit */
  inputTokens?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const HEADER: Record<RateLimitKind, string> = {
  requests: "requests",
  input_tokens: "input-tokens",
  output_tokens: "output-tokens",
  tokens: "tokens",
};

export class GovernorQueueFullError extends Error {
  override readonly name = "GovernorQueueFullError";
}
export class GovernorTimeoutError extends Error {
  override readonly name = "GovernorTimeoutError";
}

interface Waiter {
  priority: number;
  seq: number;
  inputTokens: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Paces calls to the org's limits as the API reports them (`anthropic-ratelimit-*-limit/remaining`
 * on every response): when headroom runs out, calls wait — by priority, in a bounded queue, each with a
 * timeout — for the limit to refill, instead of being sent into a 429. The API refills continuously,
 * so a call waits only as long as one more unit takes to come back.
 */
export class Governor {
  readonly #budgets = new Map<RateLimitKind, Budget>();
  readonly #queue: Waiter[] = [];
  readonly #clock: GovernorClock;
  readonly #maxQueue: number;
  readonly #timeoutMs: number;
  readonly #initial: number;
  #inFlight = 0;
  #seq = 0;
  #pumping = false;

  constructor(options: GovernorOptions = {}) {
    const int = (name: string, v: number | undefined, d: number) => {
      const n = v ?? d;
      if (!Number.isInteger(n) || n < 1)
        throw new TypeError(`createGovernor: \`${name}\` must be an integer ≥ 1; got ${v}`);
      return n;
    };
    this.#maxQueue = int("maxQueue", options.maxQueue, 1000);
    this.#timeoutMs = int("timeoutMs", options.timeoutMs, 60_000);
    this.#initial = int("initialConcurrency", options.initialConcurrency, 4);
    this.#clock = options.clock ?? { now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
    const meter = otelApi()?.metrics.getMeter("@ballast/ratelimit");
    meter
      ?.createObservableGauge("anthropic.ratelimit.utilization", {
        description: "Share of the org's rate limit in use",
        unit: "1",
      })
      .addCallback((result) => {
        for (const [kind, b] of this.#budgets)
          result.observe(1 - this.#available(kind, b) / b.limit, { "anthropic.ratelimit.kind": kind });
      });
  }

  /** Reads the `anthropic-ratelimit-*` headers of a response (a `Headers` or a plain object). */
  observe(headers: { get(name: string): string | null } | Record<string, string | undefined>): void {
    const get = (name: string) =>
      typeof (headers as { get?: unknown }).get === "function"
        ? (headers as { get(n: string): string | null }).get(name)
        : (headers as Record<string, string | undefined>)[name];
    const now = this.#clock.now();
    for (const [kind, name] of Object.entries(HEADER) as Array<[RateLimitKind, string]>) {
      const limit = Number(get(`anthropic-ratelimit-${name}-limit`));
      const remaining = Number(get(`anthropic-ratelimit-${name}-remaining`));
      if (Number.isFinite(limit) && limit > 0 && Number.isFinite(remaining))
        this.#budgets.set(kind, { limit, remaining, at: now });
    }
    this.#pump();
  }

  /** Runs `fn` once there is headroom for it. */
  async schedule<T>(fn: () => Promise<T>, options: ScheduleOptions = {}): Promise<T> {
    await this.#admit(options); // counts the call in flight before it resolves
    try {
      return await fn();
    } finally {
      this.#inFlight--;
      this.#pump();
    }
  }

  /** Units of `kind` available now: the last reading, refilled since at limit per minute, less what is in flight. */
  #available(kind: RateLimitKind, b: Budget): number {
    const refilled = Math.min(b.limit, b.remaining + ((this.#clock.now() - b.at) * b.limit) / 60_000);
    return kind === "requests" ? refilled - this.#inFlight : refilled;
  }

  #fits(inputTokens: number): number {
    if (this.#budgets.size === 0) return this.#inFlight < this.#initial ? 0 : -1;
    let wait = 0;
    for (const [kind, b] of this.#budgets) {
      const need = kind === "requests" ? 1 : kind === "input_tokens" ? inputTokens : 0;
      if (need === 0) continue;
      const missing = need - this.#available(kind, b);
      if (missing > 0) wait = Math.max(wait, Math.ceil((missing * 60_000) / b.limit));
    }
    return wait;
  }

  #admit(options: ScheduleOptions): Promise<void> {
    const inputTokens = options.inputTokens ?? 0;
    if (this.#queue.length === 0 && this.#fits(inputTokens) === 0) {
      this.#inFlight++;
      return Promise.resolve();
    }
    if (this.#queue.length >= this.#maxQueue)
      return Promise.reject(new GovernorQueueFullError(`governor queue is full (${this.#maxQueue})`));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { priority: options.priority ?? 0, seq: this.#seq++, inputTokens, resolve, reject };
      const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
      const timer = setTimeout(
        () => this.#drop(waiter, new GovernorTimeoutError(`waited ${timeoutMs} ms for rate-limit headroom`)),
        timeoutMs,
      );
      const onAbort = () => this.#drop(waiter, options.signal?.reason ?? new Error("aborted"));
      options.signal?.addEventListener("abort", onAbort, { once: true });
      waiter.resolve = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.#queue.push(waiter);
      this.#queue.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
      this.#pump();
    });
  }

  #drop(waiter: Waiter, error: unknown): void {
    const i = this.#queue.indexOf(waiter);
    if (i < 0) return;
    this.#queue.splice(i, 1);
    waiter.reject(error);
  }

  /** Lets waiting calls go, first in priority order, as headroom appears; sleeps until the next unit refills. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void (async () => {
      try {
        while (this.#queue.length > 0) {
          const head = this.#queue[0] as Waiter;
          const wait = this.#fits(head.inputTokens);
          if (wait < 0) return; // no readings yet: the next response or completion pumps again
          if (wait > 0) {
            await this.#clock.sleep(wait);
            continue;
          }
          this.#queue.shift();
          this.#inFlight++;
          head.resolve();
        }
      } finally {
        this.#pumping = false;
      }
    })();
  }
}

export function createGovernor(options: GovernorOptions = {}): Governor {
  return new Governor(options);
}

/**
 * A copy of `client` whose `messages.create` (and so `stream()` and `parse()`) waits for org-level
 * headroom through `governor`, and feeds it every response's rate-limit headers. Yours is unchanged.
 */
export function withGovernor<C extends object>(client: C, governor: Governor): C {
  return interceptCalls(client, "withGovernor", (params, options, send, operation) =>
    // token counting has rate limits of its own, which are not what the governor paces
    operation !== "create"
      ? send(params, options)
      : governor.schedule(
          async () => {
            try {
              const sent = await send(params, options);
              governor.observe(sent.response.headers);
              return sent;
            } catch (error) {
              const headers = (error as { headers?: Headers }).headers;
              if (headers && typeof headers.get === "function") governor.observe(headers);
              throw error;
            }
          },
          { signal: options?.signal as AbortSignal | undefined },
        ),
  );
}
