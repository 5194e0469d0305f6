// What @ballast/otel-claude and the records it makes add to a call's main-thread CPU, over HTTP against
// claude-mock (zero latency, on core 1 where it can be pinned), from bench/otel-overhead-ab-worker.ts: in each of
// several processes, the configurations switched between interleaved batches, so that the machine's drift, which
// moves whole processes, cancels out; each figure is the median over processes of each process's median paired
// difference, with the range over processes. Several processes, because the same build's difference moves by up
// to ±5 µs from one process to the next (V8's code and inlining differ per process), far more than within one.
// Batches are long because a scavenge stops the main thread for ~15 ms every few hundred calls, which 2,000-call
// batches did not average out. "The contract alone" is bench/contract-floor.ts: what TELEMETRY.md asks of every
// call through the OTel SDKs, made as cheaply as the bench can, with none of Ballast's bookkeeping.
//   node bench/otel-overhead-ab.ts [--processes 3] [--rounds 8] [--calls 4000] [--streams 800]   (5 min)
import { counts } from "./args.ts";
import { runWorker, startMock } from "./otel-processes.ts";
import { median } from "./stats.ts";

const { processes, rounds, calls, streams } = counts({ processes: 3, rounds: 8, calls: 4000, streams: 800 });
interface Kind {
  native: number[];
  differences: number[][];
}
interface Result {
  pairs: [string, string][];
  calls: Kind;
  streams: Kind;
}

const mock = await startMock({ pinned: true });
const results: Result[] = [];
for (let i = 0; i < processes; i++) {
  results.push(
    await runWorker<Result>([mock.url, String(rounds), String(calls), String(streams)], {
      pinned: true,
      script: "./otel-overhead-ab-worker.ts",
    }),
  );
}
mock.stop();

const LABELS: Record<string, string> = {
  "ballast − native": "what Ballast adds to a natively traced call",
  "ballast − no log SDK": "of which the logs SDK making the log record",
  "ballast − no metrics": "of which the metrics SDK aggregating the histogram points",
  "contract alone − native": "the contract alone, without Ballast (bench/contract-floor.ts)",
};
const signed = (x: number) => `${x < 0 ? "−" : "+"}${Math.abs(x).toFixed(1)}`;
/** The median over processes of `of(process)`, and their range. */
function acrossProcesses(of: (r: Result) => number, format: (x: number) => string): string {
  const each = results.map(of);
  return `${format(median(each))} (${format(Math.min(...each))} to ${format(Math.max(...each))})`;
}

console.log(
  `otel-overhead-ab: node ${process.version}, ${processes} processes × ${rounds} rounds of ${calls} calls and ${streams} streams per batch, main-thread CPU µs (median over processes of each one's median paired difference; range over processes)`,
);
console.log("| per call | non-streaming call | stream |");
console.log("| --- | ---: | ---: |");
const kinds = ["calls", "streams"] as const;
const nativeCells = kinds.map((k) =>
  acrossProcesses(
    (r) => median(r[k].native),
    (x) => x.toFixed(1),
  ),
);
console.log(`| natively traced call, µs | ${nativeCells.join(" | ")} |`);
const pairs = results[0]!.pairs;
pairs.forEach(([a, b], i) => {
  const cells = kinds.map((k) => acrossProcesses((r) => median(r[k].differences[i]!), signed));
  console.log(`| ${LABELS[`${a} − ${b}`] ?? `${a} − ${b}`} | ${cells.join(" | ")} |`);
});
// native ÷ (native + what a configuration adds), per process
const ratio = (k: (typeof kinds)[number], i: number) => (r: Result) => {
  const native = median(r[k].native);
  return native / (native + median(r[k].differences[i]!));
};
const ballastPair = pairs.findIndex(([a, b]) => a === "ballast" && b === "native");
const floorPair = pairs.findIndex(([a]) => a === "contract alone");
for (const [label, i] of [
  ["native ÷ ballast", ballastPair],
  ["native ÷ the contract alone", floorPair],
] as const) {
  console.log(
    `main-thread CPU, ${label}: ${kinds.map((k) => `${k} ${acrossProcesses(ratio(k, i), (x) => x.toFixed(3))}`).join(", ")}`,
  );
}
