import { readFileSync } from "node:fs";
import { periodAt } from "./calendar.js";
import { type AcquireResult, admitted, type RateLimitStore, refused, type StoreRule } from "./store.js";

/** The ioredis calls this store makes (a `Redis` or a `Cluster`). */
export interface RedisLike {
  defineCommand(name: string, definition: { lua: string }): void;
}

type WithCommands = RedisLike & Record<string, unknown>;

function lua(name: string): string {
  // Readable .lua files beside the source; the build ships them under src/lua too.
  for (const path of [`./lua/${name}`, `../src/lua/${name}`]) {
    try {
      return readFileSync(new URL(path, import.meta.url), "utf8");
    } catch {
      // try the next place
    }
  }
  throw new Error(`@ballast/ratelimit: cannot find lua/${name}`);
}

const SCRIPTS = { acquire: lua("acquire.lua"), adjust: lua("adjust.lua") };
const ACQUIRE = "ballastRateLimitAcquire";
const ADJUST = "ballastRateLimitAdjust";

/** The script's algorithm code: 0/2 sliding (whole/fractional counts), 1 GCRA, 3/4 calendar. */
function code(rule: StoreRule): number {
  if (rule.calendar) return rule.fractional ? 4 : 3;
  if (rule.algorithm === "gcra") return 1;
  return rule.fractional ? 2 : 0;
}

function args(
  clock: (() => number) | undefined,
  rules: StoreRule[],
  values: number[],
  windows?: number[],
): Array<string | number> {
  const now = clock?.() ?? Date.now();
  const out: Array<string | number> = [rules.length, clock ? now : ""];
  rules.forEach((rule, r) => {
    out.push(code(rule), rule.limit, rule.windowMs, values[r] as number);
    if (windows) out.push(windows[r] as number);
    else if (rule.calendar) {
      // Time zones are beyond Lua: the script gets the periods around this clock's now, and picks the
      // one that holds Redis's own time (so an app clock off by up to a period changes nothing).
      const { unit, timeZone } = rule.calendar;
      const cur = periodAt(now, unit, timeZone);
      const prev = periodAt(cur.start - 1, unit, timeZone);
      const next = periodAt(cur.end, unit, timeZone);
      out.push(prev.start, cur.start, next.start, next.end);
    }
    out.push(rule.alertAt.length, ...rule.alertAt.map(String));
  });
  return out;
}

function pairs(flat: unknown[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([Number(flat[i]) - 1, Number(flat[i + 1])]);
  return out;
}

/**
 * Limits shared by every process on one Redis (or Redis Cluster: all keys of a limiter and key share
 * a hash tag). One round trip per acquire: a Lua script run by EVALSHA (ioredis reloads it on
 * NOSCRIPT), with the time taken from Redis, so app clocks do not matter.
 */
export class RedisStore implements RateLimitStore {
  readonly #client: WithCommands;
  readonly #now: (() => number) | undefined;

  /** `now`: a test clock, ms; without it (always, outside tests) the time is Redis's own `TIME` */
  constructor(options: { client: RedisLike; now?: () => number }) {
    const client = options?.client;
    if (!client || typeof client.defineCommand !== "function") {
      throw new TypeError("redisStore: `client` must be an ioredis Redis or Cluster instance");
    }
    this.#client = client as WithCommands;
    this.#now = options.now;
    if (typeof this.#client[ACQUIRE] !== "function") client.defineCommand(ACQUIRE, { lua: SCRIPTS.acquire });
    if (typeof this.#client[ADJUST] !== "function") client.defineCommand(ADJUST, { lua: SCRIPTS.adjust });
  }

  async acquire(base: string[], rules: StoreRule[], costs: number[]): Promise<AcquireResult> {
    const call = this.#client[ACQUIRE] as (...a: unknown[]) => Promise<unknown[]>;
    const reply = await call.apply(this.#client, [base.length, ...base, ...args(this.#now, rules, costs)]);
    const [allowed, refusedBy, retryAfter] = reply.map(Number);
    if (!allowed) return refused((refusedBy as number) - 1, retryAfter as number);
    const result = admitted();
    let i = 3;
    for (let r = 0; r < rules.length; r++, i += 3) {
      result.remaining.push(Number(reply[i]));
      result.resetMs.push(Number(reply[i + 1]));
      result.windows.push(Number(reply[i + 2]));
    }
    result.alerts = pairs(reply.slice(i));
    return result;
  }

  async adjust(
    base: string[],
    rules: StoreRule[],
    deltas: number[],
    windows: number[],
  ): Promise<Array<[number, number]>> {
    const call = this.#client[ADJUST] as (...a: unknown[]) => Promise<unknown[]>;
    return pairs(await call.call(this.#client, base.length, ...base, ...args(this.#now, rules, deltas, windows)));
  }
}

export function redisStore(options: { client: RedisLike; now?: () => number }): RedisStore {
  return new RedisStore(options);
}
