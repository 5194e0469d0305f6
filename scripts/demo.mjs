// `pnpm demo` / `./run demo`: builds the packages only when a source is newer than its build (a first
// run, or after an edit), then runs the support-bot demo in this process, so it speaks at once.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The newest modification time of any file under `dir` (0 when it does not exist). */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

const packages = readdirSync(join(root, "packages")).map((name) => join(root, "packages", name));
const stale = packages.some(
  (dir) => existsSync(join(dir, "tsdown.config.ts")) && newest(join(dir, "src")) > newest(join(dir, "dist")),
);
if (stale) {
  if (!process.argv.includes("--json")) console.log("demo: building the packages first (their sources changed)…");
  const build = spawnSync("pnpm", ["build"], { cwd: root, encoding: "utf8" });
  if (build.status !== 0) {
    console.error(build.stdout, build.stderr);
    process.exit(build.status ?? 1);
  }
}
await import("../examples/support-bot/src/main.ts");
