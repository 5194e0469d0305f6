// `pnpm bench`: runs the bench of each package, one after another, and writes bench/RESULTS.md with the
// machine, the Node version, the date and each script's tables (every figure next to its baseline).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";

const SCRIPTS: Array<[string, string]> = [
  ["otel-claude.ts", "@ballast/otel-claude: what it adds to a call"],
  ["ratelimit.ts", "@ballast/ratelimit against rate-limiter-flexible"],
  ["ratelimit-fleet.ts", "@ballast/ratelimit at fleet scale: processes sharing one Redis, and a Redis Cluster"],
  ["retry.ts", "@ballast/retry: what a policy adds to a call"],
  ["claude-mock.ts", "@ballast/claude-mock: never the bottleneck"],
];

const started = Date.now();
const sections: string[] = [];
for (const [script, title] of SCRIPTS) {
  process.stdout.write(`bench: ${script} … `);
  const t = Date.now();
  const run = spawnSync(process.execPath, [new URL(`../${script}`, import.meta.url).pathname], {
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
  "Every figure is measured in the same run as its baseline, as medians of interleaved rounds; what each measures and its targets are in the header comment of its script.",
  "",
].join("\n");
writeFileSync(new URL("../RESULTS.md", import.meta.url), `${header}\n${sections.join("\n")}`);
console.log(`bench: wrote bench/RESULTS.md in ${((Date.now() - started) / 1000).toFixed(0)} s`);
