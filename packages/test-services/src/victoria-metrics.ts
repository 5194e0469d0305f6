import { spawnService } from "./process.ts";
import { dockerAnswers, findBinary, freePort, MissingServiceError, waitFor } from "./resolve.ts";

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface VictoriaMetricsService {
  /** base URL; PromQL at `/api/v1/query`, Prometheus-compatible */
  url: string;
  /** OTLP/HTTP metrics endpoint for `OTLPMetricExporter({ url })` */
  otlpMetricsUrl: string;
  source: "env" | "binary" | "testcontainers";
  /** asks VictoriaMetrics to write what it buffered; rows still take about a second to be searchable */
  flush(): Promise<void>;
  /** polls `promql` until it returns samples (ingestion is asynchronous), or throws after `timeoutMs` */
  queryWhenPresent(promql: string, timeoutMs?: number): Promise<PromSample[]>;
  /** an instant PromQL query; throws with VictoriaMetrics' message when the query is invalid */
  query(promql: string, time?: Date): Promise<PromSample[]>;
  stop(): Promise<void>;
}

// -opentelemetry.usePrometheusNaming turns `gen_ai.client.operation.duration` (unit s) into
// `gen_ai_client_operation_duration_seconds_*`, as Prometheus' own OTLP receiver does.
const FLAGS = [
  "-opentelemetry.usePrometheusNaming",
  "-retentionPeriod=1d",
  "-search.latencyOffset=0s",
  "-search.disableCache",
  "-loggerLevel=ERROR",
];

function client(
  url: string,
  source: VictoriaMetricsService["source"],
  stop: () => Promise<void>,
): VictoriaMetricsService {
  const service: VictoriaMetricsService = {
    url,
    otlpMetricsUrl: `${url}/opentelemetry/v1/metrics`,
    source,
    stop,
    flush: async () => {
      const res = await fetch(`${url}/internal/force_flush`);
      await res.text();
    },
    query: async (promql, time) => {
      const params = new URLSearchParams({ query: promql });
      if (time) params.set("time", String(time.getTime() / 1000));
      const res = await fetch(`${url}/api/v1/query?${params}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
      if (body.status !== "success") throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
      return body.data?.result ?? [];
    },
    queryWhenPresent: async (promql, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      await service.flush();
      for (;;) {
        const rows = await service.query(promql);
        if (rows.length > 0) return rows;
        if (Date.now() > deadline) throw new Error(`no samples for ${promql} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
  return service;
}

async function healthy(url: string): Promise<boolean> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
  return res.ok;
}

/**
 * VictoriaMetrics with OTLP ingest for one test: `VICTORIA_METRICS_URL` → the `victoria-metrics`
 * (Debian) or `victoria-metrics-prod` (upstream) binary on a free loopback port → Testcontainers →
 * an error saying what to install.
 */
export async function startVictoriaMetrics(): Promise<VictoriaMetricsService> {
  if (process.env.VICTORIA_METRICS_URL) {
    return client(process.env.VICTORIA_METRICS_URL.replace(/\/$/, ""), "env", async () => {});
  }
  const binary = findBinary("victoria-metrics", "victoria-metrics-prod");
  if (binary) {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const svc = spawnService(binary, (dir) => [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${dir}`,
        ...FLAGS,
      ]);
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitFor(
          "victoria-metrics",
          async () => {
            if (svc.child.exitCode !== null) throw new Error(svc.output());
            return healthy(url);
          },
          20_000,
        );
        return client(url, "binary", svc.stop);
      } catch (error) {
        await svc.stop();
        if (attempt >= 2)
          throw new Error(`victoria-metrics failed to start: ${(error as Error).message}\n${svc.output()}`);
      }
    }
  }
  if (await dockerAnswers()) {
    const { GenericContainer, Wait } = await import("testcontainers");
    const container = await new GenericContainer("victoriametrics/victoria-metrics:v1.112.0")
      .withCommand(["-httpListenAddr=:8428", ...FLAGS])
      .withExposedPorts(8428)
      .withWaitStrategy(Wait.forHttp("/health", 8428))
      .start();
    const url = `http://${container.getHost()}:${container.getMappedPort(8428)}`;
    return client(url, "testcontainers", async () => {
      await container.stop();
    });
  }
  throw new MissingServiceError(
    "VictoriaMetrics (≥ 1.92, for OTLP ingest)",
    "Run `bash scripts/provision.sh --services` (takes Debian trixie's victoria-metrics package into .tools/bin), put `victoria-metrics-prod` from a VictoriaMetrics release on PATH, or set VICTORIA_METRICS_URL.",
  );
}
