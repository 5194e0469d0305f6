// The Claude calls the otel-claude benches make: a support-bot request, awaited whole or read to the end as a
// stream, 16 in flight.
import type Anthropic from "@anthropic-ai/sdk";

export const params = {
  model: "claude-sonnet-4-6",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Where is my order? It was due on Monday." }],
};

/** Runs `n` tasks, 16 at a time. */
export async function inFlight(n: number, task: () => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next++ < n) await task();
    }),
  );
}

/** One call of `body` (default `params`) on `client`, non-streaming or as a stream read to its end. */
export function callOf(client: Anthropic, stream: boolean, body: typeof params = params): () => Promise<void> {
  return stream
    ? async () => {
        for await (const _ of await client.messages.create({ ...body, stream: true }));
      }
    : () => client.messages.create(body).then(() => {});
}
