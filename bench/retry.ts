// What policy.execute adds around a call that succeeds at once: a tight loop of already-resolved
// functions, bare and through the policy, interleaved rounds, medians. Target: < 2 µs added per call.
//   node bench/retry.ts [--calls 200000] [--rounds 7]
import { retryPolicy } from "@ballast/retry";
import { counts, median, row } from "./lib/shared.ts";

const { calls: CALLS, rounds: ROUNDS } = counts({ calls: 200000, rounds: 7 });

const policy = retryPolicy({ fallbackModels: ["claude-haiku-4-5"] });
const work = async () => 42;
const bare = async () => {
  for (let i = 0; i < CALLS; i++) await work();
};
const wrapped = async () => {
  for (let i = 0; i < CALLS; i++) await policy.execute(work, { model: "claude-opus-4-8" });
};
const time = async (fn: () => Promise<void>) => {
  const t = performance.now();
  await fn();
  return ((performance.now() - t) * 1000) / CALLS; // µs per call
};

await bare();
await wrapped();
const runs = { bare: [] as number[], policy: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  for (const which of r % 2 ? (["policy", "bare"] as const) : (["bare", "policy"] as const)) {
    runs[which].push(await time(which === "bare" ? bare : wrapped));
  }
}
const [b, p] = [median(runs.bare), median(runs.policy)];
console.log(`retry: node ${process.version}, ${CALLS} calls × ${ROUNDS} rounds`);
console.log("");
console.log(row("measure", "bare call", "through policy.execute", "added", "target"));
console.log(row("---", "---:", "---:", "---:", "---"));
console.log(row("µs per call", b.toFixed(3), p.toFixed(3), (p - b).toFixed(3), "< 2 µs added"));
