import { connect } from "node:net";
import { spawnService } from "./process.ts";
import { dockerAnswers, findBinary, freePort, MissingServiceError, waitFor } from "./resolve.ts";

export interface RedisService {
  url: string;
  host: string;
  port: number;
  /** how it was obtained: `env` (REDIS_URL, shared: not stopped), `binary` or `testcontainers` */
  source: "env" | "binary" | "testcontainers";
  stop(): Promise<void>;
}

function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A throwaway redis-server on 127.0.0.1:`port`: nothing persisted, data in `dir`. */
export function redisArgs(port: number, dir: string): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--protected-mode",
    "yes",
  ];
}

/**
 * A Redis 7 for one test: `REDIS_URL` → `redis-server` on a free loopback port →
 * Testcontainers (`redis:7-alpine`) when Docker answers → an error saying what to install.
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisService> {
  if (process.env.REDIS_URL) {
    const url = new URL(process.env.REDIS_URL);
    return { url: url.href, host: url.hostname, port: Number(url.port || 6379), source: "env", stop: async () => {} };
  }
  const binary = findBinary("redis-server");
  if (binary) {
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort());
      const svc = spawnService(binary, (dir) => redisArgs(port, dir));
      try {
        await waitFor(
          "redis-server",
          async () => {
            if (svc.child.exitCode !== null) throw new Error(svc.output());
            return ping("127.0.0.1", port);
          },
          10_000,
        );
        return { url: `redis://127.0.0.1:${port}`, host: "127.0.0.1", port, source: "binary", stop: svc.stop };
      } catch (error) {
        await svc.stop();
        // Another process may have taken the port between freePort() and listen: try another.
        if (attempt >= 2 || options.port !== undefined)
          throw new Error(`redis-server failed to start: ${(error as Error).message}\n${svc.output()}`);
      }
    }
  }
  if (await dockerAnswers()) {
    const { GenericContainer, Wait } = await import("testcontainers");
    const container = await new GenericContainer("redis:7-alpine")
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage("Ready to accept connections"))
      .start();
    const host = container.getHost();
    const port = container.getMappedPort(6379);
    return {
      url: `redis://${host}:${port}`,
      host,
      port,
      source: "testcontainers",
      stop: async () => {
        await container.stop();
      },
    };
  }
  throw new MissingServiceError(
    "Redis",
    "Install it (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`), run `bash scripts/provision.sh --services`, or set REDIS_URL.",
  );
}
