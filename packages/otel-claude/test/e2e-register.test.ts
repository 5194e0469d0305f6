import { fileURLToPath } from "node:url";
import { startMockClaude } from "@ballast/claude-mock";
import {
  freePort,
  type OtlpReceiver,
  runNode,
  startNode,
  startOtlpReceiver,
  startVictoriaMetrics,
} from "@ballast/test-services";
import { describe, expect, it } from "vitest";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const API_KEY = "sk-ant-api03-E2E-SECRET-must-never-leave-the-process";

type OtlpAttr = { key: string; value: Record<string, unknown> };
const attrs = (list: OtlpAttr[] = []) =>
  Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]])) as Record<string, unknown>;

const run = (app: string, env: Record<string, string>) =>
  runNode(["--import", "@ballast/otel-claude/register", app], { cwd: PACKAGE_DIR, env, timeoutMs: 120_000 });

const start = (app: string, env: Record<string, string>) =>
  startNode(["--import", "@ballast/otel-claude/register", app], { cwd: PACKAGE_DIR, env });

const jsonOtlp = (url: string) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: url,
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  OTEL_TRACES_EXPORTER: "otlp",
  OTEL_METRICS_EXPORTER: "otlp",
  OTEL_LOGS_EXPORTER: "otlp",
});

describe("zero-code register, when the process is stopped or nothing listens", () => {
  it("flushes spans, metrics and log records on SIGTERM, then ends as SIGTERM ends it", async () => {
    const [receiver, mock] = await Promise.all([startOtlpReceiver(), startMockClaude()]);
    try {
      const server = start("test/fixtures/server.mjs", {
        MOCK_URL: mock.url,
        E2E_API_KEY: API_KEY,
        OTEL_METRIC_EXPORT_INTERVAL: "600000", // no periodic export: only the flush can deliver them
        OTEL_BSP_SCHEDULE_DELAY: "600000",
        OTEL_BLRP_SCHEDULE_DELAY: "600000",
        ...jsonOtlp(receiver.url),
      });
      await server.printed("ready");
      server.child.kill("SIGTERM");
      const [code, signal] = await server.exited;
      expect([code, signal]).toEqual([null, "SIGTERM"]);
      const all = (path: keyof OtlpReceiver["bodies"]) => receiver.bodies[path].join("\n");
      expect(all("/v1/traces").match(/"anthropic\.messages\.create"/g)).toHaveLength(3);
      expect(all("/v1/logs").match(/"ballast\.claude\.call"/g)).toHaveLength(3);
      expect(all("/v1/metrics")).toContain('"gen_ai.client.operation.duration"');
    } finally {
      await Promise.all([receiver.close(), mock.close()]);
    }
  });

  it("says once that no collector answers, naming the endpoint and what to set, and exits without waiting on retries", async () => {
    const mock = await startMockClaude();
    const port = await freePort();
    try {
      const out = await run("test/fixtures/two-calls.mjs", {
        MOCK_URL: mock.url,
        E2E_API_KEY: API_KEY,
        PAUSE_MS: "1000",
        // the batch processors export while the app runs, and an export refused would be retried for
        // five minutes: the process ends well before that only if nothing waits on those retries
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_BLRP_SCHEDULE_DELAY: "100",
        OTEL_EXPORTER_OTLP_TIMEOUT: "300000",
        ...jsonOtlp(`http://127.0.0.1:${port}`),
      });
      expect(out).toContain("done");
      const warnings = out.match(/no OpenTelemetry collector at [^ ]+/g);
      expect(warnings).toEqual([`no OpenTelemetry collector at http://127.0.0.1:${port}`]);
      expect(out).toContain("OTEL_EXPORTER_OTLP_ENDPOINT");
    } finally {
      await mock.close();
    }
  });

  it("finds a collector that starts after the app did", async () => {
    const mock = await startMockClaude();
    const port = await freePort();
    let receiver: OtlpReceiver | undefined;
    try {
      const app = start("test/fixtures/two-calls.mjs", {
        MOCK_URL: mock.url,
        E2E_API_KEY: API_KEY,
        PAUSE_MS: "3000",
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_BLRP_SCHEDULE_DELAY: "100",
        ...jsonOtlp(`http://127.0.0.1:${port}`),
      });
      // the first call's span and record found nobody; then the collector starts
      await app.printed("no OpenTelemetry collector");
      receiver = await startOtlpReceiver({ port });
      const [code] = await app.exited;
      expect(code, app.output()).toBe(0);
      const all = (path: keyof OtlpReceiver["bodies"]) => receiver!.bodies[path].join("\n");
      expect(all("/v1/traces")).toContain('"anthropic.messages.create"');
      expect(all("/v1/logs")).toContain('"ballast.claude.call"');
      expect(all("/v1/metrics")).toContain('"gen_ai.client.operation.duration"');
    } finally {
      await Promise.all([mock.close(), receiver?.close()]);
    }
  });
});

describe("zero-code register, end to end", () => {
  it("exports OTLP from a CJS and an ESM app: Prometheus names with their labels, one span per call, log records", async () => {
    const [vm, receiver, mock] = await Promise.all([startVictoriaMetrics(), startOtlpReceiver(), startMockClaude()]);
    try {
      const env = (service: string, feature: string) => ({
        MOCK_URL: mock.url,
        E2E_API_KEY: API_KEY,
        FEATURE: feature,
        OTEL_SERVICE_NAME: service,
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=e2e",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: vm.otlpMetricsUrl,
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${receiver.url}/v1/logs`,
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "http/json",
        OTEL_LOGS_EXPORTER: "otlp",
        OTEL_METRICS_EXPORTER: "otlp",
        OTEL_TRACES_EXPORTER: "otlp",
      });
      const outputs = await Promise.all([
        run("test/fixtures/app.mjs", env("e2e-esm", "e2e_esm")),
        run("test/fixtures/app.cjs", env("e2e-cjs", "e2e_cjs")),
      ]);
      for (const out of outputs) expect(out).toContain("done");

      // Traces: exactly one span per API call, enriched, for both apps.
      const spans = receiver.bodies["/v1/traces"]!.flatMap((b) =>
        (
          JSON.parse(b).resourceSpans as Array<{
            resource: { attributes: OtlpAttr[] };
            scopeSpans: Array<{ spans: Array<{ name: string; attributes: OtlpAttr[] }> }>;
          }>
        ).flatMap((rs) =>
          rs.scopeSpans.flatMap((ss) =>
            ss.spans.map((s) => ({
              service: attrs(rs.resource.attributes)["service.name"],
              name: s.name,
              a: attrs(s.attributes),
            })),
          ),
        ),
      );
      const claude = spans.filter((s) => s.name === "anthropic.messages.create");
      expect(claude.filter((s) => s.service === "e2e-esm")).toHaveLength(4);
      expect(claude.filter((s) => s.service === "e2e-cjs")).toHaveLength(4);
      expect(mock.requests).toHaveLength(8);
      for (const s of claude) {
        expect(s.a["user.id"]).toBe("user_e2e");
        expect(Number(s.a["gen_ai.usage.cost"])).toBeGreaterThan(0);
        expect(s.a["ballast.pricing.model"]).toBe("claude-sonnet-4-6");
      }

      // Logs: one ballast.claude.call record per call.
      const logs = receiver.bodies["/v1/logs"]!.flatMap((b) =>
        (
          JSON.parse(b).resourceLogs as Array<{ scopeLogs: Array<{ logRecords: Array<{ eventName?: string }> }> }>
        ).flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)),
      );
      expect(logs.filter((l) => l.eventName === "ballast.claude.call")).toHaveLength(8);

      // Metrics: TELEMETRY.md's Prometheus names, with the promised labels.
      const labelsOf = async (promql: string) => (await vm.queryWhenPresent(promql)).map((r) => r.metric);
      const duration = await labelsOf('gen_ai_client_operation_duration_seconds_count{service_name="e2e-esm"}');
      expect(duration[0]).toMatchObject({
        gen_ai_operation_name: "chat",
        gen_ai_provider_name: "anthropic",
        gen_ai_request_model: "claude-sonnet-4-6",
        gen_ai_response_model: "claude-sonnet-4-6",
        anthropic_message_stop_reason: "end_turn",
        ballast_feature: "e2e_esm",
        deployment_environment_name: "e2e",
      });
      for (const service of ["e2e-esm", "e2e-cjs"]) {
        const count = await vm.queryWhenPresent(
          `sum(gen_ai_client_operation_duration_seconds_count{service_name="${service}"})`,
        );
        expect(count[0]?.value[1]).toBe("4");
      }
      const names = [
        "gen_ai_client_operation_duration_seconds_bucket",
        "gen_ai_client_token_usage_bucket",
        "gen_ai_client_operation_time_to_first_chunk_seconds_count",
        "ballast_claude_tokens_total",
        "gen_ai_usage_cost_USD_total",
        "ballast_claude_cache_savings_USD_total",
        "ballast_cache_missed_savings_USD_total",
      ];
      for (const name of names) expect((await labelsOf(name)).length, name).toBeGreaterThan(0);
      const kinds = new Set((await labelsOf("ballast_claude_tokens_total")).map((m) => m.ballast_token_kind));
      expect(kinds).toEqual(new Set(["input", "cache_read", "cache_write_5m", "output"]));
      expect(await vm.query('count({user_id=~".+"})')).toEqual([]);
      expect(await vm.query('count({__name__=~".+", user_id!=""})')).toEqual([]);

      // The API key never leaves the process.
      const exported =
        JSON.stringify(receiver.bodies) + JSON.stringify(await vm.query('{__name__=~"gen_ai.*|ballast.*"}'));
      expect(exported).not.toContain(API_KEY);
    } finally {
      await Promise.all([vm.stop(), receiver.close(), mock.close()]);
    }
  }, 60_000);
});
