import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promtool } from "@ballast/test-services";
import { describe, expect, it } from "vitest";
import { alertRules } from "../src/alerts.ts";
import { RULES_FILE, renderRules } from "../src/generate.ts";

const DIR = fileURLToPath(new URL("../prometheus", import.meta.url));

describe("alert rules", () => {
  it("are generated: the committed file is what the generator writes now", () => {
    expect(readFileSync(RULES_FILE, "utf8"), "run `pnpm --filter @ballast/dashboards generate`").toBe(renderRules());
  });

  it("pass promtool check rules", async () => {
    const run = await promtool();
    const result = await run(["check", "rules", "ballast-alerts.rules.yml"], { cwd: DIR });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("SUCCESS: 9 rules found");
  });

  it("fire on bad series and stay silent on good ones (promtool test rules)", async () => {
    const run = await promtool();
    const result = await run(["test", "rules", "alerts.test.yml"], { cwd: `${DIR}/tests` });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("SUCCESS");
  });

  it("take thresholds as options and refuse nonsense", () => {
    const rules = alertRules({ p99LatencySeconds: 30, dailySpendUsd: 500 }).groups[0]!.rules;
    expect(rules.find((r) => r.alert === "ClaudeLatencyP99High")?.expr).toMatch(/> 30$/);
    expect(rules.find((r) => r.alert === "ClaudeSpendHigh")?.expr).toMatch(/> 500$/);
    expect(() => alertRules({ errorRatio: -1 })).toThrow("`errorRatio` must be a number > 0; got -1");
  });
});
