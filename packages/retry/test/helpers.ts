import Anthropic from "@anthropic-ai/sdk";
import { type MockClaude, type MockClaudeOptions, startMockClaude } from "@ballast/claude-mock";
import AnthropicLegacy from "anthropic-sdk-0133";
import { afterEach } from "vitest";

export const SDKS = [
  { name: "sdk 1.x", Client: Anthropic },
  { name: "sdk 0.133", Client: AnthropicLegacy as unknown as typeof Anthropic },
] as const;

const mocks: MockClaude[] = [];
afterEach(async () => {
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});

export async function mock(options: MockClaudeOptions = {}): Promise<MockClaude> {
  const m = await startMockClaude(options);
  mocks.push(m);
  return m;
}

/** A client built with the SDK's default retries (2), as users build them. */
export const client = (m: MockClaude, Client: typeof Anthropic = Anthropic) =>
  new Client({ baseURL: m.url, apiKey: "sk-ant-test" });

export const PRIMARY = "claude-opus-4-8";
export const FALLBACK = "claude-haiku-4-5";
export const ask = (extra: Record<string, unknown> = {}) => ({
  model: PRIMARY,
  max_tokens: 300,
  messages: [{ role: "user" as const, content: "Where is my order?" }],
  ...extra,
});
