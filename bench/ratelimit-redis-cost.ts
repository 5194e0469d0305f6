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
import { findBinary, freePort, redisArgs } from "@ballast/test-services";
import { Redis } from "ioredis";
import { counts } from "./args.ts";
import { type Contenders, contenders } from "./ratelimit-contenders.ts";

const { decisions: N } = counts({ decisions: 300 });

const valgrind = findBinary("valgrind");
const redisServer = findBinary("redis-server");
if (!valgrind || !redisServer) {
  console.log("ratelimit-redis-cost: needs valgrind and redis-server on PATH (apt-get install valgrind redis-server)");
  process.exit(0);
}

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
const figures = { b1: 0, f1: 0, b3: 0, f3: 0 };
for (const name of Object.keys(names) as Array<keyof Contenders>) {
  figures[name] = await measure(name);
  console.log(`| ${names[name]} | ${figures[name].toFixed(0)} |`);
}
console.log(
  `| ballast / rate-limiter-flexible: one rule ${(figures.b1 / figures.f1).toFixed(2)}, three rules ${(figures.b3 / figures.f3).toFixed(2)} | |`,
);
