import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startRedis } from "@ballast/test-services";
import { build } from "esbuild";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createRateLimiter, RedisStore, redisStore } from "../src/index.js";
import { ADJUST_SCRIPT } from "../src/scripts.js";

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

  it("Redis runs the scripts it ships, by their SHA1", async () => {
    const service = await startRedis();
    const client = new Redis(service.url);
    try {
      const limiter = createRateLimiter({
        name: "sha",
        store: redisStore({ client }),
        rules: [{ name: "tokens", limit: 100, window: "1m", measure: "input_tokens" }],
      });
      const ticket = await limiter.acquire("u", { inputTokens: 10 });
      await ticket.settle({ input_tokens: 5 });
      const sha1 = createHash("sha1").update(ADJUST_SCRIPT).digest("hex");
      expect(await client.script("EXISTS", sha1)).toEqual([1]);
      expect(await client.script("LOAD", ADJUST_SCRIPT)).toBe(sha1);
      // the acquire script of this rule's shape (one whole-count sliding rule, no alerts)
      const acquire = RedisStore.acquireScript([{ algorithm: "sliding", limit: 100, windowMs: 60_000, alertAt: [] }]);
      expect(await client.script("EXISTS", createHash("sha1").update(acquire).digest("hex"))).toEqual([1]);
    } finally {
      client.disconnect();
      await service.stop();
    }
  });
});
