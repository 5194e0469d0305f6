// Where a call's client CPU goes, from V8's CPU profiler: the otel-overhead worker natively traced and with
// Ballast, over HTTP against claude-mock (client on core 0, mock on core 1), each run profiling its main
// thread for --calls calls after the worker's warm-up. Prints self time per call by package (medians of the
// runs, native and Ballast taking turns) and Ballast's direct share of the busy main thread: its own code
// (otel-claude, pricing) and the metrics and logs SDK work its records cause. On a shared host the speed of
// the machine moves by up to 2× within a minute, so throughput ratios scatter; a share of the same run's busy
// time scatters far less. It leaves out what Ballast costs indirectly (more GC, colder caches for the rest).
//   node bench/otel-profile.ts [--runs 3] [--calls 20000]

import { counts } from "./args.ts";
import { runWorker, startMock, turnOrder } from "./otel-processes.ts";
import { median } from "./stats.ts";

const { runs, calls } = counts({ runs: 3, calls: 20000 });

// Ballast's direct cost: its packages, and the SDKs that only its records use in these workers
const DIRECT = ["@ballast/otel-claude", "@ballast/pricing", "@opentelemetry/sdk-metrics", "@opentelemetry/sdk-logs"];

const mock = await startMock({ pinned: true });
const profiles: Record<"native" | "ballast", Record<string, number>[]> = { native: [], ballast: [] };
for (let i = 0; i < runs; i++) {
  for (const mode of turnOrder(i))
    profiles[mode].push(await runWorker([mode, mock.url, "profile", String(calls)], { pinned: true }));
}
mock.stop();

const at = (mode: "native" | "ballast", pkg: string) => median(profiles[mode].map((p) => p[pkg] ?? 0));
const busy = (p: Record<string, number>) =>
  Object.entries(p).reduce((sum, [pkg, us]) => (pkg === "(idle)" ? sum : sum + us), 0);
const direct = (p: Record<string, number>) => DIRECT.reduce((sum, pkg) => sum + (p[pkg] ?? 0), 0);

console.log(
  `otel-profile: node ${process.version}, ${calls} calls per run, ${runs} runs each, main-thread self time (medians)`,
);
console.log("| per non-streaming call | native tracing µs | share of busy | ballast µs | share of busy |");
console.log("| --- | ---: | ---: | ---: | ---: |");
const busyUs = { native: median(profiles.native.map(busy)), ballast: median(profiles.ballast.map(busy)) };
const cell = (mode: "native" | "ballast", us: number) =>
  `${us.toFixed(1)} | ${((100 * us) / busyUs[mode]).toFixed(1)}%`;
const packages = [...new Set(Object.values(profiles).flatMap((ps) => ps.flatMap(Object.keys)))]
  .map((pkg) => ({ pkg, native: at("native", pkg), ballast: at("ballast", pkg) }))
  .filter((row) => row.pkg !== "(idle)" && Math.max(row.native, row.ballast) >= 1)
  .sort((a, b) => b.ballast - a.ballast);
for (const { pkg, native, ballast } of packages)
  console.log(`| ${pkg} | ${cell("native", native)} | ${cell("ballast", ballast)} |`);
console.log(`| busy main thread | ${busyUs.native.toFixed(0)} | | ${busyUs.ballast.toFixed(0)} | |`);
const shares = profiles.ballast.map((p) => direct(p) / busy(p));
console.log(
  `Ballast's direct cost (${DIRECT.join(", ")}): ${median(profiles.ballast.map(direct)).toFixed(1)} µs per call, ` +
    `${(100 * median(shares)).toFixed(1)}% of the busy main thread (runs: ${shares.map((s) => `${(100 * s).toFixed(1)}%`).join(", ")})`,
);
