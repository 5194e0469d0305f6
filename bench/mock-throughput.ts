// claude-mock must never be the bottleneck of a benchmark: the real SDK's calls/s and streamed
// events/s against claude-mock (zero latency), as a ratio of the same client against a server
// that replays fixed bytes. Rounds alternate between the two; the median round counts.
//   node bench/mock-throughput.ts [--calls 4000] [--streams 1000] [--concurrency 16] [--rounds 5]
import { spawn } from "node:child_process";
import { once } from "node:events";
import Anthropic from "@anthropic-ai/sdk";
import { counts } from "./args.ts";
import { median } from "./stats.ts";

const {
  calls: CALLS,
  streams: STREAMS,
  concurrency: CONCURRENCY,
  rounds: ROUNDS,
} = counts({ calls: 4000, streams: 1000, concurrency: 16, rounds: 5 });

const request = {
  model: "claude-sonnet-4-6",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Where is my order? It was due on Monday." }],
};

const child = spawn(
  process.execPath,
  [
    ...(process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"] : []),
    new URL("./servers.ts", import.meta.url).pathname,
    JSON.stringify(request),
  ],
  {
    stdio: ["pipe", "pipe", "inherit"],
  },
);
const [line] = (await once(child.stdout, "data")) as [Buffer];
const urls = JSON.parse(line.toString()) as { mock: string; fixed: string };

async function pool(n: number, task: () => Promise<number>): Promise<number> {
  let next = 0;
  let units = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) {
        // not `units += await task()`: that reads `units` before the await and loses other workers' counts
        const done = await task();
        units += done;
      }
    }),
  );
  return units;
}

async function run(url: string, kind: "calls" | "events"): Promise<number> {
  const client = new Anthropic({ baseURL: url, apiKey: "sk-bench", maxRetries: 0 });
  const started = performance.now();
  const units =
    kind === "calls"
      ? await pool(CALLS, async () => {
          await client.messages.create(request);
          return 1;
        })
      : await pool(STREAMS, async () => {
          let events = 0;
          for await (const _ of await client.messages.create({ ...request, stream: true })) events++;
          return events;
        });
  return units / ((performance.now() - started) / 1000);
}

const results: Record<string, { mock: number[]; fixed: number[] }> = {
  calls: { mock: [], fixed: [] },
  events: { mock: [], fixed: [] },
};
for (const kind of ["calls", "events"] as const) {
  await run(urls.fixed, kind); // warm-up: JIT and keep-alive sockets
  await run(urls.mock, kind);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (["mock", "fixed"] as const) : (["fixed", "mock"] as const);
    for (const target of order) results[kind]![target].push(await run(urls[target], kind));
  }
}
child.stdin.end();

console.log(
  `mock-throughput: node ${process.version}, ${CALLS} calls / ${STREAMS} streams per round, concurrency ${CONCURRENCY}, ${ROUNDS} rounds`,
);
console.log("| measure | fixed-response server | claude-mock | ratio | target |");
console.log("| --- | ---: | ---: | ---: | --- |");
for (const [kind, unit] of [
  ["calls", "non-streaming calls/s"],
  ["events", "streamed events/s"],
] as const) {
  const fixed = median(results[kind]!.fixed);
  const mock = median(results[kind]!.mock);
  console.log(`| ${unit} | ${fixed.toFixed(0)} | ${mock.toFixed(0)} | ${(mock / fixed).toFixed(3)} | ≥ 0.90 |`);
}
