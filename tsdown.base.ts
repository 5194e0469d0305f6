import type { UserConfig } from "tsdown";

/** What every package builds: ESM + CJS with type declarations, for Node 22+. */
export const base: UserConfig = {
  format: ["esm", "cjs"],
  dts: true,
  platform: "node",
  target: "node22",
  sourcemap: true,
  clean: true,
};
