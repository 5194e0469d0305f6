import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic, * as sdk from "@anthropic-ai/sdk";
import { startMockClaude } from "@ballast/claude-mock";
import { ClaudeInstrumentation } from "@ballast/otel-claude";
import { promtool, startVictoriaMetrics, type VictoriaMetricsService } from "@ballast/test-services";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertRules } from "../src/alerts.ts";
import { OVERVIEW_FILE, renderOverview } from "../src/generate.ts";
import { claudeOverview, queriesOf } from "../src/overview.ts";

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

/**
 * Runs a workload through otel-claude against claude-mock, exporting with the real OTLP exporter to
 * VictoriaMetrics under `service`; `bad` adds max_tokens truncations, a 5xx burst and slow answers.
 */
async function workload(vmUrl: string, service: string, bad: boolean): Promise<void> {
  const mock = await startMockClaude({ latency: bad ? { ttftMs: 300 } : {} });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": service }),
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: vmUrl }),
        exportIntervalMillis: 1000,
      }),
    ],
  });
  const instrumentation = new ClaudeInstrumentation();
  instrumentation.setMeterProvider(provider);
  instrumentation.manuallyInstrument(sdk);
  const client = new Anthropic({ baseURL: mock.url, apiKey: "sk-test", maxRetries: 0 });
  try {
    for (let round = 0; round < 3; round++) {
      if (bad) mock.enqueue({ status: 500, times: 3 }, { status: 529, times: 2 });
      for (let i = 0; i < 20; i++) {
        const maxTokens = bad && i % 4 === 0 ? 5 : 300;
        const params = {
          model: "claude-sonnet-4-6",
          max_tokens: maxTokens,
          // a long cached prefix, so cache reads and writes show up
          system: [
            { type: "text" as const, text: "policy ".repeat(1200), cache_control: { type: "ephemeral" as const } },
          ],
          messages: [{ role: "user" as const, content: `q${i}` }],
        };
        // every third call streams, so time to first token shows up
        const call = i % 3 === 0 ? client.messages.stream(params).finalMessage() : client.messages.create(params);
        await call.catch(() => {});
      }
      await provider.forceFlush(); // several samples per series, so rate() has something to work with
      await new Promise((r) => setTimeout(r, 1100));
    }
  } finally {
    instrumentation.disable();
    await provider.shutdown();
    await mock.close();
  }
}

let vm: VictoriaMetricsService;
beforeAll(async () => {
  vm = await startVictoriaMetrics();
  await workload(vm.otlpMetricsUrl, "e2e-bad", true);
  await workload(vm.otlpMetricsUrl, "e2e-healthy", false);
  await vm.queryWhenPresent('gen_ai_client_operation_duration_seconds_count{service_name="e2e-healthy"}');
  await new Promise((r) => setTimeout(r, 1500));
}, 60_000);
afterAll(() => vm?.stop());

/** A panel query with Grafana's variables as "All" and its built-in intervals filled in. */
const substitute = (expr: string) =>
  expr
    .replace(/\$(service|environment|model|feature)\b/g, ".*")
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__range", "1h");

describe("the Claude overview dashboard on real data", () => {
  it("is generated: the committed JSON is what the generator writes now", () => {
    expect(readFileSync(OVERVIEW_FILE, "utf8"), "run `pnpm --filter @ballast/dashboards generate`").toBe(
      renderOverview(),
    );
  });

  it("has no hard-coded datasource uid and a variable for service, environment, model and feature", () => {
    const json = renderOverview();
    expect(json).not.toMatch(/"uid": "(?!\$\{datasource\}|ballast-claude-overview)/);
    const names = (claudeOverview().templating?.list ?? []).map((v) => v.name);
    expect(names).toEqual(["datasource", "service", "environment", "model", "feature"]);
  });

  it("answers every panel query with data, and every query parses with promtool", async () => {
    const queries = queriesOf(claudeOverview());
    expect(queries.length).toBeGreaterThanOrEqual(12);
    for (const { panel, expr } of queries) {
      const rows = await vm.query(substitute(expr));
      expect(rows.length, `${panel}: ${substitute(expr)}`).toBeGreaterThan(0);
    }
    const dir = mkdtempSync(join(tmpdir(), "panels-"));
    const rules = {
      groups: [
        { name: "panels", rules: queries.map((q, i) => ({ record: `panel_query_${i}`, expr: substitute(q.expr) })) },
      ],
    };
    writeFileSync(join(dir, "panels.yml"), JSON.stringify(rules));
    const result = await (await promtool())(["check", "rules", "panels.yml"], { cwd: dir });
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });
});

describe("alert expressions on real data", () => {
  it("are true for a bad workload and false for a healthy one, evaluated by VictoriaMetrics", async () => {
    {
      // The p99 threshold is lowered so that the bad run's 300 ms answers cross it in seconds, not minutes.
      const rules = alertRules({ p99LatencySeconds: 0.25 }).groups[0]!.rules;
      const firing: Record<string, string[]> = {};
      for (const rule of rules) {
        const rows = await vm.query(rule.expr); // every expression evaluates (throws on a PromQL error)
        firing[rule.alert] = [...new Set(rows.map((r) => r.metric.service_name ?? ""))].sort();
      }
      for (const alert of [
        "ClaudeMaxTokensStops",
        "ClaudeMaxTokensRatioHigh",
        "ClaudeErrorRateHigh",
        "ClaudeLatencyP99High",
      ]) {
        expect(firing[alert], alert).toEqual(["e2e-bad"]);
      }
      for (const [alert, services] of Object.entries(firing)) expect(services, alert).not.toContain("e2e-healthy");
    }
  });
});
