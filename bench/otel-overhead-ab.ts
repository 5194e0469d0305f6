// The CPU that @ballast/otel-claude adds to each call, measured in one process by switching the
// instrumentation off and on between interleaved batches (native SDK tracing stays on throughout), so
// machine noise that moves whole processes cancels out. Prints median client CPU µs per call.
//   node bench/otel-overhead-ab.ts [mock-url]   (starts its own claude-mock child when no URL is given)
import { spawn } from "node:child_process";
import { once } from "node:events";
import Anthropic from "@anthropic-ai/sdk";
import { instrumentSdk } from "./otel-instrumented.ts";
import { median } from "./stats.ts";

let url = process.argv[2];
let server: ReturnType<typeof spawn> | undefined;
if (!url) {
  server = spawn(process.execPath, [new URL("./mock-server.ts", import.meta.url).pathname], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const [line] = (await once(server.stdout!, "data")) as [Buffer];
  url = (JSON.parse(line.toString()) as { url: string }).url;
}
const inst = instrumentSdk();
const client = new Anthropic({ baseURL: url, apiKey: "k", maxRetries: 0 });
const params = {
  model: "claude-sonnet-4-6",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Where is my order?" }],
};
async function run(n: number, stream: boolean) {
  let next = 0;
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next++ < n) {
        if (stream) {
          for await (const _ of await client.messages.create({ ...params, stream: true }));
        } else await client.messages.create(params);
      }
    }),
  );
  const u = process.cpuUsage(cpu);
  return (u.user + u.system) / n;
}
console.log("| client CPU µs per call | instrumentation off | on | added |");
console.log("| --- | ---: | ---: | ---: |");
for (const stream of [false, true]) {
  const res: Record<string, number[]> = { off: [], on: [] };
  for (let i = 0; i < 8; i++) {
    for (const mode of i % 2 ? ["on", "off"] : ["off", "on"]) {
      if (mode === "on") inst.enable();
      else inst.disable();
      res[mode]?.push(await run(2000, stream));
    }
  }
  const [off, on] = [median(res.off ?? []), median(res.on ?? [])];
  console.log(
    `| ${stream ? "stream" : "non-streaming"} | ${off.toFixed(0)} | ${on.toFixed(0)} | ${(on - off).toFixed(0)} |`,
  );
}
server?.stdin?.end();
process.exit(0);
