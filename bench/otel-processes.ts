// The child processes of the otel-overhead benches: claude-mock at zero latency, and otel-overhead-worker.ts
// configurations (OTel globals are per process).
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import os from "node:os";
import { createInterface } from "node:readline";

const here = (file: string) => new URL(file, import.meta.url).pathname;

// With two cores or more and `taskset` (util-linux) at hand, `pinned` puts a process on one core: the client
// under test on core 0, the mock on core 1, so that neither waits for the other's core.
const canPin = os.availableParallelism() >= 2 && spawnSync("taskset", ["-c", "0", "true"]).status === 0;
function command(args: string[], core: number | undefined): [string, string[]] {
  return core !== undefined && canPin
    ? ["taskset", ["-c", String(core), process.execPath, ...args]]
    : [process.execPath, args];
}

/** claude-mock in its own process (on core 1 with `pinned`); `stop()` ends it. */
export async function startMock(options: { pinned?: boolean } = {}): Promise<{ url: string; stop: () => void }> {
  const [cmd, args] = command([here("./mock-server.ts")], options.pinned ? 1 : undefined);
  const server = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = (await once(server.stdout, "data")) as [Buffer];
  const { url } = JSON.parse(line.toString()) as { url: string };
  return { url, stop: () => server.stdin.end() };
}

/**
 * Runs one worker, otel-overhead-worker.ts (`args`: mode, mock URL, calls, streams[, heap calls]) or `script`, and
 * returns its figures: the JSON of its last line. With `pinned`, on core 0.
 */
export async function runWorker<T = Record<string, number>>(
  args: string[],
  options: { pinned?: boolean; script?: string } = {},
): Promise<T> {
  const [cmd, argv] = command(
    ["--expose-gc", here(options.script ?? "./otel-overhead-worker.ts"), ...args],
    options.pinned ? 0 : undefined,
  );
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  const [code] = (await once(child, "exit")) as [number];
  if (code !== 0) throw new Error(`${args[0]} worker exited ${code}`);
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
}

export interface Slice {
  perSec: number;
  cpuUs: number;
  mainUs: number;
}

/** A worker that stays up (on core 0) and runs one slice of calls or streams per `run`; `stop()` ends it. */
export function serveWorker(
  mode: string,
  url: string,
): { run: (kind: "call" | "stream", n: number) => Promise<Slice>; stop: () => void } {
  const [cmd, args] = command([here("./otel-overhead-worker.ts"), mode, url, "serve"], 0);
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    run: async (kind, n) => {
      child.stdin.write(`${JSON.stringify({ kind, n })}\n`);
      const { value, done } = await lines.next();
      if (done) throw new Error(`${mode} worker ended`);
      return JSON.parse(value) as Slice;
    },
    stop: () => child.stdin.end(),
  };
}

/** Which of the two configurations goes first in turn `i`: they alternate, so neither always meets a warmer machine. */
export function turnOrder(i: number): readonly ["native", "ballast"] | readonly ["ballast", "native"] {
  return i % 2 === 0 ? (["native", "ballast"] as const) : (["ballast", "native"] as const);
}
