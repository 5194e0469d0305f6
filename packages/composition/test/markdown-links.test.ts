// Every relative link in every Markdown file of the repository resolves: to a file or folder that
// exists, and, with a `#fragment` into Markdown, to a heading there (GitHub's anchors).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const markdown = execFileSync("git", ["ls-files", "*.md"], { cwd: root, encoding: "utf8" }).split("\n").filter(Boolean);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, "")
    .replace(/[^\p{L}\p{N} -]/gu, "")
    .replace(/ /g, "-");

const anchorsOf = (file: string) =>
  new Set(
    readFileSync(file, "utf8")
      .replace(/```[\s\S]*?```/g, "")
      .split("\n")
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) => anchor(line.replace(/^#+ /, ""))),
  );

/** The relative links of a Markdown text, code blocks and inline code left out. */
function relativeLinks(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  const targets = [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] as string);
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

describe("Markdown links", () => {
  it("finds the repository's Markdown", () => {
    expect(markdown).toContain("README.md");
  });

  for (const file of markdown)
    it(`${file}: every relative link resolves`, () => {
      const broken: string[] = [];
      for (const link of relativeLinks(readFileSync(join(root, file), "utf8"))) {
        const [path, fragment] = link.split("#") as [string, string | undefined];
        const target = path ? resolve(dirname(join(root, file)), decodeURI(path)) : join(root, file);
        if (!target.startsWith(root)) broken.push(`${link} (outside the repository)`);
        else if (!existsSync(target)) broken.push(`${link} (no such file)`);
        else if (fragment && target.endsWith(".md") && !anchorsOf(target).has(fragment))
          broken.push(`${link} (no heading #${fragment})`);
      }
      expect(broken).toEqual([]);
    });
});
