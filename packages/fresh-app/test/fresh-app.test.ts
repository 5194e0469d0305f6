// A new user's first hour, from the packed tarballs: installed into a fresh app outside the workspace,
// every README's quick start type-checked and run there as written (as ESM and as CommonJS), every
// package loaded from ESM and CJS, and the zero-code set-up exporting what it promises, also when a
// server is stopped with SIGTERM.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type MockClaude, startMockClaude } from "@ballast/claude-mock";
import {
  type OtlpReceiver,
  type RedisService,
  runNode,
  startNode,
  startOtlpReceiver,
  startRedis,
} from "@ballast/test-services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageQuickStarts, rootQuickStarts, type Snippet, toCommonJs } from "./snippets.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const PUBLISHED = readdirSync(join(ROOT, "packages")).filter((dir) => {
  const manifest = JSON.parse(readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8"));
  return manifest.private !== true;
});

/** Every quick start a new user might copy: the root README's, then each package's. */
const quickStarts = (): Snippet[] => [...rootQuickStarts(ROOT), ...packageQuickStarts(ROOT, PUBLISHED)];

interface App {
  name: string;
  manager: "npm" | "pnpm";
  sdk: string;
}
const APPS: App[] = [
  { name: "npm, @anthropic-ai/sdk 1.15", manager: "npm", sdk: "1.15.0" },
  { name: "pnpm (strict layout), @anthropic-ai/sdk 1.15", manager: "pnpm", sdk: "1.15.0" },
  { name: "npm, @anthropic-ai/sdk 0.133", manager: "npm", sdk: "0.133.0" },
];

const OTEL_FIXTURES = fileURLToPath(new URL("../../otel-claude/test/fixtures/", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "ballast-fresh-app-"));
const packs = join(work, "packs");
let mock: MockClaude;
let redis: RedisService;
/** where the quick starts' telemetry goes */
let collector: OtlpReceiver;

beforeAll(async () => {
  mkdirSync(packs);
  // the built packages (`pnpm test` builds first), packed as `pnpm publish` would
  for (const dir of PUBLISHED)
    await run("pnpm", ["pack", "--pack-destination", packs], { cwd: join(ROOT, "packages", dir) });
  [mock, redis, collector] = await Promise.all([startMockClaude(), startRedis(), startOtlpReceiver()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([mock?.close(), redis?.stop(), collector?.close()]);
  rmSync(work, { recursive: true, force: true });
});

describe("the packed tarballs", () => {
  it("each carry dist/, the README, the LICENSE and a CHANGELOG whose latest entry is the package's version", async () => {
    for (const dir of PUBLISHED) {
      const manifest = JSON.parse(readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8"));
      const tarball = join(packs, `ballast-${dir}-${manifest.version}.tgz`);
      const { stdout } = await run("tar", ["-tzf", tarball]);
      const files = stdout.split("\n");
      for (const file of ["package/README.md", "package/LICENSE", "package/CHANGELOG.md", "package/package.json"])
        expect(files, `${dir}: ${file}`).toContain(file);
      expect(
        files.some((file) => file.startsWith("package/dist/")),
        dir,
      ).toBe(true);
      const changelog = readFileSync(join(ROOT, "packages", dir, "CHANGELOG.md"), "utf8");
      expect(changelog.match(/^## (\S+)/m)?.[1], `${dir}/CHANGELOG.md`).toBe(manifest.version);
    }
  });
});

/** A fresh app in its own folder with every tarball, the SDK, the OTel API, ioredis and TypeScript installed. */
async function install({ manager, sdk }: App): Promise<string> {
  const dir = mkdtempSync(join(work, `${manager}-`));
  const tarballs = Object.fromEntries(
    readdirSync(packs).map((file) => [
      `@ballast/${file.replace(/^ballast-(.*)-\d+\.\d+\.\d+\.tgz$/, "$1")}`,
      `file:${join(packs, file)}`,
    ]),
  );
  const manifest = {
    name: "fresh-app",
    private: true,
    type: "module",
    dependencies: {
      ...tarballs,
      "@anthropic-ai/sdk": sdk,
      "@opentelemetry/api": "1.10.0",
      // what the otel-claude README's own-SDK example says to install
      "@opentelemetry/sdk-node": "0.301.0",
      "@opentelemetry/sdk-trace": "3.1.0",
      "@opentelemetry/exporter-trace-otlp-proto": "0.301.0",
      ioredis: "6.0.0",
      typescript: "6.0.3",
      "@types/node": "^24.0.0",
    },
  };
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  if (manager === "npm") {
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir });
  } else {
    // the tarballs' own dependencies on each other resolve to the tarballs too
    const overrides = Object.entries(tarballs).map(([name, spec]) => `  "${name}": "${spec}"`);
    writeFileSync(
      join(dir, "pnpm-workspace.yaml"),
      `overrides:\n${overrides.join("\n")}\nallowBuilds:\n  protobufjs: false\n`,
    );
    await run("pnpm", ["install", "--config.node-linker=isolated", "--reporter=silent"], { cwd: dir });
  }
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, module: "nodenext", target: "es2023", noEmit: true, types: ["node"] },
      include: ["*.mts", "*.cts"],
    }),
  );
  return dir;
}

/** Runs `args` with node in `dir`; resolves with its output when it exits 0 by itself within 30 s. */
const node = (dir: string, args: string[], env: Record<string, string> = {}) => runNode(args, { cwd: dir, env });

/** A priced Claude span, the call metrics and the call log record reached `receiver` from `file`. */
function expectExported(receiver: OtlpReceiver, file: string): void {
  const text = (path: keyof OtlpReceiver["bodies"]) => receiver.bodies[path].join("\n");
  expect(text("/v1/traces"), file).toContain("anthropic.messages.create");
  expect(text("/v1/traces"), file).toContain("gen_ai.usage.cost");
  expect(text("/v1/metrics"), file).toContain("gen_ai.client.operation.duration");
  expect(text("/v1/logs"), file).toContain("ballast.claude.call");
}

describe.each(APPS)("a fresh app: $name", (app) => {
  let dir: string;
  beforeAll(async () => {
    dir = await install(app);
  }, 180_000);

  it("type-checks every README's quick start with tsc --strict --module nodenext", async () => {
    const snippets = quickStarts();
    expect(snippets.filter((s) => s.name.startsWith("root-")).length).toBeGreaterThanOrEqual(4);
    for (const { name, code } of snippets) writeFileSync(join(dir, `${name}.mts`), code);
    const tsc = join(dir, "node_modules", "typescript", "bin", "tsc");
    await expect(node(dir, [tsc, "-p", "."])).resolves.toBe("");
  }, 60_000);

  it("runs every README's quick start as written, as ESM and as CommonJS, each exiting by itself", async () => {
    const env = {
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: "sk-fresh-app",
      REDIS_URL: redis.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    };
    const outputs = new Map<string, string>();
    for (const { name, code } of quickStarts()) {
      writeFileSync(join(dir, `${name}.mts`), code);
      writeFileSync(join(dir, `${name}.cts`), toCommonJs(code));
      for (const file of [`${name}.mts`, `${name}.cts`]) outputs.set(file, await node(dir, [file], env));
    }
    // what the retry quick starts printed: the model that answered
    for (const file of ["root-0.mts", "root-0.cts", "retry.mts", "retry.cts"])
      expect(outputs.get(file), file).toMatch(/^claude-opus-4-8/m);
  }, 300_000);

  it("loads every package from ESM and from CommonJS", async () => {
    const names = PUBLISHED.map((dir) => `@ballast/${dir}`);
    writeFileSync(join(dir, "load.mjs"), names.map((n) => `await import(${JSON.stringify(n)});`).join("\n"));
    writeFileSync(join(dir, "load.cjs"), names.map((n) => `require(${JSON.stringify(n)});`).join("\n"));
    await node(dir, ["load.mjs"]);
    await node(dir, ["load.cjs"]);
  }, 60_000);

  it("exports spans, metrics and log records with `node --import @ballast/otel-claude/register`, ESM and CJS", async () => {
    for (const file of ["app.mjs", "app.cjs"]) {
      cpSync(join(OTEL_FIXTURES, file), join(dir, file));
      const receiver = await startOtlpReceiver();
      try {
        const out = await node(dir, ["--import", "@ballast/otel-claude/register", file], {
          MOCK_URL: mock.url,
          E2E_API_KEY: "sk-fresh-app",
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "fresh-app",
        });
        expect(out).toContain("done");
        expectExported(receiver, file);
      } finally {
        await receiver.close();
      }
    }
  }, 90_000);

  it("flushes spans, metrics and log records of a server stopped with SIGTERM under register", async () => {
    cpSync(join(OTEL_FIXTURES, "server.mjs"), join(dir, "server.mjs"));
    const receiver = await startOtlpReceiver();
    try {
      const server = startNode(["--import", "@ballast/otel-claude/register", "server.mjs"], {
        cwd: dir,
        env: {
          MOCK_URL: mock.url,
          E2E_API_KEY: "sk-fresh-app",
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          // no periodic export: only the flush on SIGTERM can deliver them
          OTEL_METRIC_EXPORT_INTERVAL: "600000",
          OTEL_BSP_SCHEDULE_DELAY: "600000",
          OTEL_BLRP_SCHEDULE_DELAY: "600000",
        },
      });
      await server.printed("ready");
      server.child.kill("SIGTERM");
      expect(await server.exited).toEqual([null, "SIGTERM"]);
      expectExported(receiver, "server.mjs");
    } finally {
      await receiver.close();
    }
  }, 60_000);

  it("runs otel-claude's own-SDK example without a loader flag, ESM and CJS: spans, onCall, metrics, log records", async () => {
    // the README's first example, as written and as CommonJS
    const [ownSdk] = packageQuickStarts(ROOT, ["otel-claude"]);
    writeFileSync(join(dir, "own-sdk.mts"), ownSdk!.code);
    writeFileSync(join(dir, "own-sdk.cts"), toCommonJs(ownSdk!.code));
    for (const file of ["own-sdk.mts", "own-sdk.cts"]) {
      const receiver = await startOtlpReceiver();
      try {
        const out = await node(dir, [file], {
          ANTHROPIC_BASE_URL: mock.url,
          ANTHROPIC_API_KEY: "sk-fresh-app",
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_METRICS_EXPORTER: "otlp",
          OTEL_LOGS_EXPORTER: "otlp",
        });
        const record = JSON.parse(out.split("\n").find((line) => line.startsWith("{")) ?? "null");
        expect(record, `${file}: onCall`).toMatchObject({ user_id: "user_abc", feature: "support_chat" });
        expect(record.cost_usd, file).toBeGreaterThan(0);
        expectExported(receiver, file);
      } finally {
        await receiver.close();
      }
    }
  }, 90_000);
});
