import { AnthropicBedrock } from "@anthropic-ai/bedrock-sdk";
import { AnthropicVertex } from "@anthropic-ai/vertex-sdk";
import { describe, expect, it } from "vitest";
import { mock, setupTelemetry, until } from "./harness.js";

// Google credentials are the one thing faked here: the Vertex client, HTTP and the mock's Vertex
// route (model in the path, `anthropic_version` in the body) are real.
const authClient = {
  projectId: "ballast-test",
  getRequestHeaders: async () => new Headers({ authorization: "Bearer vertex-test-token" }),
};

describe("Vertex AI client", () => {
  it("is traced once per call with gen_ai.provider.name = gcp.vertex_ai, streams included", async () => {
    const t = setupTelemetry();
    const m = await mock();
    const vertex = new AnthropicVertex({
      baseURL: `${m.url}/v1`,
      region: "us-east5",
      projectId: "ballast-test",
      authClient: authClient as never,
      maxRetries: 0,
    });
    const params = {
      model: "claude-sonnet-4-6",
      max_tokens: 100,
      messages: [{ role: "user" as const, content: "Hello" }],
    };
    await vertex.messages.create(params);
    await vertex.messages.stream(params).finalMessage();
    await until(() => t.records.length === 2, "two log records");

    expect(m.requests.map((r) => r.path)).toEqual([
      "/v1/projects/ballast-test/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-6:rawPredict",
      "/v1/projects/ballast-test/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-6:streamRawPredict",
    ]);
    const spans = t.claudeSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.attributes["gen_ai.provider.name"]).toBe("gcp.vertex_ai");
      expect(span.attributes["gen_ai.usage.cost"]).toBeGreaterThan(0);
    }
    expect(t.records.map((r) => [r.provider, r.model, r.outcome])).toEqual([
      ["gcp.vertex_ai", "claude-sonnet-4-6", "completed"],
      ["gcp.vertex_ai", "claude-sonnet-4-6", "completed"],
    ]);
    const duration = (await t.metrics()).get("gen_ai.client.operation.duration")!;
    expect(duration.map((p) => p.attributes["gen_ai.provider.name"])).toEqual(["gcp.vertex_ai", "gcp.vertex_ai"]);
  });
});

describe("Amazon Bedrock client", () => {
  // Static AWS credentials only sign the requests (SigV4); the mock serves Bedrock's invoke routes,
  // binary AWS event-stream framing included.
  it("is traced once per call with gen_ai.provider.name = aws.bedrock and priced from its Bedrock model id", async () => {
    const t = setupTelemetry();
    const m = await mock();
    const bedrock = new AnthropicBedrock({
      baseURL: m.url,
      awsRegion: "us-east-1",
      awsAccessKey: "AKIDEXAMPLE",
      awsSecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      maxRetries: 0,
    });
    const model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const params = { model, max_tokens: 100, messages: [{ role: "user" as const, content: "Hello" }] };
    const created = await bedrock.messages.create(params);
    const streamed = await bedrock.messages.stream(params).finalMessage();
    expect(streamed.content).toEqual(created.content);
    await until(() => t.records.length === 2, "two log records");

    expect(m.requests.map((r) => r.path)).toEqual([
      `/model/${model}/invoke`,
      `/model/${model}/invoke-with-response-stream`,
    ]);
    expect(String(m.requests[0]!.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    const spans = t.claudeSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.attributes["gen_ai.provider.name"]).toBe("aws.bedrock");
      expect(span.attributes["ballast.pricing.model"]).toBe("claude-sonnet-4-5");
    }
    expect(t.records.map((r) => [r.provider, r.outcome, r.cost_usd !== null])).toEqual([
      ["aws.bedrock", "completed", true],
      ["aws.bedrock", "completed", true],
    ]);
    const exported = JSON.stringify([spans.map((s) => s.attributes), t.records]);
    expect(exported).not.toContain("wJalrXUtnFEMI");
  });
});
