import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promtool } from "@ballast/test-services";
import { describe, expect, it } from "vitest";
import { alertRules } from "../src/alerts.ts";
import { generatedFiles } from "../src/generate.ts";
import { grafanaAlerting } from "../src/grafana-alerting.ts";

const DIR = fileURLToPath(new URL("../prometheus", import.meta.url));

describe("alert rules", () => {
  it("are generated, like the dashboards: every committed file is what the generator writes now", () => {
    const files = generatedFiles();
    expect(files.map((f) => f.file.pathname.split("/dashboards/")[1])).toEqual([
      "grafana/claude-overview.json",
      "grafana/claude-cost.json",
      "grafana/claude-reliability.json",
      "grafana/claude-traces.json",
      "grafana/claude-runs.json",
      "prometheus/ballast-alerts.rules.yml",
      "grafana-alerting/ballast-alerts.yml",
    ]);
    for (const { file, content } of files) {
      expect(readFileSync(file, "utf8"), `${file.pathname}: run \`pnpm --filter @ballast/dashboards generate\``).toBe(
        content,
      );
    }
  });

  it("pass promtool check rules", async () => {
    const run = await promtool();
    const result = await run(["check", "rules", "ballast-alerts.rules.yml"], { cwd: DIR });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${alertRules().groups[0]!.rules.length} rules found`);
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

  it("are Grafana-managed rules too: the same query and threshold, Grafana's templating, a named datasource", () => {
    const prometheus = alertRules({ errorRatio: 0.05 }).groups[0]!.rules;
    const grafana = grafanaAlerting({ errorRatio: 0.05, datasourceUid: "my-prom" }).groups[0]!;
    expect(grafana.folder).toBe("Ballast");
    expect(grafana.rules.map((r) => r.title)).toEqual(prometheus.map((r) => r.alert));
    for (const [i, g] of grafana.rules.entries()) {
      const p = prometheus[i]!;
      const [query, threshold] = g.data as unknown as [
        { datasourceUid: string; model: { expr: string; instant: boolean } },
        {
          datasourceUid: string;
          model: { expression: string; conditions: Array<{ evaluator: { type: string; params: number[] } }> };
        },
      ];
      const { type, params } = threshold.model.conditions[0]!.evaluator;
      // Prometheus' expression is exactly Grafana's query A compared as Grafana's threshold B compares it
      expect(`${query.model.expr} ${type === "gt" ? ">" : "<"} ${params[0]}`).toBe(p.expr);
      expect([query.datasourceUid, query.model.instant, threshold.datasourceUid, threshold.model.expression]).toEqual([
        "my-prom",
        true,
        "__expr__",
        "A",
      ]);
      expect(g.condition).toBe("B");
      expect(g.for).toBe(p.for ?? "0s");
      expect(g.labels).toEqual(p.labels);
      expect(g.annotations.description).not.toMatch(/\$value\b/);
      expect(g.annotations.description).toBe(p.annotations.description.replaceAll("$value", "$values.A.Value"));
      expect(g.uid).toMatch(/^[\w-]{1,40}$/);
    }
    expect(grafana.rules.find((r) => r.title === "ClaudeErrorRateHigh")?.data[1]?.model).toMatchObject({
      conditions: [{ evaluator: { type: "gt", params: [0.05] } }],
    });
    expect(() => grafanaAlerting({ datasourceUid: "a b" })).toThrow("`datasourceUid` must be a Grafana uid");
  });
});
