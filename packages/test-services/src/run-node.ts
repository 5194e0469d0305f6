import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

export interface NodeProcess {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved */
  output(): string;
  /** resolves when `text` has been printed, rejects if the process ends or `timeoutMs` passes first */
  printed(text: string, timeoutMs?: number): Promise<void>;
  exited: Promise<[code: number | null, signal: NodeJS.Signals | null]>;
}

/** Starts `node <args>` in `cwd` with `env` added to this process's environment. */
export function startNode(
  args: string[],
  { cwd, env = {} }: { cwd: string; env?: Record<string, string> },
): NodeProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const append = (chunk: Buffer) => {
    out += chunk;
  };
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  return {
    child,
    output: () => out,
    exited,
    async printed(text, timeoutMs = 20_000) {
      for (const end = Date.now() + timeoutMs; !out.includes(text); ) {
        if (ended || Date.now() > end) throw new Error(`node ${args.join(" ")} never printed "${text}":\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/**
 * Runs `node <args>` in `cwd` with `env` added to this process's; resolves with its stdout and stderr when it
 * exits 0 by itself, rejects with them otherwise, or when it is still running after `timeoutMs` (then killed).
 */
export async function runNode(
  args: string[],
  { cwd, env = {}, timeoutMs = 30_000 }: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<string> {
  const node = startNode(args, { cwd, env });
  const timer = setTimeout(() => node.child.kill("SIGKILL"), timeoutMs);
  const [code, signal] = await node.exited;
  clearTimeout(timer);
  if (code !== 0)
    throw new Error(
      `node ${args.join(" ")} ended with ${signal ?? code} (${timeoutMs / 1000} s at most):\n${node.output()}`,
    );
  return node.output();
}
