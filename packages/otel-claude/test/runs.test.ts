// Agent runs, end to end: the real SDK's tool runner (1.x with its own run span, 0.133 without) and
// loops written by hand under withClaudeRun, over HTTP against claude-mock, with the instrumentation and
// the span processor on, sampled and not.
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { type ClaudeRunRecord, withClaudeContext, withClaudeRun } from "../src/index.js";
import { ask, client, MODEL, mock, SDKS, setupTelemetry, until } from "./harness.js";

// claude-sonnet-4-6: $3 / $15 per million input / output tokens, no cache in these calls
const usd = (input: number, output: number) => (input * 3 + output * 15) / 1e6;

const ORDER_TOOLS = (failFirstStockCheck: boolean) => {
  let stockChecks = 0;
  return [
    {
      name: "get_order",
      description: "Look an order up",
      input_schema: { type: "object" as const, properties: { id: { type: "string" } } },
      run: async () => "order A1: shipped yesterday",
    },
    {
      name: "check_stock",
      description: "Check an item's stock",
      input_schema: { type: "object" as const, properties: { sku: { type: "string" } } },
      run: async () => {
        stockChecks++;
        if (failFirstStockCheck && stockChecks === 1) throw new Error("the stock service timed out");
        return "12 in stock";
      },
    },
  ];
};

/** Scripts a 4-turn run: three tool calls (one failing), then the answer. */
function scriptFourTurns(m: Awaited<ReturnType<typeof mock>>): void {
  m.enqueue(
    { reply: { toolUse: { name: "get_order", input: { id: "A1" } } } },
    { reply: { toolUse: { name: "check_stock", input: { sku: "X" } } } },
    { reply: { toolUse: { name: "check_stock", input: { sku: "X" } } } },
    { reply: { text: "Your order shipped yesterday and the item is in stock." } },
  );
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const runSpanOf = (spans: ReadableSpan[]) => spans.filter((s) => s.name === "anthropic.messages.tool_runner");

describe("a tool runner's run", () => {
  for (const sdk of SDKS)
    for (const stream of [false, true])
      it(`${sdk.name}${stream ? ", streaming" : ""}: one run span with its calls' sums, one run record, run metrics`, async () => {
        const runs: ClaudeRunRecord[] = [];
        const t = setupTelemetry({ config: { onRun: (r) => runs.push(r) } });
        const m = await mock();
        scriptFourTurns(m);
        const c = client(sdk.Client, m);
        const final = await withClaudeContext({ userId: "user_7", feature: "order_agent" }, () =>
          c.beta.messages.toolRunner({ ...ask("Where is order A1?"), tools: ORDER_TOOLS(true), stream } as never),
        );
        expect((final as { content: Array<{ text?: string }> }).content.at(-1)?.text).toContain("shipped");
        await until(() => runs.length === 1 && t.records.length === 4, "the run and call records");

        const [run] = runs as [ClaudeRunRecord];
        const cost = sum(t.records.map((r) => usd(r.input_tokens, r.output_tokens)));
        expect(run).toMatchObject({
          name: "tool_runner",
          user_id: "user_7",
          feature: "order_agent",
          models: [MODEL],
          calls: 4,
          tool_calls: 3,
          tool_errors: 1,
          tools: { get_order: { calls: 1, errors: 0 }, check_stock: { calls: 2, errors: 1 } },
          input_tokens: sum(t.records.map((r) => r.input_tokens)),
          output_tokens: sum(t.records.map((r) => r.output_tokens)),
          outcome: "completed",
          error: null,
        });
        expect(run.cost_usd).toBeCloseTo(cost, 12);
        for (const record of t.records) expect(record.run_id).toBe(run.run_id);

        const spans = t.spans.getFinishedSpans();
        const [runSpan] = runSpanOf(spans);
        expect(runSpan, "the run span").toBeDefined();
        const calls = spans.filter((s) => s.name === "anthropic.messages.create");
        expect(calls).toHaveLength(4);
        for (const call of calls) expect(call.parentSpanContext?.spanId).toBe(runSpan!.spanContext().spanId);
        const a = runSpan!.attributes;
        expect(a["gen_ai.operation.name"]).toBe("invoke_agent");
        expect(a["gen_ai.usage.input_tokens"]).toBe(
          sum(calls.map((s) => s.attributes["gen_ai.usage.input_tokens"] as number)),
        );
        expect(a["gen_ai.usage.output_tokens"]).toBe(
          sum(calls.map((s) => s.attributes["gen_ai.usage.output_tokens"] as number)),
        );
        expect(a["gen_ai.usage.cost"]).toBeCloseTo(
          sum(calls.map((s) => s.attributes["gen_ai.usage.cost"] as number)),
          12,
        );
        expect(a["gen_ai.usage.cost"]).toBeCloseTo(cost, 12);
        expect(a).toMatchObject({
          "ballast.run.calls": 4,
          "ballast.run.tool_calls": 3,
          "ballast.run.tool_errors": 1,
          "ballast.run.outcome": "completed",
          "ballast.run.id": run.run_id,
          "user.id": "user_7",
        });
        expect(run.span_id).toBe(runSpan!.spanContext().spanId);

        const metrics = await t.metrics();
        const runCost = metrics.get("ballast.run.cost")!;
        expect(runCost).toHaveLength(1);
        expect(runCost[0]!.attributes).toMatchObject({
          "gen_ai.agent.name": "tool_runner",
          "ballast.run.outcome": "completed",
          "ballast.feature": "order_agent",
        });
        expect((runCost[0]!.value as { sum: number }).sum).toBeCloseTo(cost, 12);
        expect((metrics.get("ballast.run.calls")![0]!.value as { sum: number }).sum).toBe(4);
        expect((metrics.get("gen_ai.invoke_agent.duration")![0]!.value as { count: number }).count).toBe(1);
        const tools = metrics.get("gen_ai.execute_tool.duration")!;
        const count = (tool: string, failed: boolean) =>
          sum(
            tools
              .filter((p) => p.attributes["gen_ai.tool.name"] === tool && "error.type" in p.attributes === failed)
              .map((p) => (p.value as { count: number }).count),
          );
        expect([count("get_order", false), count("check_stock", false), count("check_stock", true)]).toEqual([1, 1, 1]);
      });

  for (const sdk of SDKS)
    it(`${sdk.name}: the run record and metrics are right when the trace is sampled out`, async () => {
      const runs: ClaudeRunRecord[] = [];
      const t = setupTelemetry({ sampled: false, config: { onRun: (r) => runs.push(r) } });
      const m = await mock();
      scriptFourTurns(m);
      await client(sdk.Client, m).beta.messages.toolRunner({
        ...ask("Where is order A1?"),
        tools: ORDER_TOOLS(false),
      } as never);
      await until(() => runs.length === 1 && t.records.length === 4, "the run and call records");
      expect(runs[0]).toMatchObject({ calls: 4, tool_calls: 3, tool_errors: 0, outcome: "completed" });
      expect(runs[0]!.cost_usd).toBeCloseTo(sum(t.records.map((r) => usd(r.input_tokens, r.output_tokens))), 12);
      expect(t.spans.getFinishedSpans()).toHaveLength(0);
      const metrics = await t.metrics();
      expect((metrics.get("ballast.run.calls")![0]!.value as { sum: number }).sum).toBe(4);
      expect(t.logs.getFinishedLogRecords().filter((l) => l.eventName === "ballast.claude.run")).toHaveLength(1);
    });

  for (const sdk of SDKS)
    it(`${sdk.name}: the conversation id of the SDK's option is the run's and every call's`, async () => {
      const runs: ClaudeRunRecord[] = [];
      const t = setupTelemetry({ config: { onRun: (r) => runs.push(r) } });
      const m = await mock();
      m.enqueue({ reply: { toolUse: { name: "get_order", input: { id: "A1" } } } }, { reply: { text: "Shipped." } });
      await client(sdk.Client, m).beta.messages.toolRunner(
        { ...ask("Where is order A1?"), tools: ORDER_TOOLS(false) } as never,
        { openTelemetry: { conversationId: "conv_42" } } as never,
      );
      await until(() => runs.length === 1 && t.records.length === 2, "the run and call records");
      expect(runs[0]!.conversation_id).toBe("conv_42");
      expect(t.records.map((r) => r.conversation_id)).toEqual(["conv_42", "conv_42"]);
      for (const span of t.spans.getFinishedSpans().filter((s) => s.name.startsWith("anthropic.messages")))
        expect(span.attributes["gen_ai.conversation.id"], span.name).toBe("conv_42");
    });

  for (const sdk of SDKS)
    it(`${sdk.name}: a run whose call fails is failed; one left early is aborted`, async () => {
      const runs: ClaudeRunRecord[] = [];
      const t = setupTelemetry({ config: { onRun: (r) => runs.push(r) } });
      const m = await mock();
      m.enqueue({ reply: { toolUse: { name: "get_order", input: { id: "A1" } } } }, { status: 400 });
      const c = client(sdk.Client, m);
      await expect(
        c.beta.messages.toolRunner({ ...ask("Where is order A1?"), tools: ORDER_TOOLS(false) } as never),
      ).rejects.toMatchObject({ status: 400 });
      m.enqueue({ reply: { toolUse: { name: "get_order", input: { id: "A1" } } } });
      for await (const _ of c.beta.messages.toolRunner({
        ...ask("Where is order A1?"),
        tools: ORDER_TOOLS(false),
      } as never))
        break;
      await until(() => runs.length === 2, "the run records");
      expect(runs.map((r) => [r.outcome, r.calls])).toEqual([
        ["failed", 2],
        ["aborted", 1],
      ]);
      expect(runs[0]!.error).toBe("invalid_request_error");
      const runSpans = runSpanOf(t.spans.getFinishedSpans());
      expect(runSpans.map((s) => s.attributes["ballast.run.outcome"])).toEqual(["failed", "aborted"]);
    });
});

describe("withClaudeRun around a loop written by hand", () => {
  for (const sdk of SDKS)
    it(`${sdk.name}: the same run span, record and metrics`, async () => {
      const runs: ClaudeRunRecord[] = [];
      const t = setupTelemetry({ config: { onRun: (r) => runs.push(r) } });
      const m = await mock();
      const c = client(sdk.Client, m);
      const answer = await withClaudeContext({ feature: "triage" }, () =>
        withClaudeRun({ name: "triage_loop", conversationId: "conv_7" }, async () => {
          let reply = await c.messages.create(ask("Classify: my parcel is late"));
          for (let turn = 0; turn < 2 && reply.stop_reason !== "end_turn"; turn++)
            reply = await c.messages.create(ask("Classify again"));
          await c.messages.create(ask("Summarise"));
          return reply;
        }),
      );
      expect(answer.content.length).toBeGreaterThan(0);
      await until(() => runs.length === 1, "the run record");
      const [run] = runs as [ClaudeRunRecord];
      expect(run).toMatchObject({
        name: "triage_loop",
        conversation_id: "conv_7",
        feature: "triage",
        outcome: "completed",
      });
      expect(run.calls).toBe(t.records.length);
      expect(run.cost_usd).toBeCloseTo(sum(t.records.map((r) => usd(r.input_tokens, r.output_tokens))), 12);
      for (const record of t.records) expect(record).toMatchObject({ run_id: run.run_id, conversation_id: "conv_7" });
      const [runSpan] = runSpanOf(t.spans.getFinishedSpans());
      expect(runSpan!.attributes).toMatchObject({
        "gen_ai.agent.name": "triage_loop",
        "gen_ai.conversation.id": "conv_7",
        "ballast.run.calls": t.records.length,
        "ballast.run.outcome": "completed",
      });
      for (const call of t.spans.getFinishedSpans().filter((s) => s.name === "anthropic.messages.create"))
        expect(call.parentSpanContext?.spanId).toBe(runSpan!.spanContext().spanId);
    });

  it("adds a tool runner's run inside it to both, and a failing function fails the run", async () => {
    const runs: ClaudeRunRecord[] = [];
    const t = setupTelemetry({ config: { onRun: (r) => runs.push(r) } });
    const m = await mock();
    const c = client(SDKS[0].Client, m);
    m.enqueue(
      { reply: { text: "Hello, how can I help?" } },
      { reply: { toolUse: { name: "get_order", input: { id: "A1" } } } },
      { reply: { text: "Shipped." } },
    );
    await withClaudeRun({ name: "support_session" }, async () => {
      await c.messages.create(ask("Hello"));
      await c.beta.messages.toolRunner({ ...ask("Where is order A1?"), tools: ORDER_TOOLS(false) } as never);
    });
    await expect(
      withClaudeRun({ name: "doomed" }, async () => {
        throw new TypeError("bad input");
      }),
    ).rejects.toThrow("bad input");
    await until(() => runs.length === 3, "the run records");
    const byName = Object.fromEntries(runs.map((r) => [r.name, r]));
    expect(byName.tool_runner).toMatchObject({ calls: 2, tool_calls: 1 });
    expect(byName.support_session).toMatchObject({ calls: 3, outcome: "completed" });
    // each call is recorded in its innermost run; the outer run's sums include the inner run's
    expect(t.records.map((r) => r.run_id)).toEqual([
      byName.support_session!.run_id,
      byName.tool_runner!.run_id,
      byName.tool_runner!.run_id,
    ]);
    expect(byName.support_session!.cost_usd).toBeCloseTo(
      sum(t.records.map((r) => usd(r.input_tokens, r.output_tokens))),
      12,
    );
    expect(byName.doomed).toMatchObject({ calls: 0, outcome: "failed", error: "TypeError" });
  });

  it("says what it accepts", async () => {
    await expect(withClaudeRun({} as never, async () => 1)).rejects.toThrow(
      /withClaudeRun: the first argument must be \{ name/,
    );
    await expect(withClaudeRun({ name: "x", conversationId: "" }, async () => 1)).rejects.toThrow(/`conversationId`/);
  });
});
