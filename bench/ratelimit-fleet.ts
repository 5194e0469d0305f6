// @ballast/ratelimit at fleet scale, against rate-limiter-flexible in the same set-up: decisions per second
// from several client processes at once (each its own connection and users), against one Redis and
// against a Redis Cluster of three masters, where the keys spread over the masters. Redis's work per
// decision is what caps a fleet (bench/ratelimit.ts counts it); this shows the fleet's throughput.
// On a machine with fewer cores than processes + Redis servers, every figure is bound by the CPU the
// processes share: read the ratios, not the absolute figures, and a Cluster cannot scale there.
//   node bench/ratelimit-fleet.ts [--processes 4] [--decisions 50000] [--concurrency 32] [--rounds 3]
import { setTimeout as sleep } from "node:timers/promises";
import { startRedis, startRedisCluster } from "@ballast/test-services";
import { Cluster, Redis } from "ioredis";
import { type Contenders, contenders } from "./lib/contenders.ts";
import { counts, median, role, runChild } from "./lib/shared.ts";

const {
  processes: P,
  decisions: N,
  concurrency: C,
  rounds: ROUNDS,
} = counts({ processes: 4, decisions: 50000, concurrency: 32, rounds: 3 });
type Name = keyof Contenders;

interface Job {
  redis?: string;
  cluster?: Array<{ host: string; port: number }>;
  contender: Name;
  index: number;
  /** epoch ms at which every process starts deciding */
  startAt: number;
}

if (role === "fleet-client") {
  const job = JSON.parse(process.env.BALLAST_FLEET_JOB as string) as Job;
  const client = job.cluster ? new Cluster(job.cluster) : new Redis(job.redis as string);
  const decide = contenders(client, 100, `p${job.index}_`)[job.contender];
  for (let i = 0; i < 200; i++) await decide(i); // scripts loaded, connections up, keys made
  await sleep(Math.max(0, job.startAt - Date.now()));
  const startedAt = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) await decide(next++);
    }),
  );
  const endedAt = Date.now();
  client.disconnect();
  console.log(JSON.stringify({ startedAt, endedAt }));
  process.exit(0);
}

/** Decisions per second of P processes deciding at once through `contender`. */
async function fleet(target: Pick<Job, "redis" | "cluster">, contender: Name): Promise<number> {
  const startAt = Date.now() + 4000; // time for every child to start and warm up
  const results = await Promise.all(
    Array.from({ length: P }, (_, index) => {
      process.env.BALLAST_FLEET_JOB = JSON.stringify({ ...target, contender, index, startAt });
      return runChild<{ startedAt: number; endedAt: number }>(import.meta.url, "fleet-client");
    }),
  );
  const late = Math.max(...results.map((r) => r.startedAt)) - startAt;
  if (late > 50) console.error(`${contender}: a client started ${late} ms late (a slow start-up): figures low`);
  return (P * N) / ((Math.max(...results.map((r) => r.endedAt)) - startAt) / 1000);
}

async function measure(target: Pick<Job, "redis" | "cluster">): Promise<Record<Name, number>> {
  const runs: Record<Name, number[]> = { b1: [], f1: [], b3: [], f3: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order: Name[] = ["b1", "f1", "b3", "f3"];
    for (const name of round % 2 ? order.reverse() : order) runs[name].push(await fleet(target, name));
  }
  return { b1: median(runs.b1), f1: median(runs.f1), b3: median(runs.b3), f3: median(runs.f3) };
}

const redis = await startRedis();
const single = await measure({ redis: redis.url });
await redis.stop();
const cluster = await startRedisCluster(3);
const spread = await measure({ cluster: cluster.nodes.map(({ host, port }) => ({ host, port })) });
await cluster.stop();

console.log(
  `ratelimit fleet: node ${process.version}, ${P} client processes × ${N} decisions, ${C} in flight each, median of ${ROUNDS} rounds`,
);
console.log("");
console.log(
  "| decisions/s, whole fleet | ballast, one rule | rate-limiter-flexible | ratio | ballast, three rules | rate-limiter-flexible (union) | ratio |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const [label, f] of [
  ["one Redis", single],
  ["Redis Cluster, 3 masters", spread],
] as const) {
  console.log(
    `| ${label} | ${f.b1.toFixed(0)} | ${f.f1.toFixed(0)} | ${(f.b1 / f.f1).toFixed(2)} | ${f.b3.toFixed(0)} | ${f.f3.toFixed(0)} | ${(f.b3 / f.f3).toFixed(2)} |`,
  );
}
console.log(
  `| Cluster / one Redis | ${(spread.b1 / single.b1).toFixed(2)} | ${(spread.f1 / single.f1).toFixed(2)} | | ${(spread.b3 / single.b3).toFixed(2)} | ${(spread.f3 / single.f3).toFixed(2)} | |`,
);
