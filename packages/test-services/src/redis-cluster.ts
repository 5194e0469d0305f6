import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { spawnService } from "./process.ts";
import { redisArgs } from "./redis.ts";
import { findBinary, MissingServiceError, waitFor } from "./resolve.ts";

export interface RedisClusterService {
  /** seed nodes for `new Redis.Cluster(nodes)` */
  nodes: Array<{ host: string; port: number }>;
  stop(): Promise<void>;
}

const run = promisify(execFile);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port whose cluster-bus port (+10 000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (!taken.has(port) && (await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

/**
 * A Redis Cluster of `masters` nodes (no replicas) on loopback ports, built with `redis-cli --cluster
 * create`, for tests that must hold on a real cluster (hash tags, CROSSSLOT). Stopped with `stop()`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterService> {
  const server = findBinary("redis-server");
  const cli = findBinary("redis-cli");
  if (!server || !cli) {
    throw new MissingServiceError(
      "Redis Cluster",
      "Install redis-server and redis-cli (Debian/Ubuntu: `apt-get install redis-server`).",
    );
  }
  const taken = new Set<number>();
  const nodes: Array<{ host: string; port: number; stop(): Promise<void> }> = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await clusterPort(taken);
      taken.add(port);
      const svc = spawnService(server, (dir) => [
        ...redisArgs(port, dir),
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `${dir}/nodes.conf`,
        "--cluster-node-timeout",
        "5000",
      ]);
      nodes.push({ host: "127.0.0.1", port, stop: svc.stop });
      await waitFor(
        `redis cluster node ${port}`,
        async () => {
          const { stdout } = await run(cli, ["-p", String(port), "ping"]);
          return stdout.trim() === "PONG";
        },
        10_000,
      );
    }
    await run(cli, [
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    await waitFor(
      "redis cluster state ok",
      async () => {
        for (const n of nodes) {
          const { stdout } = await run(cli, ["-p", String(n.port), "cluster", "info"]);
          if (!stdout.includes("cluster_state:ok")) return false;
        }
        return true;
      },
      20_000,
    );
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
  return {
    nodes: nodes.map(({ host, port }) => ({ host, port })),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
