// There is no Docker engine on our machines, so the compose stack is validated structurally: Docker
// Compose's own schema check, every file it mounts, the ports that tie the services together, and
// promtool on the Prometheus config with the rule files it mounts.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { dockerCompose, promtool } from "@ballast/test-services";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { alertRules } from "../src/alerts.ts";
import { DASHBOARDS } from "../src/generate.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// biome-ignore lint/suspicious/noExplicitAny: parsed config files, read field by field
type Json = Record<string, any>;
const yaml = (path: string): Json => parse(readFileSync(resolve(ROOT, path), "utf8"), { uniqueKeys: true });
const compose = yaml("docker-compose.yml");
const services = compose.services as Record<string, Json>;

/** The bind mounts of a service: host path (absolute) → container path. */
function mounts(service: string): Array<{ source: string; target: string }> {
  return ((services[service]?.volumes ?? []) as string[])
    .filter((v) => v.startsWith("./"))
    .map((v) => {
      const [source = "", target = ""] = v.split(":");
      return { source: resolve(ROOT, source), target };
    });
}
/** The host file mounted at `target` in `service`. */
function mounted(service: string, target: string): string {
  const m = mounts(service).find((x) => x.target === target);
  if (!m) throw new Error(`${service} mounts nothing at ${target}`);
  return m.source;
}
const hostPort = (url: string) => {
  const u = new URL(url.includes("://") ? url : `grpc://${url}`);
  return { host: u.hostname, port: Number(u.port) };
};
const portOf = (endpoint: string) => Number(endpoint.split(":").at(-1));

describe("docker-compose.yml and deploy/", () => {
  it("passes Docker Compose's own validation (the compose schema, interpolation)", async () => {
    const result = await dockerCompose()(["-f", "docker-compose.yml", "config", "--quiet"], { cwd: ROOT });
    expect(result.code, result.stderr).toBe(0);
    // and the validator does reject a broken file, so the check above means something
    const broken = await dockerCompose()(["-f", "-", "config", "--quiet"], {
      cwd: ROOT,
      input: "services:\n  grafana:\n    imagee: grafana/grafana:12.0.2\n",
    });
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain("imagee");
  });

  it("runs the stack the issue names, every image pinned to a version", () => {
    expect(Object.keys(services).sort()).toEqual(
      ["demo", "grafana", "loki", "otel-collector", "prometheus", "redis", "tempo"].sort(),
    );
    for (const [name, s] of Object.entries(services)) {
      if (name === "demo") {
        const from = readFileSync(resolve(ROOT, s.build.dockerfile), "utf8").match(/^FROM (\S+)/m)?.[1];
        expect(from).toMatch(/:\d+\.\d+\.\d+-/);
      } else {
        expect(s.image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
      }
    }
    expect(services["otel-collector"]?.image).toMatch(/^otel\/opentelemetry-collector-contrib:/);
  });

  it("mounts only files that exist, and each of them parses", () => {
    const bindMounts = Object.keys(services).flatMap((s) => mounts(s));
    expect(bindMounts.length).toBeGreaterThanOrEqual(9);
    for (const { source } of bindMounts) {
      expect(existsSync(source), source).toBe(true);
      const files = statSync(source).isDirectory() ? readdirSync(source).map((f) => join(source, f)) : [source];
      for (const file of files) {
        if (/\.ya?ml$/.test(file)) expect(() => yaml(relative(ROOT, file)), file).not.toThrow();
        else if (file.endsWith(".json")) expect(() => JSON.parse(readFileSync(file, "utf8")), file).not.toThrow();
      }
    }
  });

  it("ties the services together on consistent ports and names", () => {
    const collector = yaml(relative(ROOT, mounted("otel-collector", "/etc/otelcol-contrib/config.yaml")));
    const tempo = yaml(relative(ROOT, mounted("tempo", "/etc/tempo/tempo.yaml")));
    const loki = yaml(relative(ROOT, mounted("loki", "/etc/loki/loki.yaml")));
    const datasources = yaml(
      relative(ROOT, mounted("grafana", "/etc/grafana/provisioning/datasources/datasources.yml")),
    ).datasources as Json[];
    const listens: Record<string, number[]> = {
      "otel-collector": Object.values(collector.receivers.otlp.protocols as Record<string, Json>).map((p) =>
        portOf(p.endpoint),
      ),
      prometheus: [9090], // Prometheus' fixed default; its OTLP receiver shares it
      tempo: [tempo.server.http_listen_port, portOf(tempo.distributor.receivers.otlp.protocols.grpc.endpoint)],
      loki: [loki.server.http_listen_port],
      redis: [6379],
      grafana: [3000],
    };
    const reaches = (url: string, what: string) => {
      const { host, port } = hostPort(url);
      expect(Object.keys(services), `${what}: ${url}`).toContain(host);
      expect(listens[host], `${what}: ${url}`).toContain(port);
    };
    // every exporter of the collector reaches a service on a port that service listens on
    for (const [name, exporter] of Object.entries(collector.exporters as Record<string, Json>)) {
      reaches(exporter.endpoint, `collector exporter ${name}`);
    }
    for (const [signal, pipeline] of Object.entries(collector.service.pipelines as Record<string, Json>)) {
      for (const e of pipeline.exporters) expect(collector.exporters, `${signal} → ${e}`).toHaveProperty(e);
    }
    for (const ds of datasources) reaches(ds.url, `Grafana datasource ${ds.name}`);
    reaches(services.demo?.environment.OTEL_EXPORTER_OTLP_ENDPOINT, "the demo's OTLP endpoint");
    expect(portOf(services.demo?.environment.OTEL_EXPORTER_OTLP_ENDPOINT)).toBe(
      portOf(collector.receivers.otlp.protocols.http.endpoint),
    );
    reaches(services.demo?.environment.REDIS_URL.replace("redis://", "http://"), "the demo's REDIS_URL");
    // each published port is published once, and is a port its service listens on
    const published = Object.entries(services).flatMap(([name, s]) =>
      ((s.ports ?? []) as string[]).map((p) => {
        const [host = "", container = ""] = p.split(":");
        expect(listens[name], `${name} publishes ${p}`).toContain(Number(container));
        return host;
      }),
    );
    expect(new Set(published).size).toBe(published.length);
  });

  it("provisions Grafana: the datasource uid the alert rules name, and the dashboards where the provider looks", () => {
    const datasources = yaml("deploy/grafana/datasources/datasources.yml").datasources as Json[];
    const alerting = yaml(relative(ROOT, mounted("grafana", "/etc/grafana/provisioning/alerting/ballast-alerts.yml")));
    const ruleUids = new Set(
      (alerting.groups[0].rules as Json[]).flatMap((r) =>
        (r.data as Json[]).map((d) => d.datasourceUid).filter((u) => u !== "__expr__"),
      ),
    );
    expect([...ruleUids]).toEqual([datasources.find((d) => d.type === "prometheus")?.uid]);
    expect(alerting.groups[0].rules).toHaveLength(alertRules().groups[0]!.rules.length);
    const provider = yaml("deploy/grafana/dashboards/dashboards.yml").providers[0];
    const dashboardsDir = mounted("grafana", provider.options.path);
    expect(
      readdirSync(dashboardsDir)
        .filter((f) => f.endsWith(".json"))
        .sort(),
    ).toEqual(
      Object.keys(DASHBOARDS)
        .map((name) => `${name}.json`)
        .sort(),
    );
    expect(datasources.map((d) => d.type).sort()).toEqual(["loki", "prometheus", "tempo"]);
  });

  it("configures Prometheus' OTLP receiver as the dashboards expect, and promtool check config passes with the mounted rules", async () => {
    const prometheus = services.prometheus as Json;
    expect(prometheus.command).toContain("--web.enable-otlp-receiver");
    const configPath = mounted("prometheus", "/etc/prometheus/prometheus.yml");
    const config = yaml(relative(ROOT, configPath));
    expect(config.otlp.promote_resource_attributes).toEqual(["service.name", "deployment.environment.name"]);
    // lay the mounts out as the container sees them, so that rule_files resolves as it will there
    const dir = mkdtempSync(join(tmpdir(), "prometheus-"));
    for (const { source, target } of mounts("prometheus")) {
      if (!target.startsWith("/etc/prometheus/")) continue;
      const to = join(dir, relative("/etc/prometheus", target));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(source, to);
    }
    const result = await (await promtool())(["check", "config", "prometheus.yml"], { cwd: dir });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("SUCCESS: 1 rule files found");
    expect(result.stdout).toContain(`SUCCESS: ${alertRules().groups[0]!.rules.length} rules found`);
  });
});
