import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic, * as sdk from "@anthropic-ai/sdk";
import { startMockClaude } from "@ballast/claude-mock";
import { ClaudeInstrumentation, withClaudeContext } from "@ballast/otel-claude";
import { createGovernor, createRateLimiter, withGovernor, withRateLimit } from "@ballast/ratelimit";
import { retryPolicy, withRetry } from "@ballast/retry";
import { promtool, startVictoriaMetrics, type VictoriaMetricsService } from "@ballast/test-services";
import { context, metrics } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertDefinitions, alertRules } from "../src/alerts.ts";
import { DASHBOARDS } from "../src/generate.ts";
import { grafanaAlerting } from "../src/grafana-alerting.ts";
import { queriesOf } from "../src/panels.ts";

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const MODEL = "claude-sonnet-4-6";
const POLICY = "policy ".repeat(2000);

/**
 * Runs a workload through otel-claude, @ballast/retry, @ballast/ratelimit and the org governor against
 * claude-mock, exporting with the real OTLP exporter to VictoriaMetrics under `service`, with an order
 * agent (the SDK's tool runner) every round. `bad` adds max_tokens truncations, 5xx/529/429 bursts that
 * open the model's circuit, slow answers, budgets small enough to run out, an `onCall` that throws, and
 * an agent whose model never stops asking for a tool that always throws, stopped by its conversation's
 * budget.
 */
async function workload(vmUrl: string, service: string, bad: boolean): Promise<void> {
  const mock = await startMockClaude({ latency: bad ? { ttftMs: 300 } : {} });
  const agentMock = await startMockClaude(); // its own: a model that never stops must not answer the chat
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": service, "deployment.environment.name": "e2e" }),
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: vmUrl }),
        exportIntervalMillis: 1000,
      }),
    ],
  });
  // retry and ratelimit record through the global API, as in an app
  metrics.setGlobalMeterProvider(provider);
  // the bad run's log sink fails on every call: the calls go on, ballast.claude.telemetry.failures counts them
  const instrumentation = new ClaudeInstrumentation(
    bad
      ? {
          onCall: () => {
            throw new Error("log sink down");
          },
        }
      : {},
  );
  instrumentation.setMeterProvider(provider);
  instrumentation.manuallyInstrument(sdk);
  const policy = retryPolicy({
    fallbackModels: ["claude-haiku-4-5"],
    baseDelayMs: 5,
    maxDelayMs: 20,
    budget: false,
    circuitBreaker: { minimumCalls: 5, failureRate: 0.5, openMs: 60_000 },
  });
  const raw = new Anthropic({ baseURL: mock.url, apiKey: "sk-test", maxRetries: 0 });
  const client = withRetry(withGovernor(raw, createGovernor()), policy);
  const limiter = createRateLimiter({
    name: "e2e_chat",
    rules: [
      { name: "requests", limit: bad ? 14 : 1000, window: "1m" },
      { name: "daily_usd", limit: bad ? 0.15 : 100, window: "day", measure: "usd", alertAt: [0.5, 0.8, 1] },
    ],
  });
  const agent = withRateLimit(
    new Anthropic({ baseURL: agentMock.url, apiKey: "sk-test", maxRetries: 0 }),
    createRateLimiter({ name: "e2e_agent", rules: [{ name: "conversation_calls", limit: 3, window: "1h" }] }),
    { key: (ctx) => ctx.conversationId },
  );
  const tools = [
    {
      name: "check_stock",
      description: "Check an item's stock",
      input_schema: { type: "object" as const, properties: { sku: { type: "string" } } },
      run: async () => {
        if (bad) throw new Error("stock service down");
        return "12 in stock";
      },
    },
  ];
  if (bad) agentMock.enqueue({ reply: { toolUse: { name: "check_stock" } }, times: Number.POSITIVE_INFINITY });
  try {
    for (let round = 0; round < 3; round++) {
      if (!bad) agentMock.enqueue({ reply: { toolUse: { name: "check_stock" } } }, { reply: { text: "In stock." } });
      await withClaudeContext({ feature: "order_agent", conversationId: `${service}_conv_${round}` }, () =>
        agent.beta.messages
          .toolRunner({ model: MODEL, max_tokens: 100, messages: [{ role: "user", content: "Is X in stock?" }], tools })
          .then(
            () => {},
            () => {}, // the bad run's agent is stopped by its budget
          ),
      );
      // faults every round, so that rate() sees them grow
      if (bad) mock.enqueue({ status: 500, times: 3 }, { status: 429, retryAfterMs: 10, times: 2 });
      if (bad && round === 1) mock.enqueue({ status: 529, model: MODEL, times: 8 }); // opens MODEL's circuit
      for (let i = 0; i < 20; i++) {
        const user = `user_${i % 4}`;
        const feature = i % 5 === 4 ? "triage" : "chat";
        const maxTokens = bad && i % 4 === 0 ? 5 : 300;
        // the input estimate is low on purpose: settling charges the overrun, so budgets reach 100%
        const ticket = await limiter.acquire(user, { model: MODEL, maxTokens, inputTokens: 100 });
        if (!ticket.allowed) continue;
        const params = {
          model: MODEL,
          max_tokens: maxTokens,
          // a long prefix: cached for chat, repeated without cache_control for triage (missed savings)
          system:
            feature === "chat"
              ? [{ type: "text" as const, text: POLICY, cache_control: { type: "ephemeral" as const } }]
              : POLICY,
          messages: [{ role: "user" as const, content: `q${i}` }],
        };
        await withClaudeContext({ userId: user, feature }, async () => {
          try {
            // every third call streams, so time to first token shows up
            const message = await (i % 3 === 0
              ? client.messages.stream(params).finalMessage()
              : client.messages.create(params));
            await ticket.settle(message.usage);
          } catch {
            await ticket.cancel();
          }
        });
      }
      await provider.forceFlush(); // several samples per series, so rate() has something to work with
      await new Promise((r) => setTimeout(r, 1100));
    }
  } finally {
    instrumentation.disable();
    await provider.shutdown();
    metrics.disable();
    await Promise.all([mock.close(), agentMock.close()]);
  }
}

let vm: VictoriaMetricsService;
beforeAll(async () => {
  vm = await startVictoriaMetrics();
  // healthy first: otel-claude counts telemetry failures per process, and a meter made after the bad run's
  // failures would report them under the healthy service too
  await workload(vm.otlpMetricsUrl, "e2e-healthy", false);
  await workload(vm.otlpMetricsUrl, "e2e-bad", true);
  await vm.queryWhenPresent('gen_ai_client_operation_duration_seconds_count{service_name="e2e-bad"}');
  await new Promise((r) => setTimeout(r, 1500));
}, 90_000);
afterAll(() => vm?.stop());

/** A panel query with Grafana's variables as "All" and its built-in intervals filled in. */
const substitute = (expr: string) =>
  expr
    .replace(/\$(service|environment|model|feature)\b/g, ".*")
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__range", "1h");

describe("every dashboard on real data", () => {
  for (const [name, build] of Object.entries(DASHBOARDS)) {
    const queries = queriesOf(build()).filter((q) => q.expr !== undefined);
    if (queries.length === 0) continue; // the traces dashboard asks Tempo (TraceQL, parsed in dashboards.test.ts)
    it(`${name}: every panel query returns data from VictoriaMetrics and parses with promtool`, async () => {
      for (const { panel, expr = "" } of queries) {
        const rows = await vm.query(substitute(expr));
        expect(rows.length, `${panel}: ${substitute(expr)}`).toBeGreaterThan(0);
      }
      const dir = mkdtempSync(join(tmpdir(), "panels-"));
      const rules = {
        groups: [
          {
            name: "panels",
            rules: queries.map((q, i) => ({ record: `panel_query_${i}`, expr: substitute(q.expr ?? "") })),
          },
        ],
      };
      writeFileSync(join(dir, "panels.yml"), JSON.stringify(rules));
      const result = await (await promtool())(["check", "rules", "panels.yml"], { cwd: dir });
      expect(result.code, result.stdout + result.stderr).toBe(0);
    });
  }
});

describe("alert expressions on real data", () => {
  // The p99 threshold is lowered so that the bad run's 300 ms answers cross it in seconds, not minutes.
  const options = { p99LatencySeconds: 0.25 };

  it("are true for a bad workload and false for a healthy one, evaluated by VictoriaMetrics", async () => {
    const firing: Record<string, string[]> = {};
    for (const rule of alertRules(options).groups[0]!.rules) {
      const rows = await vm.query(rule.expr); // every expression evaluates (throws on a PromQL error)
      firing[rule.alert] = [...new Set(rows.map((r) => r.metric.service_name ?? ""))].sort();
    }
    for (const alert of [
      "ClaudeMaxTokensStops",
      "ClaudeMaxTokensRatioHigh",
      "ClaudeErrorRateHigh",
      "ClaudeLatencyP99High",
      "ClaudeRateLimitedSustained",
      "ClaudeCircuitOpen",
      "ClaudeBudgetExhausted",
      "ClaudeTelemetryFailing",
      "ClaudeRunsStoppedByBudget",
      "ClaudeToolErrorRateHigh",
    ]) {
      expect(firing[alert], alert).toEqual(["e2e-bad"]);
    }
    for (const [alert, services] of Object.entries(firing)) expect(services, alert).not.toContain("e2e-healthy");
  });

  it("fire in Grafana on the same series: Grafana's threshold on query A picks what Prometheus' expression picks", async () => {
    const grafana = grafanaAlerting(options).groups[0]!.rules;
    for (const [i, definition] of alertDefinitions(options).entries()) {
      const g = grafana[i]!;
      const query = (g.data[0]!.model as { expr: string }).expr;
      const { type, params } = (
        g.data[1]!.model as { conditions: Array<{ evaluator: { type: string; params: number[] } }> }
      ).conditions[0]!.evaluator;
      const values = await vm.query(query);
      const grafanaFiring = values
        .filter((r) => (type === "gt" ? Number(r.value[1]) > params[0]! : Number(r.value[1]) < params[0]!))
        .map((r) => JSON.stringify(r.metric))
        .sort();
      const prometheusFiring = (await vm.query(`${definition.query} ${definition.op} ${definition.threshold}`))
        .map((r) => JSON.stringify(r.metric))
        .sort();
      expect(grafanaFiring, g.title).toEqual(prometheusFiring);
    }
  });
});
