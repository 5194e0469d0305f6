import type { Fault } from "./faults.js";
import { hasToolResult, lastUserText } from "./prompt.js";
import type { CacheUsage } from "./prompt-cache.js";
import { base62, fnv1a, mulberry32, type Rng } from "./random.js";
import { finishText, generateText, type Reply, type ReplyBlock, valueForSchema } from "./reply.js";
import { countTextTokens } from "./tokenizer.js";

type Json = Record<string, unknown>;

export interface ApiMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: ReplyBlock[];
  stop_reason: Reply["stopReason"];
  stop_sequence: string | null;
  usage: CacheUsage & { output_tokens: number; service_tier: "standard" | "batch" };
}

/** Validation the API does before anything else; returns the 400 message, or undefined. */
export function validateMessageParams(body: unknown, modelFromPath?: string): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "body: Input should be an object";
  const b = body as Json;
  if (modelFromPath === undefined) {
    if (b.model === undefined) return "model: Field required";
    if (typeof b.model !== "string") return "model: Input should be a valid string";
  }
  if (b.messages === undefined) return "messages: Field required";
  if (!Array.isArray(b.messages)) return "messages: Input should be a valid list";
  if (b.messages.length === 0) return "messages: at least one message is required";
  if (b.max_tokens === undefined) return "max_tokens: Field required";
  if (!Number.isInteger(b.max_tokens)) return "max_tokens: Input should be a valid integer";
  if ((b.max_tokens as number) < 1) return "max_tokens: Input should be greater than or equal to 1";
  if (b.stop_sequences !== undefined && !Array.isArray(b.stop_sequences)) {
    return "stop_sequences: Input should be a valid list";
  }
  for (const key of ["temperature", "top_p"] as const) {
    const v = b[key];
    if (v !== undefined && (typeof v !== "number" || v < 0 || v > 1)) {
      return `${key}: Input should be a number between 0 and 1`;
    }
  }
  return undefined;
}

function pickTool(body: Json): Json | undefined {
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
  if (tools.length === 0 || hasToolResult(body)) return undefined;
  const choice = (body.tool_choice ?? { type: "auto" }) as Json;
  if (choice.type === "none") return undefined;
  if (choice.type === "tool") return tools.find((t) => t.name === choice.name);
  if (choice.type === "any") return tools[0];
  // auto: the mock calls a tool only when the user names it, so tests can steer it.
  const text = lastUserText(body);
  return tools.find((t) => typeof t.name === "string" && text.includes(t.name));
}

function outputSchema(body: Json): unknown {
  const format = ((body.output_config as Json | undefined)?.format ?? body.output_format) as Json | undefined;
  return format?.type === "json_schema" ? (format.schema ?? {}) : undefined;
}

export interface ReplyContext {
  seed: number;
  minTokens: number;
  maxTokens: number;
  ids: Rng;
  scripted?: Fault["reply"];
}

/** The reply for a request: deterministic for a given seed and request body. */
export function buildReply(body: Json, ctx: ReplyContext): Reply {
  // Parameters that only cut or deliver the reply stay out of the seed, so a `max_tokens` or
  // stop-sequence reply is a prefix of the full one, and a stream says what a create says.
  const { stream: _s, max_tokens: _m, stop_sequences: _q, metadata: _d, ...content } = body;
  const rng = mulberry32(fnv1a(JSON.stringify(content), ctx.seed));
  const maxTokens = body.max_tokens as number;
  const stops = ((body.stop_sequences as unknown[] | undefined) ?? []).map(String);
  const toolUse = ctx.scripted?.toolUse ?? (ctx.scripted?.text === undefined ? toolFromRequest(body, rng) : undefined);
  if (toolUse) {
    const block: ReplyBlock = {
      type: "tool_use",
      id: `toolu_01${base62(ctx.ids, 22)}`,
      name: toolUse.name,
      input: toolUse.input ?? {},
    };
    const tokens = 10 + countTextTokens(toolUse.name) + countTextTokens(JSON.stringify(block.input));
    if (tokens > maxTokens) {
      return { content: [], outputTokens: maxTokens, stopReason: "max_tokens", stopSequence: null };
    }
    return { content: [block], outputTokens: tokens, stopReason: "tool_use", stopSequence: null };
  }
  let text = ctx.scripted?.text;
  if (text === undefined) {
    const schema = outputSchema(body);
    text =
      schema !== undefined
        ? JSON.stringify(valueForSchema(schema, rng))
        : generateText(rng, ctx.minTokens + Math.floor(rng() * (ctx.maxTokens - ctx.minTokens + 1)));
  }
  return finishText(text, maxTokens, stops);
}

function toolFromRequest(body: Json, rng: Rng): { name: string; input: unknown } | undefined {
  const tool = pickTool(body);
  if (!tool) return undefined;
  return { name: String(tool.name), input: valueForSchema(tool.input_schema ?? { type: "object" }, rng) };
}

export function toApiMessage(
  id: string,
  model: string,
  reply: Reply,
  usage: CacheUsage,
  serviceTier: "standard" | "batch",
): ApiMessage {
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content: reply.content,
    stop_reason: reply.stopReason,
    stop_sequence: reply.stopSequence,
    usage: { ...usage, output_tokens: reply.outputTokens, service_tier: serviceTier },
  };
}
