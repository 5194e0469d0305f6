import { spawnSync } from "node:child_process";
import { type Command, run } from "./promtool.ts";
import { findBinary, MissingServiceError } from "./resolve.ts";

/**
 * Docker Compose, to validate compose files (`config -q` checks them against the compose schema; no
 * engine needed): `DOCKER_COMPOSE` → `docker-compose` on PATH or in `.tools/bin` → the `docker compose`
 * plugin → an error saying what to install.
 */
export function dockerCompose(): Command {
  const binary = process.env.DOCKER_COMPOSE ?? findBinary("docker-compose");
  if (binary) return (args, options) => run(binary, args, options);
  const docker = findBinary("docker");
  if (docker && spawnSync(docker, ["compose", "version"], { stdio: "ignore" }).status === 0) {
    return (args, options) => run(docker, ["compose", ...args], options);
  }
  throw new MissingServiceError(
    "docker-compose",
    "Install Docker Compose (Debian trixie: `apt-get install docker-compose`, or `bash scripts/provision.sh --services`, which extracts it into .tools/bin), or set DOCKER_COMPOSE to its path.",
  );
}
