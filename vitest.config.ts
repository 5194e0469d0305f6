import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// One Vitest project per package that has tests.
const packages = readdirSync("packages", { withFileTypes: true })
  .filter((d) => d.isDirectory() && readdirSync(`packages/${d.name}`).includes("test"))
  .map((d) => d.name);

const report = process.env.BALLAST_TEST_REPORT;

// Tests import workspace packages from source, so a test never runs against a stale build.
const alias = Object.fromEntries(
  readdirSync("packages")
    .filter((name) => existsSync(`packages/${name}/src/index.ts`))
    .map((name) => [`@ballast/${name}`, resolve(`packages/${name}/src/index.ts`)]),
);

export default defineConfig({
  test: {
    projects: packages.map((name) => ({
      resolve: { alias },
      test: {
        name,
        root: `packages/${name}`,
        include: ["test/**/*.test.ts"],
        testTimeout: 30_000,
        hookTimeout: 30_000,
      },
    })),
    reporters: report ? ["default", ["json", { outputFile: report }]] : ["default"],
  },
});
