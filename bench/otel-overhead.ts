// What @ballast/otel-claude costs a Claude call: the real SDK against claude-mock (zero latency, in its
// own process) three ways, each in a fresh process (warmed up with 500 calls and 100 streams, unmeasured),
// rounds interleaved, medians reported:
//   none    — no OpenTelemetry SDK
//   native  — an OTel SDK registered: the SDK's own span per call (≥ 0.134)
//   ballast — the same plus ClaudeInstrumentation + ClaudeSpanProcessor + metrics + log records
//   contract — native plus bench/contract-floor.ts: what TELEMETRY.md asks per call (six span attributes, three
//              histogram points, the log record) with none of Ballast's code, the least any implementation pays
// Target: ballast ≥ 95% of native. Heap after --heap-calls (100k) within 5 MB of the heap after 10k.
// bench/otel-overhead-interleaved.ts makes the same comparison with the machine's drift taken out.
//   node bench/otel-overhead.ts [--calls 20000] [--streams 2000] [--rounds 5] [--heap-calls 100000]
import { VERSION as SDK_VERSION } from "@anthropic-ai/sdk/version";
import { counts } from "./args.ts";
import { runWorker, startMock } from "./otel-processes.ts";
import { median } from "./stats.ts";

const values = counts({ calls: 20000, streams: 2000, rounds: 5, "heap-calls": 100000 });
const mock = await startMock();
const worker = (mode: string, extra: string[] = []) =>
  runWorker([mode, mock.url, String(values.calls), String(values.streams), ...extra]);

const modes = ["none", "native", "ballast", "contract", "traceloop", "openinference"] as const;
const runs: Record<string, Array<Record<string, number>>> = Object.fromEntries(modes.map((mode) => [mode, []]));
for (let round = 0; round < values.rounds; round++) {
  const order = round % 2 === 0 ? modes : [...modes].reverse();
  for (const mode of order) runs[mode]!.push(await worker(mode));
}
const heap = await worker("ballast", [String(values["heap-calls"])]);
mock.stop();

const m = (mode: string, key: string) => median(runs[mode]!.map((r) => r[key] ?? 0));
console.log(
  `otel-overhead: node ${process.version}, ${values.calls} calls + ${values.streams} streams per run, ${values.rounds} rounds`,
);
console.log(
  "| measure | none | native tracing | ballast | ballast / native | target | contract alone | contract / native | traceloop 0.27 | openinference 0.2.8 |",
);
console.log("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |");
const rows = [
  ["callsPerSec", "non-streaming calls/s", "≥ 0.95", 0],
  ["streamsPerSec", "streams/s", "≥ 0.95", 0],
  ["callCpuUs", "client CPU µs per non-streaming call", "", 0],
  ["callMainUs", "client main-thread CPU µs per non-streaming call", "", 0],
  ["streamCpuUs", "client CPU µs per stream", "", 0],
  ["streamMainUs", "client main-thread CPU µs per stream", "", 0],
  ["spansPerCall", "spans per call", "1", 2],
] as const;
// A peer that could not patch this SDK version measures nothing of its own: say so instead of a figure.
const peer = (mode: string, figure: string) =>
  runs[mode]?.some((r) => r.instrumented === 0) ? `does not instrument SDK ${SDK_VERSION}` : figure;
for (const [key, label, target, digits] of rows) {
  const f = (mode: string) => m(mode, key).toFixed(digits);
  const ratio = (mode: string) => (key === "spansPerCall" ? "" : (m(mode, key) / m("native", key)).toFixed(3));
  console.log(
    `| ${label} | ${f("none")} | ${f("native")} | ${f("ballast")} | ${ratio("ballast")} | ${target} | ${f("contract")} | ${ratio("contract")} | ${peer("traceloop", f("traceloop"))} | ${peer("openinference", f("openinference"))} |`,
  );
}
const growth = ((heap.heapAtEnd ?? 0) - (heap.heapAt10k ?? 0)) / 1024 / 1024;
console.log(
  `| heap growth 10k → ${values["heap-calls"]} calls (ballast) | | | ${growth.toFixed(2)} MB | | ≤ 5 MB | | | | |`,
);
// Native and Ballast run back to back in every round (the order alternates; the contract one run further
// off): a round's own ratio leaves out the machine's drift between rounds, which the medians above do not.
for (const [key, label] of [
  ["callsPerSec", "calls/s"],
  ["streamsPerSec", "streams/s"],
] as const) {
  for (const mode of ["ballast", "contract"]) {
    const ratios = runs[mode]!.map((r, i) => (r[key] ?? 0) / (runs.native![i]![key] ?? 1));
    console.log(
      `${mode} / native ${label} per round: ${ratios.map((x) => x.toFixed(3)).join(" ")} (median ${median(ratios).toFixed(3)})`,
    );
  }
}
