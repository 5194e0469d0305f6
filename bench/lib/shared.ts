// What the benches share: options, medians, a pool of calls in flight, exporters that drop everything,
// and running this same script again as a child process in another role.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { parseArgs } from "node:util";

/** `--name N` for each of `defaults`' names, parsed and checked; a bad value names the option and what it got. */
export function counts<K extends string>(defaults: Record<K, number>): Record<K, number> {
  const options = Object.fromEntries(
    Object.entries(defaults).map(([name, n]) => [name, { type: "string" as const, default: String(n) }]),
  );
  const { values } = parseArgs({ options });
  const out = {} as Record<K, number>;
  for (const [name, v] of Object.entries(values)) {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--${name} must be an integer ≥ 1; got ${v}`);
    out[name as K] = n;
  }
  return out;
}

/** The median of `xs` (the upper one of an even count); 0 for none. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Runs `n` tasks, `concurrency` at a time. */
export async function inFlight(n: number, task: () => Promise<unknown>, concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await task();
    }),
  );
}

/** An exporter that accepts and drops everything: the benches measure recording, not the network. */
export const drop = {
  export: (_items: unknown, done: (r: { code: number }) => void) => done({ code: 0 }),
  shutdown: async () => {},
  forceFlush: async () => {},
};

/** A table row in Markdown. */
export const row = (...cells: Array<string | number>) => `| ${cells.join(" | ")} |`;

const ROLE = "BALLAST_BENCH_ROLE";

/** The role this process was started in by `runChild` or `startChild` (undefined in the parent). */
export const role = process.env[ROLE];

/** Runs `script` again as a child in `role` and returns the JSON of its last line of output. */
export async function runChild<T>(script: string, childRole: string, nodeArgs: string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...nodeArgs, new URL(script).pathname], {
    env: { ...process.env, [ROLE]: childRole },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  const [code] = (await once(child, "exit")) as [number];
  if (code !== 0) throw new Error(`${childRole}: exited ${code}`);
  return JSON.parse(out.trim().split("\n").at(-1) ?? "null") as T;
}

/**
 * Starts `script` as a long-lived child in `role` (a server): returns the JSON of its first line and
 * `stop()`, which closes its stdin. The child calls `serveUntilStdinCloses(info)`.
 */
export async function startChild<T>(script: string, childRole: string): Promise<T & { stop: () => void }> {
  const child = spawn(process.execPath, [new URL(script).pathname], {
    env: { ...process.env, [ROLE]: childRole },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const [line] = (await once(child.stdout, "data")) as [Buffer];
  return { ...(JSON.parse(line.toString()) as T), stop: () => child.stdin.end() };
}

/** In a child `startChild` made: says `info` and stays up until the parent closes stdin. */
export function serveUntilStdinCloses(info: unknown): void {
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
