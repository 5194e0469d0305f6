import { spawn } from "node:child_process";

/**
 * Runs `node <args>` in `cwd` with `env` added to this process's; resolves with its stdout and stderr when it
 * exits 0 by itself, rejects with them otherwise, or when it is still running after `timeoutMs` (then killed).
 */
export function runNode(
  args: string[],
  { cwd, env = {}, timeoutMs = 30_000 }: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<string> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(`node ${args.join(" ")} ended with ${signal ?? code} (${timeoutMs / 1000} s at most):\n${out}`),
        );
    });
  });
}
