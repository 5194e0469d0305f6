// bench/otel-overhead.ts's comparison with the machine's drift taken out: native-tracing workers and Ballast
// workers stay up for the whole run and take turns, a slice of calls (or streams) each, which of the two goes
// first alternating. There are --processes of each, used in turn: one process's steady state differs from the
// next one's by a few per cent, as much as the difference measured here (six identical natively traced
// processes taking turns: medians of 383 to 429 µs of main-thread CPU per call), so three a side left a few per
// cent of it in the ratio. The client is on core 0 and claude-mock on core 1 (where `taskset` exists), so a
// slice has a core to itself as in bench/otel-overhead.ts; each pair of slices meets the same machine, which on
// a shared host moves by more than the difference measured here. Prints the pooled throughput ratio (all of
// Ballast's slices against all of native's), the median of the slice pairs' ratios, and the main thread's CPU µs
// per call. Each worker first runs --warmup calls and a tenth as many streams, unmeasured.
//   node bench/otel-overhead-interleaved.ts [--slices 30] [--calls 4000] [--streams 400] [--warmup 4000]
//     [--processes 6]

import { counts } from "./args.ts";
import { type Slice, serveWorker, startMock, turnOrder } from "./otel-processes.ts";
import { median } from "./stats.ts";

const values = counts({ slices: 30, calls: 4000, streams: 400, warmup: 4000, processes: 6 });
const { slices, processes, warmup: warm } = values;
const mock = await startMock({ pinned: true });
const workers = (mode: string) => Array.from({ length: processes }, () => serveWorker(mode, mock.url));
const native = workers("native");
const ballast = workers("ballast");
for (const w of [...native, ...ballast]) {
  await w.run("call", warm);
  await w.run("stream", Math.ceil(warm / 10));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
console.log(
  `otel-overhead-interleaved: node ${process.version}, ${slices} slice pairs per measure, ${processes} processes each, ${warm} calls of warm-up`,
);
console.log("| measure | native | ballast | ballast / native, pooled | median of slice pairs |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [kind, n, label] of [
  ["call", values.calls, "non-streaming calls"],
  ["stream", values.streams, "streams"],
] as const) {
  const runs: Record<"native" | "ballast", Slice[]> = { native: [], ballast: [] };
  for (let i = 0; i < slices; i++) {
    for (const mode of turnOrder(i))
      runs[mode].push(await (mode === "native" ? native : ballast)[i % processes]!.run(kind, n));
  }
  // pooled: the slices' total time, so a slow slice weighs as much as its length
  const perSec = (s: Slice[]) => (n * s.length) / sum(s.map((x) => n / x.perSec));
  const mainUs = (s: Slice[]) => sum(s.map((x) => x.mainUs)) / s.length;
  const pairs = runs.ballast.map((b, i) => b.perSec / runs.native[i]!.perSec);
  console.log(
    `| ${label}/s | ${perSec(runs.native).toFixed(0)} | ${perSec(runs.ballast).toFixed(0)} | ${(perSec(runs.ballast) / perSec(runs.native)).toFixed(3)} | ${median(pairs).toFixed(3)} |`,
  );
  console.log(
    `| main-thread CPU µs per ${kind} | ${mainUs(runs.native).toFixed(0)} | ${mainUs(runs.ballast).toFixed(0)} | ${(mainUs(runs.ballast) / mainUs(runs.native)).toFixed(3)} | |`,
  );
}
for (const w of [...native, ...ballast]) w.stop();
mock.stop();
