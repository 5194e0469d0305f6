// The child processes of bench/otel-overhead.ts and bench/otel-overhead-paired.ts: claude-mock at zero
// latency, and one otel-overhead-worker.ts configuration (OTel globals are per process).
import { spawn } from "node:child_process";
import { once } from "node:events";

const here = (file: string) => new URL(file, import.meta.url).pathname;

/** claude-mock in its own process; `stop()` ends it. */
export async function startMock(): Promise<{ url: string; stop: () => void }> {
  const server = spawn(process.execPath, [here("./mock-server.ts")], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = (await once(server.stdout, "data")) as [Buffer];
  const { url } = JSON.parse(line.toString()) as { url: string };
  return { url, stop: () => server.stdin.end() };
}

/** Runs one worker (`args`: mode, mock URL, calls, streams[, heap calls]) and returns its figures. */
export async function runWorker(args: string[]): Promise<Record<string, number>> {
  const child = spawn(process.execPath, ["--expose-gc", here("./otel-overhead-worker.ts"), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  const [code] = (await once(child, "exit")) as [number];
  if (code !== 0) throw new Error(`${args[0]} worker exited ${code}`);
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
}
