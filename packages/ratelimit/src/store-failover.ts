import { messageOf, otelApi, WarnOnce } from "@ballast/intercept";
import { MemoryStore } from "./memory-store.js";
import type { RateLimitStore } from "./store.js";

export type StoreErrorMode = "fail-open" | "fail-closed" | "local";

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

/**
 * A limiter's store with its failure policy (`onStoreError`): a store call that errors or takes longer
 * than the timeout runs on the in-memory store (`local`) or throws (the other modes), and the store is
 * tried again after a backoff (1 s doubling to 30 s). A script that failed on one key's data is that
 * key's problem: it decides that call the same way, but the store is not marked down for the others.
 */
export class StoreFailover {
  readonly local = new MemoryStore();
  readonly store: RateLimitStore;
  readonly #watchdog: Watchdog;
  readonly #warnings = new WarnOnce((message) => otelApi()?.diag.warn(message));
  #downUntil = 0;
  #backoffMs = 0;

  constructor(
    store: RateLimitStore | undefined,
    readonly mode: StoreErrorMode,
    timeoutMs: number,
    private readonly limiter: string,
  ) {
    this.store = store ?? this.local;
    this.#watchdog = new Watchdog(timeoutMs);
  }

  async run<T>(op: (store: RateLimitStore) => Promise<T>): Promise<T> {
    if (this.store === this.local) return op(this.local);
    if (Date.now() < this.#downUntil) {
      if (this.mode === "local") return op(this.local);
      throw new Error("rate-limit store unavailable (backing off)");
    }
    try {
      const out = await this.#watchdog.run(op(this.store));
      this.#backoffMs = 0;
      return out;
    } catch (error) {
      const keyError = isKeyError(error);
      if (!keyError) {
        this.#backoffMs = Math.min(30_000, Math.max(1000, this.#backoffMs * 2));
        this.#downUntil = Date.now() + this.#backoffMs;
      }
      this.#warnings.warn(
        keyError ? "key" : "store",
        keyError
          ? `@ballast/ratelimit: the store could not count a key of limiter ${this.limiter} (${messageOf(error)}); that key's calls are decided by ${this.mode}, the others' as usual`
          : `@ballast/ratelimit: store error for limiter ${this.limiter}; using ${this.mode} until it recovers (${messageOf(error)})`,
      );
      if (this.mode === "local") return op(this.local);
      throw error;
    }
  }
}
