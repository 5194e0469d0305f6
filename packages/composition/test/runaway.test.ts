// The runaway guard: an agent whose model never stops asking for tools, bounded by withRateLimit rules on
// its conversation, on both SDKs over HTTP against claude-mock, with the instrumentation on; and one
// conversation driven from two processes at once against one budget in a real Redis.
import { fileURLToPath } from "node:url";
import { withClaudeContext } from "@ballast/otel-claude";
import { createRateLimiter, RateLimitedError, withRateLimit } from "@ballast/ratelimit";
import { runNode, startRedis } from "@ballast/test-services";
import { describe, expect, it } from "vitest";
import { ask, client, mock, SDKS, setupTelemetry, until } from "../../otel-claude/test/harness.js";

const SEARCH = [
  {
    name: "search",
    description: "Search the order database",
    input_schema: { type: "object" as const, properties: { q: { type: "string" } } },
    run: async () => "nothing found, try again",
  },
];

describe("a model that never stops asking for tools", () => {
  for (const sdk of SDKS)
    for (const stream of [false, true])
      it(`${sdk.name}${stream ? ", streaming" : ""}: 3 calls per conversation, then RateLimitedError and stopped_by_budget`, async () => {
        const runs: Array<{ outcome: string; calls: number; error: string | null }> = [];
        const t = setupTelemetry({ config: { onRun: (r) => runs.push(r) } });
        const m = await mock();
        m.enqueue({ reply: { toolUse: { name: "search", input: { q: "order" } } }, times: Number.POSITIVE_INFINITY });
        const limiter = createRateLimiter({
          name: `runaway_${stream}`,
          rules: [
            { name: "conversation_calls", limit: 3, window: "1d" },
            { name: "conversation_usd", limit: 0.5, window: "1d", measure: "usd" },
          ],
        });
        const c = withRateLimit(client(sdk.Client, m), limiter, { key: (ctx) => ctx.conversationId ?? ctx.userId });
        const stopped = await withClaudeContext({ userId: "user_1", conversationId: "conv_9" }, async () => {
          const runner = c.beta.messages.toolRunner({ ...ask("Find my order"), tools: SEARCH, stream } as never);
          try {
            for await (const turn of runner as AsyncIterable<unknown>)
              if (stream) await (turn as { finalMessage(): Promise<unknown> }).finalMessage();
          } catch (error) {
            return error;
          }
        });
        // messages.stream() (a streaming runner's turns) wraps an error that is not the SDK's own in its
        // AnthropicError, with the original as `cause`
        const refusal = stream ? (stopped as { cause?: unknown }).cause : stopped;
        expect(refusal).toBeInstanceOf(RateLimitedError);
        expect(refusal).toMatchObject({ rule: "conversation_calls", key: "conv_9", limit: 3 });
        expect(m.requests.filter((r) => r.path === "/v1/messages")).toHaveLength(3);

        await until(() => runs.length === 1, "the run record");
        expect(runs[0]).toMatchObject({ outcome: "stopped_by_budget", calls: 3, error: "stopped_by_budget" });
        const runSpan = t.spans.getFinishedSpans().find((s) => s.name === "anthropic.messages.tool_runner");
        expect(runSpan?.attributes["ballast.run.outcome"]).toBe("stopped_by_budget");
        expect(runSpan?.attributes["ballast.run.calls"]).toBe(3);
        expect(runSpan?.attributes["gen_ai.conversation.id"]).toBe("conv_9");
        const metrics = await t.metrics();
        expect(metrics.get("ballast.run.calls")?.[0]?.attributes["ballast.run.outcome"]).toBe("stopped_by_budget");
      });
});

describe("one conversation driven from two processes at once", () => {
  it("never spends past its USD budget in Redis", async () => {
    const [redis, m] = await Promise.all([startRedis(), mock()]);
    try {
      m.enqueue({ reply: { toolUse: { name: "search", input: { q: "order" } } }, times: Number.POSITIVE_INFINITY });
      const limit = 0.05;
      const cwd = fileURLToPath(new URL(".", import.meta.url));
      const env = { MOCK_URL: m.url, REDIS_URL: redis.url, LIMIT_USD: String(limit) };
      const outputs = await Promise.all(
        [1, 2].map(() => runNode(["fixtures/runaway-conversation.mjs"], { cwd, env, timeoutMs: 60_000 })),
      );
      const results = outputs.map((out) => JSON.parse(out.trim().split("\n").at(-1) as string));
      const spent = results.reduce((sum, r) => sum + r.costUsd, 0);
      for (const r of results) expect(r).toMatchObject({ stoppedBy: "conversation_usd" });
      expect(results.every((r) => r.calls > 0)).toBe(true);
      expect(spent).toBeLessThanOrEqual(limit);
      // and the budget was used, not refused from the start: at least half of it went on calls
      expect(spent).toBeGreaterThan(limit / 2);
      expect(m.requests.filter((r) => r.path === "/v1/messages")).toHaveLength(
        results.reduce((sum, r) => sum + r.calls, 0),
      );
    } finally {
      await redis.stop();
    }
  }, 90_000);
});
