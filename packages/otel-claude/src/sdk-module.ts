import { readFileSync } from "node:fs";
import { createRequire, findPackageJSON } from "node:module";
import { dirname, join } from "node:path";

/**
 * The copies of `@anthropic-ai/sdk` an app may already be using, which no require or import hook will see
 * loading: its ES module build, loaded now (Node's `require` of an ES module shares the `import` cache, so
 * patching it patches what the app imports), and its CommonJS build if the app required it already.
 */
export function sdkModulesInUse(): unknown[] {
  try {
    const requireHere = createRequire(import.meta.url);
    const manifest = findPackageJSON("@anthropic-ai/sdk", import.meta.url);
    if (!manifest) return [];
    const modules: unknown[] = [];
    const entry = JSON.parse(readFileSync(manifest, "utf8")).exports?.["."]?.default;
    if (typeof entry === "string") modules.push(requireHere(join(dirname(manifest), entry)));
    const required = requireHere.cache[requireHere.resolve("@anthropic-ai/sdk")];
    if (required) modules.push(required.exports);
    return modules;
  } catch {
    return [];
  }
}
