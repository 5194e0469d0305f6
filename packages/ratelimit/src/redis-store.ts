import { periodAt } from "./calendar.js";
import { ACQUIRE_SCRIPT_PREFIX, ADJUST_SCRIPT, acquireScript, shapeOf, windowArgs } from "./scripts.js";
import { type AcquireResult, admitted, type RateLimitStore, refused, type StoreRule } from "./store.js";

/** The ioredis calls this store makes (a `Redis` or a `Cluster`). */
export interface RedisLike {
  defineCommand(name: string, definition: { lua: string }): void;
}

type WithCommands = RedisLike & Record<string, unknown>;

// Decisions sent in one socket write at most: enough to save most write system calls, few enough that
// Redis works on the first while the client is still making the rest.
const COALESCE = 16;
const ADJUST = "ballastRateLimitAdjust";

/** lua/adjust.ts's algorithm code: 0/2 sliding (whole/fractional counts), 1 GCRA, 3/4 calendar. */
function code(rule: StoreRule): number {
  if (rule.calendar) return rule.fractional ? 4 : 3;
  if (rule.algorithm === "gcra") return 1;
  return rule.fractional ? 2 : 0;
}

/**
 * A limiter's script arguments with blanks for what changes per call (the costs or deltas, and the
 * window a rule is in): built once per rule list, copied and filled in per call.
 */
interface ArgsTemplate {
  /** the ioredis command that runs the script */
  command: string;
  args: Array<string | number>;
  /** where the test clock's time goes */
  clock: number;
  /** per rule: where its cost or delta goes */
  value: number[];
  /** adjust, per rule: where the amount spent goes */
  spent: number[];
  /** per rule: where its window goes (adjust: the index; acquire: a sliding window's two indexes, a calendar's four boundaries), else −1 */
  slot: number[];
}

/** acquire: see lua/acquire.ts's header; adjust: lua/adjust.ts's (a generic script, run once per settled call). */
function template(rules: StoreRule[], adjust: boolean): ArgsTemplate {
  const args: Array<string | number> = adjust ? [rules.length, ""] : [""];
  const value: number[] = [];
  const spent: number[] = [];
  const slot: number[] = [];
  for (const rule of rules) {
    if (adjust) args.push(code(rule));
    args.push(rule.limit, rule.windowMs);
    value.push(args.push(0) - 1);
    if (adjust) spent.push(args.push(0) - 1);
    const windows = adjust ? 1 : windowArgs(rule);
    slot.push(windows ? args.push(...Array<number>(windows).fill(0)) - windows : -1);
    if (adjust) args.push(rule.alertAt.length);
    args.push(...rule.alertAt.map(String));
  }
  const command = adjust ? ADJUST : `${ACQUIRE_SCRIPT_PREFIX}${shapeOf(rules)}`;
  return { command, args, clock: adjust ? 1 : 0, value, spent, slot };
}

const templates = {
  acquire: new WeakMap<StoreRule[], ArgsTemplate>(),
  adjust: new WeakMap<StoreRule[], ArgsTemplate>(),
};

function templateFor(rules: StoreRule[], adjust: boolean): ArgsTemplate {
  const cache = adjust ? templates.adjust : templates.acquire;
  let t = cache.get(rules);
  if (!t) {
    t = template(rules, adjust);
    cache.set(rules, t);
  }
  return t;
}

/** KEYS and ARGV of one script call (see the scripts' headers). */
function args(
  t: ArgsTemplate,
  clock: (() => number) | undefined,
  base: string[],
  rules: StoreRule[],
  values: number[],
  windows?: number[],
  spent?: number[],
): Array<string | number> {
  const now = clock?.() ?? Date.now();
  const out: Array<string | number> = [base.length, ...base, ...t.args];
  const at = base.length + 1; // where the template starts in `out`
  if (clock) out[at + t.clock] = now;
  for (let r = 0; r < rules.length; r++) {
    out[at + (t.value[r] as number)] = values[r] as number;
    if (spent) out[at + (t.spent[r] as number)] = spent[r] as number;
    const slot = at + (t.slot[r] as number);
    if (slot < at) continue;
    const rule = rules[r] as StoreRule;
    if (windows) out[slot] = windows[r] as number;
    else if (rule.calendar) {
      // Time zones are beyond Lua: the script gets the periods around this clock's now, and picks the
      // one that holds Redis's own time (so an app clock off by up to a period changes nothing).
      const { unit, timeZone } = rule.calendar;
      const cur = periodAt(now, unit, timeZone);
      const prev = periodAt(cur.start - 1, unit, timeZone);
      const next = periodAt(cur.end, unit, timeZone);
      out[slot] = prev.start;
      out[slot + 1] = cur.start;
      out[slot + 2] = next.start;
      out[slot + 3] = next.end;
    } else {
      // this clock's window, so the script can name its keys without formatting numbers
      const idx = Math.floor(now / rule.windowMs);
      out[slot] = idx;
      out[slot + 1] = idx - 1;
    }
  }
  return out;
}

function pairs(flat: unknown[], from = 0): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = from; i + 1 < flat.length; i += 2) out.push([Number(flat[i]) - 1, Number(flat[i + 1])]);
  return out;
}

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
 * Limits shared by every process on one Redis (or Redis Cluster: all keys of a limiter and key share
 * a hash tag). One round trip per acquire: a Lua script run by EVALSHA (ioredis reloads it on
 * NOSCRIPT), with the time taken from Redis, so app clocks do not matter.
 */
export class RedisStore implements RateLimitStore {
  readonly #client: WithCommands;
  readonly #now: (() => number) | undefined;
  /** the decisions of this tick waiting on a corked socket */
  #batch: { socket: CorkableSocket; size: number } | undefined;

  /** `now`: a test clock, ms; without it (always, outside tests) the time is Redis's own `TIME` */
  constructor(options: { client: RedisLike; now?: () => number }) {
    const client = options?.client;
    if (!client || typeof client.defineCommand !== "function") {
      throw new TypeError("redisStore: `client` must be an ioredis Redis or Cluster instance");
    }
    this.#client = client as WithCommands;
    this.#now = options.now;
    if (typeof this.#client[ADJUST] !== "function") client.defineCommand(ADJUST, { lua: ADJUST_SCRIPT });
  }

  /**
   * The Lua script this store runs to acquire for `rules` (one per shape of rule list: each rule's
   * algorithm, whole or fractional counts and number of alert thresholds), e.g. to load it with SCRIPT
   * LOAD or run it under redis-benchmark. Its header says what KEYS and ARGV hold.
   */
  static acquireScript(rules: readonly StoreRule[]): string {
    return acquireScript(rules);
  }

  async acquire(base: string[], rules: StoreRule[], costs: number[]): Promise<AcquireResult> {
    const t = templateFor(rules, false);
    // one script per shape of rule list, defined on the client the first time a limiter of that shape acquires
    if (typeof this.#client[t.command] !== "function")
      this.#client.defineCommand(t.command, { lua: acquireScript(rules) });
    const reply = (await this.#call(t.command, args(t, this.#now, base, rules, costs))) as unknown[];
    if (!reply[0])
      return refused(Number(reply[1]) - 1, Number(reply[2]), reply[3] == null ? undefined : Number(reply[3]));
    const result = admitted();
    let i = 1;
    for (let r = 0; r < rules.length; r++, i += 3) {
      result.remaining.push(Number(reply[i]));
      result.resetMs.push(Number(reply[i + 1]));
      result.windows.push(Number(reply[i + 2]));
    }
    result.alerts = pairs(reply, i);
    return result;
  }

  async adjust(
    base: string[],
    rules: StoreRule[],
    deltas: number[],
    windows: number[],
    spent: number[],
  ): Promise<Array<[number, number]>> {
    const t = templateFor(rules, true);
    return pairs((await this.#call(t.command, args(t, this.#now, base, rules, deltas, windows, spent))) as unknown[]);
  }

  #call(command: string, argv: Array<string | number>): Promise<unknown> {
    this.#cork();
    return (this.#client[command] as (...a: unknown[]) => Promise<unknown>).apply(this.#client, argv);
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
