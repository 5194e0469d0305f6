// A new user's first hour, from the packed tarballs: installed into a fresh app outside the workspace,
// the root README's quick starts run there as written, every package loads from ESM and CJS, and the
// zero-code set-up exports what it promises.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type MockClaude, startMockClaude } from "@ballast/claude-mock";
import { type OtlpReceiver, type RedisService, runNode, startOtlpReceiver, startRedis } from "@ballast/test-services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const PUBLISHED = readdirSync(join(ROOT, "packages")).filter((dir) => {
  const manifest = JSON.parse(readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8"));
  return manifest.private !== true;
});

const typeScriptBlocks = (markdown: string) =>
  [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);

/** The TypeScript blocks of the root README's "Quick starts", as written. */
function quickStarts(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("## Quick starts");
  return typeScriptBlocks(readme.slice(start, readme.indexOf("\n## ", start + 3)));
}

/** The otel-claude README's first example: the app's own OpenTelemetry SDK. */
const ownSdkExample = () =>
  typeScriptBlocks(readFileSync(join(ROOT, "packages", "otel-claude", "README.md"), "utf8"))[0] as string;

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

const work = mkdtempSync(join(tmpdir(), "ballast-fresh-app-"));
const packs = join(work, "packs");
let mock: MockClaude;
let redis: RedisService;

beforeAll(async () => {
  mkdirSync(packs);
  // the built packages (`pnpm test` builds first), packed as `pnpm publish` would
  for (const dir of PUBLISHED)
    await run("pnpm", ["pack", "--pack-destination", packs], { cwd: join(ROOT, "packages", dir) });
  [mock, redis] = await Promise.all([startMockClaude(), startRedis()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([mock?.close(), redis?.stop()]);
  rmSync(work, { recursive: true, force: true });
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
      include: ["*.mts"],
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

  it("type-checks the root README's quick starts with tsc --strict --module nodenext", async () => {
    const blocks = quickStarts();
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const [i, code] of blocks.entries()) writeFileSync(join(dir, `quick-start-${i}.mts`), code);
    writeFileSync(join(dir, "own-sdk.mts"), ownSdkExample());
    const tsc = join(dir, "node_modules", "typescript", "bin", "tsc");
    // the README blocks as written, the own-SDK example of otel-claude's README among them
    await expect(node(dir, [tsc, "-p", "."])).resolves.toBe("");
  }, 60_000);

  it("runs each of the root README's quick starts as written, and each exits by itself", async () => {
    const env = { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: "sk-fresh-app", REDIS_URL: redis.url };
    for (const [i, code] of quickStarts().entries()) {
      writeFileSync(join(dir, `quick-start-${i}.mts`), code);
      await node(dir, [`quick-start-${i}.mts`], env);
    }
    // what the retry quick start printed: the model that answered
    expect(await node(dir, ["quick-start-0.mts"], env)).toMatch(/^claude-opus-4-8/);
  }, 120_000);

  it("loads every package from ESM and from CommonJS", async () => {
    const names = PUBLISHED.map((dir) => `@ballast/${dir}`);
    writeFileSync(join(dir, "load.mjs"), names.map((n) => `await import(${JSON.stringify(n)});`).join("\n"));
    writeFileSync(join(dir, "load.cjs"), names.map((n) => `require(${JSON.stringify(n)});`).join("\n"));
    await node(dir, ["load.mjs"]);
    await node(dir, ["load.cjs"]);
  }, 60_000);

  it("exports spans, metrics and log records with `node --import @ballast/otel-claude/register`, ESM and CJS", async () => {
    const fixtures = fileURLToPath(new URL("../../otel-claude/test/fixtures/", import.meta.url));
    for (const file of ["app.mjs", "app.cjs"]) {
      cpSync(join(fixtures, file), join(dir, file));
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

  it("runs otel-claude's own-SDK example without a loader flag, ESM and CJS: spans, onCall, metrics, log records", async () => {
    cpSync(fileURLToPath(new URL("fixtures/own-sdk.cjs", import.meta.url)), join(dir, "own-sdk.cjs"));
    writeFileSync(join(dir, "own-sdk.mts"), ownSdkExample());
    for (const file of ["own-sdk.mts", "own-sdk.cjs"]) {
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
