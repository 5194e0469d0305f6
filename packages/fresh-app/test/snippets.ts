// The code a new user copies: the READMEs' TypeScript blocks, extracted from the Markdown as written,
// so a README change is what the fresh-app test runs.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Snippet {
  /** a file name stem: `root-2`, `retry` */
  name: string;
  code: string;
}

const typeScriptBlocks = (markdown: string) =>
  [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);

/** The TypeScript blocks under the root README's "Quick starts" heading. */
export function rootQuickStarts(root: string): Snippet[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = readme.indexOf("## Quick starts");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 3));
  return typeScriptBlocks(section).map((code, i) => ({ name: `root-${i}`, code }));
}

/** Each package's quick start: the first TypeScript block of its README. */
export function packageQuickStarts(root: string, packages: string[]): Snippet[] {
  return packages.map((dir) => {
    const [code] = typeScriptBlocks(readFileSync(join(root, "packages", dir, "README.md"), "utf8"));
    if (code === undefined) throw new Error(`packages/${dir}/README.md has no \`\`\`ts quick start`);
    return { name: dir, code };
  });
}

/**
 * The same program as CommonJS, as a user of `require` would write it: each `import` becomes a
 * `require` (a default import takes the module's `default`), and the rest runs in an async function,
 * since CommonJS has no top-level await. Type annotations stay: Node strips them from `.cts` files.
 */
export function toCommonJs(code: string): string {
  const requires: string[] = [];
  const body = code.replace(/^import (type )?([\s\S]+?) from ("[^"]+");\n/gm, (_, typeOnly, what: string, from) => {
    if (typeOnly) return "";
    const named = what.match(/^\{([\s\S]*)\}$/);
    if (!named) {
      requires.push(`const ${what} = require(${from}).default;`);
      return "";
    }
    const names = (named[1] as string)
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "" && !name.startsWith("type "))
      .map((name) => name.replace(/ as /, ": "));
    requires.push(`const { ${names.join(", ")} } = require(${from});`);
    return "";
  });
  return `${requires.join("\n")}\n\n(async () => {\n${body}})().catch((error) => {\n  console.error(error);\n  process.exitCode = 1;\n});\n`;
}
