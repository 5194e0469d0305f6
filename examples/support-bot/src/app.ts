import type Anthropic from "@anthropic-ai/sdk";
import type { MessageStream } from "@anthropic-ai/sdk/lib/MessageStream";
import { withClaudeContext } from "@ballast/otel-claude";
import { priceCall } from "@ballast/pricing";
import { fastifyRateLimit, RateLimitedError, type RateLimiter, type Ticket, withRateLimit } from "@ballast/ratelimit";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { supportDocs } from "./docs.ts";

export interface ChatRequest {
  user: string;
  question: string;
  maxTokens?: number;
  stream?: boolean;
  /** the ticket-triage feature: same prompt, but sent without cache_control (a common oversight) */
  triage?: boolean;
  /** another model than the bot's (the demo uses one whose stream the simulator cuts) */
  model?: string;
}

const SYSTEM = supportDocs();
// A rough input estimate for the reservation (settle corrects it to what the API counted).
const SYSTEM_TOKENS = Math.ceil(SYSTEM.length / 4);

export interface AgentRequest {
  user: string;
  question: string;
  conversation: string;
  /** the premium agent's model (the one the demo makes loop) */
  model?: string;
}

/** The order agent's tools: what the SDK's tool runner calls when the model asks. */
const ORDER_TOOLS = [
  {
    name: "get_order",
    description: "Look an order up by its id",
    input_schema: { type: "object" as const, properties: { id: { type: "string" } } },
    run: async () => "Order A1: a hardware key, shipped on Monday, arriving Thursday.",
  },
  {
    name: "check_stock",
    description: "Check how many of an item are in stock",
    input_schema: { type: "object" as const, properties: { sku: { type: "string" } } },
    run: async () => "12 in stock at the Rotterdam warehouse.",
  },
];

/**
 * The support bot: POST /chat { user, question } → the answer, and POST /agent { user, question,
 * conversation } → the order agent's answer (the SDK's tool runner, bounded per conversation by
 * `agentLimiter`). Per-user limits before a chat call, attribution for telemetry around every call,
 * the reservation settled with what the call used.
 */
export function buildApp(options: {
  client: Anthropic;
  limiter: RateLimiter;
  model: string;
  agentLimiter: RateLimiter;
  agentModel: string;
}): FastifyInstance {
  const app = Fastify();
  // every call of an agent's run counts against its conversation's budget, and a refused one is never sent
  const agent = withRateLimit(options.client, options.agentLimiter, { key: (ctx) => ctx.conversationId });
  app.post<{ Body: AgentRequest }>("/agent", async (req, reply) => {
    const { user, question, conversation } = req.body;
    try {
      const final = await withClaudeContext(
        { userId: user, feature: "order_agent", conversationId: conversation },
        () =>
          agent.beta.messages.toolRunner({
            model: req.body.model ?? options.agentModel,
            max_tokens: 300,
            messages: [{ role: "user", content: question }],
            tools: ORDER_TOOLS,
            max_iterations: 50,
          }),
      );
      const text = final.content.map((b) => (b.type === "text" ? b.text : "")).join("");
      return { answer: text, model: final.model, stop_reason: final.stop_reason };
    } catch (error) {
      if (error instanceof RateLimitedError)
        return reply.code(429).headers(error.headers).send({ error: "budget", rule: error.rule, spent: error.spent });
      const e = error as { status?: number; name?: string; message?: string };
      return reply.code(502).send({ error: e.name ?? "error", status: e.status ?? null, message: e.message ?? "" });
    }
  });
  const demand = (body: ChatRequest) => ({
    model: options.model,
    inputTokens: SYSTEM_TOKENS + Math.ceil(body.question.length / 4),
    maxTokens: body.maxTokens ?? 400,
  });
  const perUser = fastifyRateLimit(options.limiter, {
    key: (req: { body?: unknown }) => (req.body as ChatRequest | undefined)?.user,
    demand: (req: { body?: unknown }) => demand(req.body as ChatRequest),
  });
  app.post<{ Body: ChatRequest }>("/chat", { preHandler: perUser }, async (req, reply) => {
    const { user, question } = req.body;
    const ticket = (req as unknown as { rateLimitTicket?: Ticket }).rateLimitTicket;
    const params = {
      model: req.body.model ?? options.model,
      max_tokens: req.body.maxTokens ?? 400,
      system: req.body.triage
        ? SYSTEM
        : [{ type: "text" as const, text: SYSTEM, cache_control: { type: "ephemeral" as const } }],
      messages: [{ role: "user" as const, content: question }],
    };
    const feature = req.body.triage ? "ticket_triage" : "support_chat";
    if (req.body.stream)
      return streamAnswer(reply, () => options.client.messages.stream(params), { user, feature }, ticket);
    try {
      const message = await withClaudeContext({ userId: user, feature }, () => options.client.messages.create(params));
      await ticket?.settle(message.usage);
      return { answer: textOf(message), model: message.model, stop_reason: message.stop_reason, usage: message.usage };
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

const textOf = (message: { content: Array<{ type: string; text?: string }> }) =>
  message.content.map((b) => (b.type === "text" ? b.text : "")).join("");

/**
 * Streams the answer to the HTTP client as server-sent events, as Claude writes it: `delta` events with
 * text, then `done` with the model, stop reason, usage and cost. A stream cut after text was sent ends with
 * `cut` (the partial answer stays with the client, marked as such); one that fails before any text, with
 * `error`. The reservation is settled with what the call used, or given back.
 */
async function streamAnswer(
  reply: FastifyReply,
  open: () => MessageStream,
  who: { user: string; feature: string },
  ticket: Ticket | undefined,
): Promise<void> {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const send = (event: string, data: unknown) => out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  let sent = 0;
  try {
    const stream = withClaudeContext({ userId: who.user, feature: who.feature }, open);
    stream.on("text", (text) => {
      sent += text.length;
      send("delta", { text });
    });
    const message = await stream.finalMessage();
    await ticket?.settle(message.usage);
    const cost = priceCall({ model: message.model, usage: message.usage })?.usd ?? null;
    send("done", { model: message.model, stop_reason: message.stop_reason, usage: message.usage, cost_usd: cost });
  } catch (error) {
    // messages.stream() hands Ballast's errors over as its AnthropicError's `cause`
    const cause = (error as { cause?: { name?: string; usage?: Record<string, number> } }).cause;
    // a stream cut after its message_start billed its input: settle with what it used so far
    await (cause?.usage ? ticket?.settle(cause.usage) : ticket?.cancel());
    if (sent > 0) send("cut", { reason: cause?.name ?? (error as Error).name, characters: sent });
    else send("error", { error: (error as Error).name, message: (error as Error).message });
  } finally {
    out.end();
  }
}
