import type Anthropic from "@anthropic-ai/sdk";
import { withClaudeContext } from "@ballast/otel-claude";
import { fastifyRateLimit, type RateLimiter, type Ticket } from "@ballast/ratelimit";
import Fastify, { type FastifyInstance } from "fastify";
import { supportDocs } from "./docs.ts";

export interface ChatRequest {
  user: string;
  question: string;
  maxTokens?: number;
  stream?: boolean;
  /** the ticket-triage feature: same prompt, but sent without cache_control (a common oversight) */
  triage?: boolean;
}

const SYSTEM = supportDocs();
// A rough input estimate for the reservation (settle corrects it to what the API counted).
const SYSTEM_TOKENS = Math.ceil(SYSTEM.length / 4);

/**
 * The support bot: POST /chat { user, question } → the answer. Per-user limits before the call,
 * attribution for telemetry around it, the reservation settled with what the call used.
 */
export function buildApp(options: { client: Anthropic; limiter: RateLimiter; model: string }): FastifyInstance {
  const app = Fastify();
  const demand = (body: ChatRequest) => ({
    model: options.model,
    inputTokens: SYSTEM_TOKENS + Math.ceil(body.question.length / 4),
    maxTokens: body.maxTokens ?? 400,
  });
  app.addHook(
    "preHandler",
    fastifyRateLimit(options.limiter, {
      key: (req: { body?: unknown }) => (req.body as ChatRequest | undefined)?.user,
      demand: (req: { body?: unknown }) => demand(req.body as ChatRequest),
    }),
  );
  app.post<{ Body: ChatRequest }>("/chat", async (req, reply) => {
    const { user, question } = req.body;
    const ticket = (req as unknown as { rateLimitTicket?: Ticket }).rateLimitTicket;
    const params = {
      model: options.model,
      max_tokens: req.body.maxTokens ?? 400,
      system: req.body.triage
        ? SYSTEM
        : [{ type: "text" as const, text: SYSTEM, cache_control: { type: "ephemeral" as const } }],
      messages: [{ role: "user" as const, content: question }],
    };
    const feature = req.body.triage ? "ticket_triage" : "support_chat";
    try {
      const message = await withClaudeContext({ userId: user, feature }, () =>
        req.body.stream
          ? options.client.messages.stream(params).finalMessage()
          : options.client.messages.create(params),
      );
      await ticket?.settle(message.usage);
      const text = message.content.map((b) => (b.type === "text" ? b.text : "")).join("");
      return { answer: text, model: message.model, stop_reason: message.stop_reason, usage: message.usage };
    } catch (error) {
      await ticket?.cancel();
      const e = error as { status?: number; name?: string; message?: string };
      return reply
        .code(502)
        .send({ error: e.name ?? "error", status: e.status ?? null, message: e.message ?? String(error) });
    }
  });
  return app;
}
