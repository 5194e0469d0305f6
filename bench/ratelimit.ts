// @ballast/ratelimit against rate-limiter-flexible, on a real Redis:
// 1. Decisions per second over one Redis connection: Ballast (one Lua round trip for all rules) vs
//    RateLimiterRedis (three rules through RateLimiterUnion), with redis-benchmark running Ballast's own
//    script as the ceiling; the CPU a decision costs the client and Redis; memoryStore decisions/s in
//    process. Targets: one rule ≥ rate-limiter-flexible; three rules ≥ 2× its union; ≥ 70% of the
//    ceiling; memoryStore ≥ 1M single-rule decisions/s. Rounds interleaved, medians reported.
// 2. Redis's own work per decision, as instructions counted by callgrind inside EVALSHA (needs valgrind):
//    counts do not drift with the machine's load the way timings do. Redis is single-threaded and shared
//    by every app process, so its work per decision is what bounds a fleet.
// Limits are high enough that every decision is an allow: the cost of deciding, not of refusing.
//   node bench/ratelimit.ts [--decisions 20000] [--concurrency 64] [--rounds 5] [--callgrind-decisions 300]
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore, RedisStore } from "@ballast/ratelimit";
import { findBinary, freePort, redisArgs, startRedis } from "@ballast/test-services";
import { Redis } from "ioredis";
import { type Contenders, contenders } from "./lib/contenders.ts";
import { counts, median } from "./lib/shared.ts";

const {
  decisions: N,
  concurrency: C,
  rounds: ROUNDS,
  "callgrind-decisions": CALLGRIND_N,
} = counts({
  decisions: 20000,
  concurrency: 64,
  rounds: 5,
  "callgrind-decisions": 300,
});

// Part 1: decisions per second.
const redis = await startRedis();
const client = new Redis(redis.url);

/** Redis's own CPU time in scripts (EVALSHA, EVAL) since the last call, in µs. */
async function scriptUsec(): Promise<number> {
  const info = (await client.info("commandstats")) as string;
  await client.config("RESETSTAT");
  return [...info.matchAll(/cmdstat_eval(?:sha)?:calls=\d+,usec=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** The Redis process's CPU time (every command, parsing and networking included) since it started, in µs. */
async function redisCpuUs(): Promise<number> {
  const info = (await client.info("cpu")) as string;
  const seconds = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1e6;
}

/**
 * Decisions per second; Redis µs per decision in scripts; and CPU µs per decision of this process
 * and of the Redis process, whose sum is what bounds throughput when the two share too few cores.
 */
async function rate(decide: (i: number) => Promise<unknown>): Promise<[number, number, number, number]> {
  await scriptUsec();
  const redisBefore = await redisCpuUs();
  const cpu = process.cpuUsage();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) await decide(next++);
    }),
  );
  const perSecond = N / ((performance.now() - started) / 1000);
  const used = process.cpuUsage(cpu);
  const redisUsed = (await redisCpuUs()) - redisBefore;
  return [perSecond, (await scriptUsec()) / N, (used.user + used.system) / N, redisUsed / N];
}

const big = 1e12; // as the contenders' limits: every decision an allow
const decide = contenders(client, 100);
type Name = keyof Contenders;
const runs: Record<Name, Array<[number, number, number, number]>> = { b1: [], f1: [], b3: [], f3: [] };
const ceilings: number[] = [];
// The ceiling: redis-benchmark calling the same script (one rule, one key) over one connection, C
// commands pipelined, with no client library at all; measured in every round, beside the contenders.
const benchmarkBin = findBinary("redis-benchmark");
const ceilingSha = (await client.script(
  "LOAD",
  RedisStore.acquireScript([{ algorithm: "sliding", limit: big, windowMs: 60_000, alertAt: [] }]),
)) as string;
function ceilingRate(): number {
  if (!benchmarkBin) return Number.NaN;
  const idx = Math.floor(Date.now() / 60_000); // the window, as redisStore names its keys
  const out = execFileSync(
    benchmarkBin,
    [
      "-h",
      "127.0.0.1",
      "-p",
      String(redis.port),
      "-n",
      String(N * 2),
      "-c",
      "1",
      "-P",
      String(C),
      "-q",
      "EVALSHA",
      ceilingSha,
      "2",
      `ballast:{ceiling:u}:requests:${idx}`,
      `ballast:{ceiling:u}:requests:${idx - 1}`,
      String(big),
      "0.5", // how much of the last window still counts
      "120000",
    ],
    { encoding: "utf8" },
  );
  return Number(/([\d.]+) requests per second/.exec(out)?.[1]);
}

for (const name of Object.keys(decide) as Name[]) await rate(decide[name]); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  const order = Object.keys(decide) as Name[];
  for (const name of round % 2 ? order.reverse() : order) runs[name].push(await rate(decide[name]));
  ceilings.push(ceilingRate());
}
const ceiling = median(ceilings);
const perSecond = (name: Name) => median(runs[name].map((r) => r[0]));
const redisUs = (name: Name) => median(runs[name].map((r) => r[1]));
const clientCpu = (name: Name) => median(runs[name].map((r) => r[2]));
const redisCpu = (name: Name) => median(runs[name].map((r) => r[3]));
const rows: Array<[string, Name, Name, string]> = [
  ["one rule", "b1", "f1", "≥ 1.0"],
  ["three rules", "b3", "f3", "≥ 2.0"],
];

const store = new MemoryStore();
const rule = [{ algorithm: "sliding" as const, limit: big, windowMs: 60_000, alertAt: [] }];
const keys = Array.from({ length: 100 }, (_, i) => [`m:${i}`]);
let started = performance.now();
for (let i = 0; i < 200_000; i++) store.acquireSync(keys[i % 100] as string[], rule, [1]);
started = performance.now();
const M = 1_000_000;
for (let i = 0; i < M; i++) store.acquireSync(keys[i % 100] as string[], rule, [1]);
const memory = M / ((performance.now() - started) / 1000);

console.log(
  `ratelimit: node ${process.version}, ${N} decisions, ${C} in flight, one Redis connection, median of ${ROUNDS} rounds`,
);
console.log("");
console.log(
  "| decisions/s | @ballast/ratelimit | rate-limiter-flexible | ratio | target | Redis µs per decision: ballast | rate-limiter-flexible |",
);
console.log("| --- | ---: | ---: | ---: | --- | ---: | ---: |");
for (const [label, b, f, target] of rows) {
  console.log(
    `| ${label} | ${perSecond(b).toFixed(0)} | ${perSecond(f).toFixed(0)} | ${(perSecond(b) / perSecond(f)).toFixed(2)} | ${target} | ${redisUs(b).toFixed(1)} | ${redisUs(f).toFixed(1)} |`,
  );
}
const one = perSecond("b1");
console.log(
  `| one rule vs redis-benchmark running the same script (ceiling) | ${one.toFixed(0)} | ${ceiling.toFixed(0)} | ${(one / ceiling).toFixed(2)} | ≥ 0.70 |`,
);
console.log(`| memoryStore, single rule, in process | ${memory.toFixed(0)} | | | ≥ 1,000,000 |`);
// Where each side's throughput would go on a busier machine: the CPU a decision costs both processes.
console.log("");
console.log(
  "| CPU µs per decision, client + Redis | @ballast/ratelimit | rate-limiter-flexible | ratio (flexible / ballast) |",
);
console.log("| --- | ---: | ---: | ---: |");
for (const [label, b, f] of rows) {
  const [cb, cf] = [clientCpu(b) + redisCpu(b), clientCpu(f) + redisCpu(f)];
  console.log(
    `| ${label} | ${clientCpu(b).toFixed(1)} + ${redisCpu(b).toFixed(1)} = ${cb.toFixed(1)} | ${clientCpu(f).toFixed(1)} + ${redisCpu(f).toFixed(1)} = ${cf.toFixed(1)} | ${(cf / cb).toFixed(2)} |`,
  );
}
client.disconnect();
await redis.stop();

// Part 2: Redis instructions per decision, under callgrind.
const valgrind = findBinary("valgrind");
const redisServer = findBinary("redis-server");

const names: Record<keyof Contenders, string> = {
  b1: "ballast, one rule",
  f1: "rate-limiter-flexible, one rule",
  b3: "ballast, three rules",
  f3: "rate-limiter-flexible, three rules (RateLimiterUnion)",
};

/** Instructions Redis spent in EVALSHA per decision, with `decisions` made one at a time. */
async function measure(name: keyof Contenders): Promise<number> {
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
  const decide = contenders(client, 10)[name];
  await decide(0); // loads the script (EVAL, not counted) and creates the keys
  for (let i = 1; i <= CALLGRIND_N; i++) await decide(i);
  client.call("SHUTDOWN", "NOSAVE").catch(() => {});
  await exited;
  client.disconnect();
  const annotate = spawnSync("callgrind_annotate", [out], { encoding: "utf8", maxBuffer: 1 << 26 });
  rmSync(dir, { recursive: true, force: true });
  const total = /([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/.exec(annotate.stdout)?.[1];
  if (!total) throw new Error(`callgrind_annotate gave no totals: ${annotate.stderr}`);
  return Number(total.replaceAll(",", "")) / CALLGRIND_N;
}

console.log("");
if (!valgrind || !redisServer) {
  console.log("Redis instructions per decision: not measured (needs valgrind and redis-server on PATH)");
} else {
  console.log(
    `Redis instructions per decision (in EVALSHA), ${CALLGRIND_N} decisions each, one at a time, Redis under callgrind`,
  );
  console.log("");
  console.log("| contender | instructions |");
  console.log("| --- | ---: |");
  const figures = { b1: 0, f1: 0, b3: 0, f3: 0 };
  for (const name of Object.keys(names) as Array<keyof Contenders>) {
    figures[name] = await measure(name);
    console.log(`| ${names[name]} | ${figures[name].toFixed(0)} |`);
  }
  console.log(
    `| ballast / rate-limiter-flexible | one rule ${(figures.b1 / figures.f1).toFixed(2)}, three rules ${(figures.b3 / figures.f3).toFixed(2)} |`,
  );
}
