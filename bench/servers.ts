// Child process for bench/mock-throughput: claude-mock and a fixed-response server side by side,
// so the client under test has the other core to itself.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startMockClaude } from "@ballast/claude-mock";

const mock = await startMockClaude({ seed: 1, maxRecordedRequests: 1000 });

// Capture the mock's own answers once; the fixed server replays those exact headers and bytes with
// no work, so the ratio measures what the mock spends per call, not what the client spends parsing.
const request = JSON.parse(process.argv[2] ?? "{}");
const capture = async (body: unknown) => {
  const res = await fetch(`${mock.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": "k" },
    body: JSON.stringify(body),
  });
  const headers = Object.fromEntries(
    [...res.headers].filter(([name]) => !/^(date|connection|keep-alive|transfer-encoding|content-length)$/.test(name)),
  );
  return { headers, body: await res.text() };
};
const json = await capture(request);
const sse = await capture({ ...request, stream: true });
mock.reset();

const fixed = createServer((req, res) => {
  let raw = "";
  req.on("data", (c) => {
    raw += c;
  });
  req.on("end", () => {
    const stream = raw.includes('"stream":true');
    const { headers, body } = stream ? sse : json;
    res.writeHead(200, stream ? headers : { ...headers, "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
fixed.keepAliveTimeout = 30_000;
await new Promise<void>((r) => fixed.listen(0, "127.0.0.1", r));
const { port } = fixed.address() as AddressInfo;
process.stdout.write(`${JSON.stringify({ mock: mock.url, fixed: `http://127.0.0.1:${port}` })}\n`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
