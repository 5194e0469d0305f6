import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { dockerCompose, MissingServiceError, promtool, startRedis, startVictoriaMetrics } from "../src/index.js";

const connectTo = (port: number) =>
  new Promise<void>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });

describe("startRedis", () => {
  it("gives two independent servers in parallel, both gone after stop()", async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    expect(a.port).not.toBe(b.port);
    const ca = new Redis(a.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const cb = new Redis(b.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await Promise.all([ca.connect(), cb.connect()]);
    await ca.set("who", "a");
    await cb.set("who", "b");
    expect(await ca.get("who")).toBe("a");
    expect(await cb.get("who")).toBe("b");
    ca.disconnect();
    cb.disconnect();
    await Promise.all([a.stop(), b.stop()]);
    if (a.source === "binary") {
      for (const port of [a.port, b.port]) await expect(connectTo(port)).rejects.toThrow(/ECONNREFUSED/);
    }
  });
});

describe("startVictoriaMetrics", () => {
  it("takes an OTLP/HTTP protobuf push from the real exporter and answers PromQL with the Prometheus name", async () => {
    const vm = await startVictoriaMetrics();
    try {
      const provider = new MeterProvider({
        resource: resourceFromAttributes({ "service.name": "svc-test", "deployment.environment.name": "ci" }),
        readers: [
          new PeriodicExportingMetricReader({
            exporter: new OTLPMetricExporter({ url: vm.otlpMetricsUrl }),
            exportIntervalMillis: 60_000,
          }),
        ],
      });
      const histogram = provider.getMeter("test").createHistogram("gen_ai.client.operation.duration", { unit: "s" });
      for (const v of [0.1, 0.2, 0.3]) histogram.record(v, { "gen_ai.request.model": "claude-sonnet-4-6" });
      await provider.forceFlush();
      await provider.shutdown();
      const rows = await vm.queryWhenPresent("gen_ai_client_operation_duration_seconds_count");
      expect(rows).toHaveLength(1);
      expect(rows[0]?.value[1]).toBe("3");
      expect(rows[0]?.metric).toMatchObject({
        gen_ai_request_model: "claude-sonnet-4-6",
        service_name: "svc-test",
        deployment_environment_name: "ci",
      });
      await expect(vm.query("sum(")).rejects.toThrow(/PromQL sum\(/);
    } finally {
      await vm.stop();
    }
  });
});

describe("promtool", () => {
  it("checks rule files: accepts a good one and names the error in a bad one", async () => {
    const run = await promtool();
    const dir = mkdtempSync(join(tmpdir(), "promtool-"));
    writeFileSync(
      join(dir, "good.yml"),
      "groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: up == 0\n        for: 1m\n",
    );
    writeFileSync(join(dir, "bad.yml"), "groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: sum(\n");
    const good = await run(["check", "rules", "good.yml"], { cwd: dir });
    expect(good.code).toBe(0);
    const bad = await run(["check", "rules", "bad.yml"], { cwd: dir });
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/parse error|unexpected/);
  });
});

describe("without the service", () => {
  it("fails saying what to install", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      PATH: "/nonexistent",
      BALLAST_TOOLS_BIN: "/nonexistent",
      DOCKER_HOST: "unix:///nonexistent.sock",
    });
    delete process.env.REDIS_URL;
    delete process.env.VICTORIA_METRICS_URL;
    delete process.env.PROMTOOL;
    delete process.env.DOCKER_COMPOSE;
    try {
      await expect(startRedis()).rejects.toThrow(MissingServiceError);
      await expect(startRedis()).rejects.toThrow(/apt-get install redis-server.*REDIS_URL/s);
      await expect(startVictoriaMetrics()).rejects.toThrow(/VICTORIA_METRICS_URL/);
      await expect(promtool()).rejects.toThrow(/apt-get install promtool.*PROMTOOL/s);
      expect(() => dockerCompose()).toThrow(/apt-get install docker-compose.*DOCKER_COMPOSE/s);
    } finally {
      process.env = saved;
    }
  });
});
