// Redis's own work per rate-limit decision, as instructions counted by callgrind inside EVALSHA:
// @ballast/ratelimit's script against rate-limiter-flexible's (one rule; three rules vs RateLimiterUnion),
// each through its real client library against a redis-server run under valgrind. Instruction counts
// do not drift with the machine's load the way timings do, so this is the figure to compare runs by.
// Redis is single-threaded and shared by every app process: its CPU per decision bounds the fleet.
//   node bench/ratelimit-redis-cost.ts [--decisions 300]
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createRateLimiter, redisStore } from "@ballast/ratelimit";
import { findBinary, freePort, redisArgs } from "@ballast/test-services";
import { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterUnion } from "rate-limiter-flexible";

const { values } = parseArgs({ options: { decisions: { type: "string", default: "300" } } });
const N = Number(values.decisions);
if (!(Number.isInteger(N) && N > 0)) throw new Error("--decisions must be an integer ≥ 1");

const valgrind = findBinary("valgrind");
const redisServer = findBinary("redis-server");
if (!valgrind || !redisServer) {
  console.log("ratelimit-redis-cost: needs valgrind and redis-server on PATH (apt-get install valgrind redis-server)");
  process.exit(0);
}

const big = 1e12; // every decision an allow
const key = (i: number) => `user_${i % 10}`;
type Contender = (client: Redis) => (i: number) => Promise<unknown>;
const contenders: Record<string, Contender> = {
  "ballast, one rule": (client) => {
    const l = createRateLimiter({
      name: "b1",
      store: redisStore({ client }),
      rules: [{ name: "r", limit: big, window: "1m" }],
    });
    return (i) => l.acquire(key(i));
  },
  "rate-limiter-flexible, one rule": (client) => {
    const l = new RateLimiterRedis({ storeClient: client, keyPrefix: "f1", points: big, duration: 60 });
    return (i) => l.consume(key(i));
  },
  "ballast, three rules": (client) => {
    const l = createRateLimiter({
      name: "b3",
      store: redisStore({ client }),
      rules: [
        { name: "requests", limit: big, window: "1m" },
        { name: "input_tokens", limit: big, window: "1m", measure: "input_tokens" },
        { name: "daily_tokens", limit: big, window: "1d", measure: "tokens" },
      ],
    });
    return (i) => l.acquire(key(i), { inputTokens: 100, maxTokens: 100 });
  },
  "rate-limiter-flexible, three rules (RateLimiterUnion)": (client) => {
    const rlf = (keyPrefix: string, duration: number) =>
      new RateLimiterRedis({ storeClient: client, keyPrefix, points: big, duration });
    const u = new RateLimiterUnion(rlf("u1", 60), rlf("u2", 60), rlf("u3", 86_400));
    return (i) => u.consume(key(i));
  },
};

/** Instructions Redis spent in EVALSHA per decision, with `decisions` made one at a time. */
async function measure(make: Contender): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "ballast-cg-"));
  const port = await freePort();
  const out = join(dir, "callgrind.out");
  const server = spawn(
    valgrind as string,
    [
      "--tool=callgrind",
      `--callgrind-out-file=${out}`,
      "--toggle-collect=evalShaCommand",
      redisServer as string,
      ...redisArgs(port, dir),
    ],
    { stdio: "ignore" },
  );
  const exited = once(server, "exit");
  const client = new Redis({ port, host: "127.0.0.1", retryStrategy: () => 200, maxRetriesPerRequest: null });
  client.on("error", () => {});
  await client.ping(); // retried until valgrind's Redis answers
  const decide = make(client);
  await decide(0); // loads the script (EVAL, not counted) and creates the keys
  for (let i = 1; i <= N; i++) await decide(i);
  client.call("SHUTDOWN", "NOSAVE").catch(() => {});
  await exited;
  client.disconnect();
  const annotate = spawnSync("callgrind_annotate", [out], { encoding: "utf8", maxBuffer: 1 << 26 });
  rmSync(dir, { recursive: true, force: true });
  const total = /([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/.exec(annotate.stdout)?.[1];
  if (!total) throw new Error(`callgrind_annotate gave no totals: ${annotate.stderr}`);
  return Number(total.replaceAll(",", "")) / N;
}

console.log(`ratelimit-redis-cost: ${N} decisions each, one at a time, Redis under callgrind`);
console.log("| Redis instructions per decision (in EVALSHA) | count |");
console.log("| --- | ---: |");
const figures: Record<string, number> = {};
for (const [name, make] of Object.entries(contenders)) {
  figures[name] = await measure(make);
  console.log(`| ${name} | ${figures[name].toFixed(0)} |`);
}
const ratio = (a: string, b: string) => ((figures[a] ?? 0) / (figures[b] ?? 1)).toFixed(2);
console.log(
  `| ballast / rate-limiter-flexible: one rule ${ratio("ballast, one rule", "rate-limiter-flexible, one rule")}, three rules ${ratio("ballast, three rules", "rate-limiter-flexible, three rules (RateLimiterUnion)")} | |`,
);
