import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startRedis } from "@ballast/test-services";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);

describe("shipped as code", () => {
  it("runs from one esbuild bundle (no file read at run time), memory and Redis stores, against a real Redis", async () => {
    const redis = await startRedis();
    const dir = await mkdtemp(join(tmpdir(), "ballast-bundle-"));
    try {
      const outfile = join(dir, "app.mjs");
      // the built package, as an app that installed it would bundle it
      await build({
        entryPoints: [join(PACKAGE_DIR, "test/fixtures/bundled-app.mjs")],
        bundle: true,
        platform: "node",
        format: "esm",
        outfile,
        absWorkingDir: PACKAGE_DIR,
        logLevel: "silent",
        // ioredis's CommonJS needs `require` inside an ESM bundle
        banner: {
          js: "import { createRequire as requireFor } from 'node:module'; const require = requireFor(import.meta.url);",
        },
      });
      const { stdout } = await run(process.execPath, [outfile, redis.url], { cwd: dir });
      expect(JSON.parse(stdout)).toEqual({ memory: [true, false, "requests"], redis: [true, false, "requests"] });
    } finally {
      await rm(dir, { recursive: true, force: true });
      await redis.stop();
    }
  });
});
