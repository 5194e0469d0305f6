import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface OtlpReceiver {
  /** the base URL, for OTEL_EXPORTER_OTLP_ENDPOINT */
  url: string;
  /** the bodies posted to `/v1/traces`, `/v1/metrics` and `/v1/logs`, as text */
  bodies: Record<"/v1/traces" | "/v1/metrics" | "/v1/logs", string[]>;
  close(): Promise<void>;
}

/** An OTLP/HTTP receiver on a free loopback port that keeps every body it is sent and answers 200. */
export async function startOtlpReceiver({ port = 0 }: { port?: number } = {}): Promise<OtlpReceiver> {
  const bodies: OtlpReceiver["bodies"] = { "/v1/traces": [], "/v1/logs": [], "/v1/metrics": [] };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      bodies[req.url as keyof OtlpReceiver["bodies"]]?.push(body);
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
