import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// One Vitest project per package or example that has tests.
const projectsIn = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && readdirSync(`${dir}/${d.name}`).includes("test"))
    .map((d) => `${dir}/${d.name}`);
const packages = [
  ...projectsIn("packages"),
  ...projectsIn("examples"),
  ...(existsSync("dashboards/test") ? ["dashboards"] : []),
];

const report = process.env.BALLAST_TEST_REPORT;

// Tests import workspace packages from source, so a test never runs against a stale build.
const alias = Object.fromEntries(
  readdirSync("packages")
    .filter((name) => existsSync(`packages/${name}/src/index.ts`))
    .map((name) => [`@ballast/${name}`, resolve(`packages/${name}/src/index.ts`)]),
);

export default defineConfig({
  test: {
    projects: packages.map((root) => ({
      resolve: { alias },
      test: {
        name: root.split("/").at(-1),
        root,
        include: ["test/**/*.test.ts"],
        testTimeout: 30_000,
        hookTimeout: 30_000,
      },
    })),
    reporters: report ? ["default", ["json", { outputFile: report }]] : ["default"],
  },
});
