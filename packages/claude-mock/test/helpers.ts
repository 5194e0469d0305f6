import Anthropic from "@anthropic-ai/sdk";
import AnthropicLegacy from "anthropic-sdk-0133";
import { afterEach } from "vitest";
import { type MockClaude, type MockClaudeOptions, startMockClaude } from "../src/index.js";

/** The SDK versions every behaviour is checked against: latest 1.x and the last without native tracing. */
export const SDKS = [
  { name: "sdk 1.x", Client: Anthropic },
  { name: "sdk 0.133", Client: AnthropicLegacy as unknown as typeof Anthropic },
] as const;

export const MODEL = "claude-sonnet-4-6";

const open: MockClaude[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

/** A mock closed after the current test. */
export async function mock(options: MockClaudeOptions = {}): Promise<MockClaude> {
  const m = await startMockClaude(options);
  open.push(m);
  return m;
}

export function client(Client: typeof Anthropic, m: MockClaude, maxRetries = 0): Anthropic {
  return new Client({ baseURL: m.url, apiKey: "sk-ant-test-key", maxRetries });
}

export const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  max_tokens: 1000,
  messages: [{ role: "user" as const, content }],
  ...extra,
});
