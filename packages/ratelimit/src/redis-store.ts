import { RedisClock } from "./redis-clock.js";
import { kindCode, requestsOnly, SCRIPTS, type Script } from "./scripts.js";
import { type AcquireResult, admitted, type RateLimitStore, refused, type StoreRule } from "./store.js";
import { bucketAt, isBucket, type WindowAt, windowAt, windowWait } from "./windows.js";

/** The ioredis calls this store makes (a `Redis` or a `Cluster`). */
export interface RedisLike {
  evalsha(sha1: string, numberOfKeys: number, ...args: Array<string | number | Buffer>): Promise<unknown>;
  eval(script: string, numberOfKeys: number, ...args: Array<string | number | Buffer>): Promise<unknown>;
  time(): Promise<unknown>;
}

// Decisions sent in one socket write at most: enough to save most write system calls, few enough that
// Redis works on the first while the client is still making the rest.
const COALESCE = 16;

type Reply = Array<string | number | null>;

/** The socket of a single-connection ioredis client (a Cluster has one per node, and none here). */
interface CorkableSocket {
  cork?: () => void;
  uncork(): void;
  writable: boolean;
}
interface Corkable {
  stream?: CorkableSocket;
}

/**
 * Where each rule of an acquire counts, as both the script's arguments and the reply's reading need it:
 * a window's keys for this window and the last, and the window; a bucket's key (twice).
 */
type Placed = { rule: StoreRule; key: string; last: string; at: WindowAt | undefined };

/**
 * Limits shared by every process on one Redis (or Redis Cluster: all keys of a limiter and key share
 * a hash tag). One round trip per acquire: a Lua script run by EVALSHA (sent with EVAL when Redis does
 * not have it yet), with the time on Redis's clock (RedisClock), so app clocks do not matter.
 */
export class RedisStore implements RateLimitStore {
  readonly #client: RedisLike;
  /** the test clock, when given */
  readonly #now: (() => number) | undefined;
  readonly #clock: RedisClock;
  /** the decisions of this tick waiting on a corked socket */
  #batch: { socket: CorkableSocket; size: number } | undefined;

  /** `now`: a test clock, ms; without it (always, outside tests) the time is Redis's own `TIME` */
  constructor(options: { client: RedisLike; now?: () => number }) {
    const client = options?.client;
    if (!client || !(["evalsha", "eval", "time"] as const).every((call) => typeof client[call] === "function")) {
      throw new TypeError("redisStore: `client` must be an ioredis Redis or Cluster instance");
    }
    this.#client = client;
    this.#now = options.now;
    this.#clock = new RedisClock(() => client.time());
  }

  /**
   * The Lua script this store runs to acquire for `rules`, e.g. to load it with SCRIPT LOAD or run it
   * under redis-benchmark: one rule counting requests in a window has a script of its own, any other
   * rule list the general one. Its header says what KEYS and ARGV hold.
   */
  static acquireScript(rules: readonly StoreRule[]): string {
    return (requestsOnly(rules) ? SCRIPTS.requests : SCRIPTS.acquire).source;
  }

  async acquire(base: string[], rules: StoreRule[], costs: number[]): Promise<AcquireResult> {
    const now = this.#time() ?? (await this.#clock.read());
    const placed = rules.map((rule, r): Placed => {
      if (isBucket(rule)) return { rule, key: base[r] as string, last: base[r] as string, at: undefined };
      const at = windowAt(rule, now);
      const key = `${base[r]}:${at.window}`;
      // a calendar period's last period counts for nothing: its own key stands in
      return { rule, key, last: at.weight ? `${base[r]}:${at.window - 1}` : key, at };
    });
    return requestsOnly(rules) && costs[0] === 1
      ? this.#acquireRequest(now, placed[0] as Placed & { at: WindowAt }, costs)
      : this.#acquireAny(now, placed, costs);
  }

  /** One rule counting requests in a window: lua/requests.ts. */
  async #acquireRequest(now: number, placed: Placed & { at: WindowAt }, costs: number[]): Promise<AcquireResult> {
    const { rule, key, last, at } = placed;
    const reply = await this.#run(SCRIPTS.requests, [key, last], [rule.limit, at.weight, at.ttlMs]);
    if (Array.isArray(reply)) return this.#refused(now, [placed], costs, ["refused", 1, reply[1], reply[2]]);
    const result = admitted();
    result.remaining.push(Number(reply));
    result.resetMs.push(at.resetMs);
    result.windows.push(at.window);
    return result;
  }

  /** Any rules: lua/acquire.ts. */
  async #acquireAny(now: number, placed: Placed[], costs: number[]): Promise<AcquireResult> {
    const keys: string[] = [];
    const figures: number[] = [now];
    placed.forEach(({ rule, key, last, at }, r) => {
      keys.push(key, last);
      const weight = at ? at.weight : rule.windowMs / rule.limit;
      figures.push(kindCode(rule), rule.limit, costs[r] as number, weight, at ? at.ttlMs : 2 * rule.windowMs);
      figures.push(rule.alertAt.length, ...rule.alertAt);
    });
    const packed = Buffer.allocUnsafe(8 * figures.length);
    for (let i = 0; i < figures.length; i++) packed.writeDoubleLE(figures[i] as number, 8 * i);
    const reply = (await this.#run(SCRIPTS.acquire, keys, [packed, ...costs])) as Reply;
    if (reply[0] === "refused") return this.#refused(now, placed, costs, reply);
    const result = admitted();
    let i = placed.length; // where the buckets' arrival times start
    placed.forEach(({ at }, r) => {
      result.remaining.push(Number(reply[r]));
      // a bucket is empty again at its arrival time
      result.resetMs.push(at ? at.resetMs : Math.ceil(Number(reply[i++]) - now));
      result.windows.push(at ? at.window : 0);
    });
    for (; i + 1 < reply.length; i += 2) result.alerts.push([Number(reply[i]) - 1, Number(reply[i + 1])]);
    return result;
  }

  /** A refusal from a script's reply: ['refused', rule (1-based), its count, the last window's count]. */
  #refused(now: number, placed: Placed[], costs: number[], reply: Reply): AcquireResult {
    const r = Number(reply[1]) - 1;
    const { rule, at } = placed[r] as Placed;
    const cost = costs[r] as number;
    const count = Number(reply[2] ?? 0);
    if (!at) {
      const bucket = bucketAt(rule, now, count, cost);
      return refused(r, bucket.waitMs, bucket.used);
    }
    const last = at.weight ? Number(reply[3] ?? 0) : 0;
    return refused(r, windowWait(rule, now, at, cost, count, last), last * at.weight + count);
  }

  async adjust(
    base: string[],
    rules: StoreRule[],
    deltas: number[],
    windows: number[],
    spent: number[],
  ): Promise<Array<[number, number]>> {
    const now = this.#time() ?? (await this.#clock.read());
    const args: Array<string | number> = [now];
    rules.forEach((rule, r) => {
      args.push(kindCode(rule), rule.limit, rule.windowMs, deltas[r] as number, spent[r] as number);
      args.push(windows[r] as number, rule.alertAt.length, ...rule.alertAt.map(String));
    });
    const fired = (await this.#run(SCRIPTS.settle, base, args)) as Reply;
    const out: Array<[number, number]> = [];
    for (let i = 0; i + 1 < fired.length; i += 2) out.push([Number(fired[i]) - 1, Number(fired[i + 1])]);
    return out;
  }

  /** The test clock's time, else Redis's when known without waiting. */
  #time(): number | undefined {
    return this.#now ? Math.round(this.#now()) : this.#clock.now();
  }

  /** EVALSHA, and EVAL (which also loads the script) when Redis answers that it does not have it. */
  async #run(script: Script, keys: string[], args: Array<string | number | Buffer>): Promise<unknown> {
    this.#cork();
    try {
      return await this.#client.evalsha(script.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error | undefined)?.message).startsWith("NOSCRIPT")) throw error;
      this.#cork();
      return this.#client.eval(script.source, keys.length, ...keys, ...args);
    }
  }

  /**
   * Decisions made in the same tick leave together, up to COALESCE per socket write: the connection is
   * corked at the first and uncorked once the tick's work is done, as node-redis does for every
   * command. Uncorked, each EVALSHA is a write system call of its own, which costs the client more CPU
   * than the decision. (A Cluster client has no single socket; its commands go out as ioredis sends them.)
   */
  #cork(): void {
    const socket = (this.#client as Corkable).stream;
    if (!socket?.writable || typeof socket.cork !== "function") return;
    const batch = this.#batch;
    if (batch?.socket === socket) {
      if (++batch.size <= COALESCE) return;
      // enough for one write: send it, so Redis works on these while this process prepares the next
      socket.uncork();
      socket.cork();
      batch.size = 1;
      return;
    }
    // a new tick, or a new connection since this tick's first decision (ioredis reconnected)
    const started = { socket, size: 1 };
    this.#batch = started;
    socket.cork();
    process.nextTick(() => {
      if (this.#batch === started) this.#batch = undefined;
      socket.uncork();
    });
  }
}

export function redisStore(options: { client: RedisLike; now?: () => number }): RedisStore {
  return new RedisStore(options);
}
