// Placeholder for `pnpm demo` until the support-bot example lands (issue 7): it shows the piece
// that exists today, claude-mock, answering the real SDK with prompt caching and a 529 fault.
import Anthropic from "@anthropic-ai/sdk";
import { startMockClaude } from "@ballast/claude-mock";

const mock = await startMockClaude({ latency: { ttftMs: 150, perTokenMs: 2 } });
const client = new Anthropic({ baseURL: mock.url, apiKey: "sk-demo", maxRetries: 2 });
const system = [
  { type: "text", text: "You are the support assistant of Acme. ".repeat(200), cache_control: { type: "ephemeral" } },
];
console.log("Ballast demo: the support-bot example is coming soon (issue 7).");
console.log(`Meanwhile, claude-mock at ${mock.url} answering the real @anthropic-ai/sdk:\n`);
mock.enqueue({ status: 529 });
for (const question of ["Where is my order?", "How do I reset my password?", "Can I get a refund?"]) {
  const started = performance.now();
  const { data, response } = await client.messages
    .create({ model: "claude-sonnet-4-6", max_tokens: 200, system, messages: [{ role: "user", content: question }] })
    .withResponse();
  const u = data.usage;
  console.log(
    `${question.padEnd(30)} ${String(Math.round(performance.now() - started)).padStart(5)} ms  ` +
      `in ${u.input_tokens} · cache write ${u.cache_creation_input_tokens} · cache read ${u.cache_read_input_tokens} · ` +
      `out ${u.output_tokens} · ${data.stop_reason} · ${response.headers.get("request-id")}`,
  );
}
console.log(`\nWire: ${mock.requests.map((r) => r.status).join(" → ")} (the 529 was retried by the SDK)`);
await mock.close();
