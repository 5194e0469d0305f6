import { readdirSync } from "node:fs";
import { defineConfig } from "vitest/config";

// One Vitest project per package that has tests.
const packages = readdirSync("packages", { withFileTypes: true })
  .filter((d) => d.isDirectory() && readdirSync(`packages/${d.name}`).includes("test"))
  .map((d) => d.name);

const report = process.env.BALLAST_TEST_REPORT;

export default defineConfig({
  test: {
    projects: packages.map((name) => ({
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
