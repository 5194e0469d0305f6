// `pnpm bench`: runs every benchmark in this folder, one after another, and writes RESULTS.md with
// the machine, the Node version, the date and each script's table (every figure next to its baseline).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";

const SCRIPTS: Array<[string, string]> = [
  ["mock-throughput.ts", "claude-mock throughput (issue 2)"],
  [
    "otel-overhead.ts",
    "otel-claude overhead, with the contract alone, OpenLLMetry (Traceloop) and OpenInference (issue 3)",
  ],
  ["otel-overhead-interleaved.ts", "otel-claude overhead, native and Ballast workers taking turns (issue 3)"],
  ["otel-profile.ts", "otel-claude: where a call's main-thread CPU goes, by package (issue 3)"],
  ["otel-overhead-ab.ts", "otel-claude CPU per call, A/B within processes, by part, and the contract alone (issue 3)"],
  ["otel-cost.ts", "otel-claude CPU and allocation per call, network taken out"],
  ["retry-overhead.ts", "retry policy overhead (issue 4)"],
  ["ratelimit.ts", "rate limiter vs rate-limiter-flexible and the redis-benchmark ceiling (issue 5)"],
  ["ratelimit-redis-cost.ts", "Redis instructions per rate-limit decision, vs rate-limiter-flexible (issue 5)"],
];

const started = Date.now();
const sections: string[] = [];
for (const [script, title] of SCRIPTS) {
  process.stdout.write(`bench: ${script} … `);
  const t = Date.now();
  const run = spawnSync(process.execPath, [new URL(script, import.meta.url).pathname], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  const seconds = ((Date.now() - t) / 1000).toFixed(0);
  process.stdout.write(`${run.status === 0 ? "done" : `failed (${run.status})`} in ${seconds} s\n`);
  if (run.status !== 0) process.stdout.write(run.stderr);
  const notes = run.stderr.trim()
    ? `\n\nNotes from the run:\n\n${run.stderr
        .trim()
        .split("\n")
        .map((l) => `    ${l}`)
        .join("\n")}`
    : "";
  sections.push(`## ${title}\n\n\`node bench/${script}\` (${seconds} s)\n\n${run.stdout.trim()}${notes}\n`);
}
const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const header = [
  "# Benchmark results",
  "",
  `Written by \`pnpm bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}; ${((Date.now() - started) / 1000).toFixed(0)} s in all.`,
  "Every figure is measured in the same run as its baseline; single runs on this 2-core machine vary by about ±15%, so the scripts report medians of interleaved rounds.",
  "",
].join("\n");
writeFileSync(new URL("RESULTS.md", import.meta.url), `${header}\n${sections.join("\n")}`);
console.log(`bench: wrote bench/RESULTS.md in ${((Date.now() - started) / 1000).toFixed(0)} s`);
