import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface ServiceProcess {
  child: ChildProcess;
  dataDir: string;
  /** last output lines, for error messages */
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a service binary with its own temporary data directory; `stop()` kills it and removes the dir. */
export function spawnService(binary: string, args: (dataDir: string) => string[]): ServiceProcess {
  const dataDir = mkdtempSync(join(tmpdir(), "ballast-svc-"));
  const child = spawn(binary, args(dataDir), { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let log = "";
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let stopped: Promise<void> | undefined;
  return {
    child,
    dataDir,
    output: () => log,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        const done = () => {
          running.delete(child);
          rmSync(dataDir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      });
      return stopped;
    },
  };
}
