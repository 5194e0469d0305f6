// bench/otel-overhead.ts's workers run side by side instead of one after the other: native tracing and
// Ballast at the same time, each against its own claude-mock, which of the two starts first alternating.
// Both then meet the same machine, so the machine's drift (it moves by more than the difference measured
// here) cancels out of each pair. The four processes share the cores, so the mock's CPU per call is in
// both figures and the ratio is nearer 1 than bench/otel-overhead.ts's, where the client has a core to
// itself: a figure for comparing two versions of otel-claude, not for the target.
//   node bench/otel-overhead-paired.ts [--calls 20000] [--streams 2000] [--rounds 6]
import { parseArgs } from "node:util";
import { runWorker, startMock } from "./otel-processes.ts";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "20000" },
    streams: { type: "string", default: "2000" },
    rounds: { type: "string", default: "6" },
  },
});
for (const [k, v] of Object.entries(values)) {
  if (!(Number.isInteger(Number(v)) && Number(v) >= 1)) throw new Error(`--${k} must be an integer ≥ 1; got ${v}`);
}
const mocks = [await startMock(), await startMock()];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
// Calls and streams in separate pairs: a pair's two workers would otherwise reach their streams at
// different times, one still making calls while the other streams.
const phases = [
  ["calls/s", "callsPerSec", values.calls!, "1"],
  ["streams/s", "streamsPerSec", "1", values.streams!],
] as const;
console.log(`otel-overhead-paired: node ${process.version}, ${values.rounds} pairs per measure`);
console.log("| measure | ballast / native (median) | pairs |");
console.log("| --- | ---: | --- |");
for (const [label, key, calls, streams] of phases) {
  const ratios: number[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    // the first started and the mock each gets change every round
    const order = round % 2 === 0 ? ["native", "ballast"] : ["ballast", "native"];
    const runs = new Map(order.map((mode, i) => [mode, runWorker([mode, mocks[i]!.url, calls, streams])]));
    const [native, ballast] = await Promise.all([runs.get("native")!, runs.get("ballast")!]);
    ratios.push((ballast[key] ?? 0) / (native[key] ?? 1));
  }
  console.log(`| ${label} | ${median(ratios).toFixed(3)} | ${ratios.map((r) => r.toFixed(3)).join(" ")} |`);
}
for (const m of mocks) m.stop();
