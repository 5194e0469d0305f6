/**
 * A bounded map whose entries expire on their own: at most `maxKeys` entries, the least recently
 * written going first. Expired entries are dropped when read. `now` is passed in, so callers that
 * already read the clock (the rate limiter, once per acquire) do not read it twice.
 */
export class ExpiringLru<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(readonly maxKeys: number) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new TypeError(`\`maxKeys\` must be an integer ≥ 1; got ${maxKeys}`);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    // moved to the end (the most recently written), reusing its entry
    const e = this.#entries.get(key);
    if (e) {
      this.#entries.delete(key);
      e.value = value;
      e.expiresAt = expiresAt;
      this.#entries.set(key, e);
      return;
    }
    this.#entries.set(key, { value, expiresAt });
    if (this.#entries.size > this.maxKeys) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** when `key` expires, ms; undefined when absent (expired entries included until read) */
  expiresAt(key: string): number | undefined {
    return this.#entries.get(key)?.expiresAt;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
