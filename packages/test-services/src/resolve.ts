import { accessSync, constants } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

/** `.tools/bin` at the repository root, where `scripts/provision.sh` puts binaries. */
export function toolsBin(): string {
  return process.env.BALLAST_TOOLS_BIN ?? fileURLToPath(new URL("../../../.tools/bin", import.meta.url));
}

/** First executable named one of `names` on PATH or in the repo's `.tools/bin`. */
export function findBinary(...names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), toolsBin()];
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (the OS picks; released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when a Docker engine answers `/_ping` within a second (for the Testcontainers fallback). */
export function dockerAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith("unix://")) return Promise.resolve(true);
  const socketPath = host ? host.slice("unix://".length) : "/var/run/docker.sock";
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export class MissingServiceError extends Error {
  constructor(service: string, howToInstall: string) {
    super(
      `${service} is not available: no env override, no binary on PATH or in ${toolsBin()}, and no Docker engine for Testcontainers.\n${howToInstall}`,
    );
    this.name = "MissingServiceError";
  }
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}
