// claude-mock must never be the bottleneck of a benchmark: the real SDK's calls/s and streamed events/s
// against claude-mock (zero latency), as a ratio of the same client against a server that replays the
// mock's own bytes with no work. Both servers run in one child process, so the client has the other core
// to itself; rounds alternate between them and the median round counts. Target: ≥ 0.90.
//   node bench/claude-mock.ts [--calls 4000] [--streams 1000] [--concurrency 16] [--rounds 5]
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import { startMockClaude } from "@ballast/claude-mock";
import { counts, median, role, row, serveUntilStdinCloses, startChild } from "./lib/shared.ts";

const request = {
  model: "claude-sonnet-4-6",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Where is my order? It was due on Monday." }],
};

/** The child: claude-mock, and a server replaying the exact headers and bytes the mock sent once. */
async function serveBoth(): Promise<void> {
  const mock = await startMockClaude({ seed: 1, maxRecordedRequests: 1000 });
  const capture = async (body: unknown) => {
    const res = await fetch(`${mock.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "k" },
      body: JSON.stringify(body),
    });
    const headers = Object.fromEntries(
      [...res.headers].filter(
        ([name]) => !/^(date|connection|keep-alive|transfer-encoding|content-length)$/.test(name),
      ),
    );
    return { headers, body: await res.text() };
  };
  const json = await capture(request);
  const sse = await capture({ ...request, stream: true });
  mock.reset();
  const fixed = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => {
      raw += chunk;
    });
    req.on("end", () => {
      const stream = raw.includes('"stream":true');
      const { headers, body } = stream ? sse : json;
      res.writeHead(200, stream ? headers : { ...headers, "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  fixed.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => fixed.listen(0, "127.0.0.1", resolve));
  const { port } = fixed.address() as AddressInfo;
  serveUntilStdinCloses({ mock: mock.url, fixed: `http://127.0.0.1:${port}` });
}

if (role === "servers") {
  await serveBoth();
} else {
  const options = counts({ calls: 4000, streams: 1000, concurrency: 16, rounds: 5 });
  const servers = await startChild<{ mock: string; fixed: string }>(import.meta.url, "servers");

  /** Calls (or streamed events) per second against `url`. */
  async function perSecond(url: string, kind: "calls" | "events"): Promise<number> {
    const client = new Anthropic({ baseURL: url, apiKey: "sk-bench", maxRetries: 0 });
    let next = 0;
    let units = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next++ < (kind === "calls" ? options.calls : options.streams)) {
          if (kind === "calls") {
            await client.messages.create(request);
            units++;
          } else {
            for await (const _ of await client.messages.create({ ...request, stream: true })) units++;
          }
        }
      }),
    );
    return units / ((performance.now() - started) / 1000);
  }

  const results = {
    calls: { mock: [] as number[], fixed: [] as number[] },
    events: { mock: [] as number[], fixed: [] as number[] },
  };
  for (const kind of ["calls", "events"] as const) {
    await perSecond(servers.fixed, kind); // warm-up: JIT and keep-alive sockets
    await perSecond(servers.mock, kind);
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? (["mock", "fixed"] as const) : (["fixed", "mock"] as const);
      for (const target of order) results[kind][target].push(await perSecond(servers[target], kind));
    }
  }
  servers.stop();

  console.log(
    `claude-mock: node ${process.version}, ${options.calls} calls / ${options.streams} streams per round, ${options.concurrency} in flight, ${options.rounds} rounds`,
  );
  console.log("");
  console.log(row("measure", "fixed-response server", "claude-mock", "ratio", "target"));
  console.log(row("---", "---:", "---:", "---:", "---"));
  for (const [kind, unit] of [
    ["calls", "non-streaming calls/s"],
    ["events", "streamed events/s"],
  ] as const) {
    const [fixed, mock] = [median(results[kind].fixed), median(results[kind].mock)];
    console.log(row(unit, fixed.toFixed(0), mock.toFixed(0), (mock / fixed).toFixed(3), "≥ 0.90"));
  }
  process.exit(0);
}
