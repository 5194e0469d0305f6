import { spawn } from "node:child_process";
import { dockerAnswers, findBinary, MissingServiceError } from "./resolve.ts";

export interface PromtoolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command-line tool: arguments in, exit code and output out. */
export type Command = (args: string[], options?: { cwd?: string; input?: string }) => Promise<PromtoolResult>;
export type Promtool = Command;

export function run(
  binary: string,
  args: string[],
  options: { cwd?: string; input?: string } = {},
): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/**
 * `promtool` for rule checks, rule unit tests and PromQL parsing: `PROMTOOL` → `promtool` on PATH
 * or in `.tools/bin` → the `prom/prometheus` image through Testcontainers (files are read from
 * `cwd`, mounted at the same path) → an error saying what to install.
 */
export async function promtool(): Promise<Promtool> {
  const binary = process.env.PROMTOOL ?? findBinary("promtool");
  if (binary) return (args, options) => run(binary, args, options);
  if (await dockerAnswers()) {
    const { GenericContainer } = await import("testcontainers");
    return async (args, options = {}) => {
      const cwd = options.cwd ?? process.cwd();
      const container = await new GenericContainer("prom/prometheus:v3.5.0")
        .withEntrypoint(["sleep", "3600"])
        .withBindMounts([{ source: cwd, target: cwd, mode: "ro" }])
        .withWorkingDir(cwd)
        .start();
      try {
        const result = await container.exec(["promtool", ...args], { workingDir: cwd });
        return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
      } finally {
        await container.stop();
      }
    };
  }
  throw new MissingServiceError(
    "promtool",
    "Install promtool 3 (`apt-get install promtool` from Debian forky or newer, or `bash scripts/provision.sh --services`, which extracts it into .tools/bin), or set PROMTOOL to its path.",
  );
}
