// How often the clock reads Redis's TIME again: clocks drift by milliseconds a day, not a minute.
const SYNC_MS = 60_000;

/**
 * The time on Redis's clock, kept here so that no decision pays for a TIME call: Redis's TIME is read at
 * the first decision and once a minute after, the middle of the round trip taken as the moment Redis
 * read it. The offset is to this process's monotonic clock, so setting the wall clock (by hand, or an
 * NTP step) moves nothing.
 */
export class RedisClock {
  /** Redis's clock minus performance.now(), ms; unknown until first read */
  #offsetMs: number | undefined;
  #syncedAt = 0;
  #syncing: Promise<void> | undefined;

  /** `time`: Redis's TIME, as ioredis answers it ([seconds, microseconds]) */
  constructor(private readonly time: () => Promise<unknown>) {}

  /** Now, in whole ms (as keys' lifetimes are), when known without waiting; else undefined. */
  now(): number | undefined {
    if (this.#offsetMs === undefined) return undefined;
    const local = performance.now();
    if (local - this.#syncedAt > SYNC_MS) this.#sync().catch(() => {}); // a store that is down fails the decision itself
    return Math.round(local + this.#offsetMs);
  }

  /** Now, in whole ms, reading Redis's TIME first when it has not been read yet. */
  async read(): Promise<number> {
    const known = this.now();
    if (known !== undefined) return known;
    await this.#sync();
    return this.now() as number;
  }

  #sync(): Promise<void> {
    this.#syncing ??= (async () => {
      const sent = performance.now();
      const [seconds, micros] = (await this.time()) as [string, string];
      const received = performance.now();
      this.#offsetMs = Number(seconds) * 1000 + Number(micros) / 1000 - (sent + received) / 2;
      this.#syncedAt = received;
    })().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }
}
