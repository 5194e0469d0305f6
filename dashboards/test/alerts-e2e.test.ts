import Anthropic, * as sdk from "@anthropic-ai/sdk";
import { startMockClaude } from "@ballast/claude-mock";
import { ClaudeInstrumentation } from "@ballast/otel-claude";
import { startVictoriaMetrics } from "@ballast/test-services";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { alertRules } from "../src/alerts.ts";

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
        await client.messages
          .create({ model: "claude-sonnet-4-6", max_tokens: maxTokens, messages: [{ role: "user", content: `q${i}` }] })
          .catch(() => {});
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

describe("alert expressions on real data", () => {
  it("are true for a bad workload and false for a healthy one, evaluated by VictoriaMetrics", async () => {
    const vm = await startVictoriaMetrics();
    try {
      await workload(vm.otlpMetricsUrl, "e2e-bad", true);
      await workload(vm.otlpMetricsUrl, "e2e-healthy", false);
      await vm.queryWhenPresent('gen_ai_client_operation_duration_seconds_count{service_name="e2e-healthy"}');
      await new Promise((r) => setTimeout(r, 1500));
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
    } finally {
      await vm.stop();
    }
  }, 60_000);
});
