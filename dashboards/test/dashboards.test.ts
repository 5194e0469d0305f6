import { parser } from "@grafana/lezer-traceql";
import { describe, expect, it } from "vitest";
import { DASHBOARDS } from "../src/generate.ts";
import { PROMETHEUS, queriesOf, TEMPO, UIDS } from "../src/panels.ts";
import { tracesDashboard } from "../src/traces.ts";

/** The TraceQL parse errors of a query, as the offending text; empty when it parses. */
function traceqlErrors(query: string): string[] {
  const errors: string[] = [];
  parser.parse(query).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(query.slice(node.from, Math.max(node.to, node.from + 10)));
    },
  });
  return errors;
}

describe("the dashboards", () => {
  for (const [name, build] of Object.entries(DASHBOARDS)) {
    it(`${name}: imports anywhere — datasources are variables, no uid hard-coded, filters as variables`, () => {
      const d = build();
      const json = JSON.stringify(d);
      const uids = [...json.matchAll(/"uid":"([^"]*)"/g)].map((m) => m[1]);
      // the dashboard's own uid, and datasource references to its variables: nothing else
      expect(new Set(uids)).toEqual(new Set([d.uid, PROMETHEUS.uid, ...(name === "claude-traces" ? [TEMPO.uid] : [])]));
      const vars = (d.templating?.list ?? []).map((v) => v.name);
      expect(vars[0]).toBe("datasource");
      expect(vars).toContain("service");
      // every query filters on the dashboard's variables (rate-limit and org series carry no model)
      const filters =
        name === "claude-reliability"
          ? ["service", "environment"]
          : vars.filter((v) => v !== "datasource" && v !== "tempo");
      for (const { panel, expr, traceql } of queriesOf(d)) {
        for (const v of filters) {
          expect(expr ?? traceql, `${panel} filters on $${v}`).toContain(`$${v}`);
        }
      }
      expect(d.links?.[0]).toMatchObject({ type: "dashboards", tags: ["ballast"], includeVars: true, keepTime: true });
    });
  }

  it("overview: has the variables the issue names and links its latency, error, spend and max_tokens panels to traces", () => {
    const d = DASHBOARDS["claude-overview"]();
    expect((d.templating?.list ?? []).map((v) => v.name)).toEqual([
      "datasource",
      "service",
      "environment",
      "model",
      "feature",
    ]);
    const linked = (d.panels ?? [])
      .filter((p) => "links" in p && p.links?.some((l) => l.url?.startsWith(`/d/${UIDS.traces}?`)))
      .map((p) => ("title" in p ? p.title : ""));
    expect(linked).toEqual([
      "Error rate",
      "Spend today",
      "Latency p50 / p95 / p99",
      "max_tokens stops by model and feature",
    ]);
  });

  it("traces: every TraceQL query parses with @grafana/lezer-traceql, over otel-claude's span attributes", () => {
    const queries = queriesOf(tracesDashboard()).map((q) => q.traceql ?? "");
    expect(queries).toHaveLength(4);
    for (const query of queries) {
      expect(traceqlErrors(query), query).toEqual([]);
      expect(query).toContain('span.gen_ai.operation.name = "chat"');
    }
    expect(queries.join("\n")).toMatch(
      /duration > 10s[\s\S]*stop_reason = "max_tokens"[\s\S]*status = error[\s\S]*cost > 0\.1/,
    );
    // the parser does reject broken TraceQL, so the check above means something
    expect(traceqlErrors("{ span.gen_ai.usage.cost > }")).not.toEqual([]);
  });

  it("traces: thresholds are options, and nonsense is refused", () => {
    const queries = queriesOf(tracesDashboard({ slowSeconds: 30, expensiveUsd: 2 })).map((q) => q.traceql);
    expect(queries[0]).toContain("duration > 30s");
    expect(queries[3]).toContain("span.gen_ai.usage.cost > 2");
    expect(() => tracesDashboard({ slowSeconds: 0 })).toThrow("`slowSeconds` must be a number > 0; got 0");
  });
});
