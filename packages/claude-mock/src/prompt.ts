import { createHash } from "node:crypto";
import { countTextTokens, OVERHEAD } from "./tokenizer.js";

/** One cacheable unit of the prompt, in the order the API caches: tools → system → messages. */
export interface Segment {
  tokens: number;
  /** total prompt tokens up to and including this segment */
  cumulativeTokens: number;
  /** hash of the model and every segment up to and including this one */
  prefixHash: string;
  cacheTtl?: "5m" | "1h";
}

export interface AnalyzedPrompt {
  totalTokens: number;
  segments: Segment[];
}

export class PromptError extends Error {}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function cacheTtlOf(block: unknown, where: string): "5m" | "1h" | undefined {
  if (!isObject(block) || block.cache_control == null) return undefined;
  const cc = block.cache_control;
  const field = where ? `${where}.cache_control` : "cache_control";
  if (!isObject(cc) || cc.type !== "ephemeral") throw new PromptError(`${field}.type: Input should be 'ephemeral'`);
  if (cc.ttl === undefined || cc.ttl === "5m") return "5m";
  if (cc.ttl === "1h") return "1h";
  throw new PromptError(`${field}.ttl: Input should be '5m' or '1h'`);
}

function contentTokens(block: unknown): number {
  if (typeof block === "string") return countTextTokens(block);
  if (!isObject(block)) return 0;
  switch (block.type) {
    case "text":
      return countTextTokens(String(block.text ?? ""));
    case "image":
      return OVERHEAD.image;
    case "document": {
      const source = block.source;
      if (isObject(source) && source.type === "text") return countTextTokens(String(source.data ?? ""));
      return OVERHEAD.document;
    }
    case "tool_use":
      return countTextTokens(String(block.name ?? "")) + countTextTokens(JSON.stringify(block.input ?? {}));
    case "tool_result": {
      const c = block.content;
      if (Array.isArray(c)) return c.reduce<number>((sum, b) => sum + contentTokens(b), 0);
      return contentTokens(typeof c === "string" ? c : "");
    }
    case "thinking":
      return countTextTokens(String(block.thinking ?? ""));
    default:
      return countTextTokens(JSON.stringify(block));
  }
}

/**
 * Splits a request into cacheable segments with token counts and prefix hashes. The hash chain
 * lets the prompt cache recognise a prefix seen before, whichever breakpoint marked it.
 */
export function analyzePrompt(body: Json, withHashes = true): AnalyzedPrompt {
  const model = String(body.model);
  const segments: Segment[] = [];
  // Hashes only matter when the prompt has a breakpoint; most requests have none, so skip the work.
  const hash = withHashes ? createHash("sha1").update(model) : undefined;
  let cumulative = OVERHEAD.request;
  let breakpoints = 0;

  const push = (canonical: string, tokens: number, ttl: "5m" | "1h" | undefined) => {
    hash?.update(canonical);
    cumulative += tokens;
    if (ttl) breakpoints++;
    const segment: Segment = {
      tokens,
      cumulativeTokens: cumulative,
      prefixHash: hash ? hash.copy().digest("base64") : "",
    };
    if (ttl) segment.cacheTtl = ttl;
    segments.push(segment);
  };

  const tools = body.tools;
  if (tools !== undefined) {
    if (!Array.isArray(tools)) throw new PromptError("tools: Input should be a valid list");
    if (tools.length > 0) cumulative += OVERHEAD.toolsSystemPrompt;
    tools.forEach((tool, i) => {
      if (!isObject(tool)) throw new PromptError(`tools.${i}: Input should be a valid dictionary`);
      const { cache_control: _ignored, ...rest } = tool;
      const text = JSON.stringify(rest);
      push(`T${text}`, OVERHEAD.tool + countTextTokens(text), cacheTtlOf(tool, `tools.${i}`));
    });
  }

  const system = body.system;
  if (typeof system === "string") {
    push(`S${system}`, countTextTokens(system), undefined);
  } else if (Array.isArray(system)) {
    system.forEach((block, i) => {
      if (!isObject(block) || block.type !== "text") {
        throw new PromptError(`system.${i}: Input should be a text block`);
      }
      push(`S${block.text}`, contentTokens(block), cacheTtlOf(block, `system.${i}`));
    });
  } else if (system !== undefined) {
    throw new PromptError("system: Input should be a valid string or list of text blocks");
  }

  const messages = body.messages as unknown[];
  messages.forEach((message, i) => {
    if (!isObject(message) || (message.role !== "user" && message.role !== "assistant")) {
      throw new PromptError(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    }
    const content = message.content;
    const role = message.role === "user" ? "U" : "A";
    if (typeof content === "string") {
      push(`${role}${content}`, OVERHEAD.message + countTextTokens(content), undefined);
    } else if (Array.isArray(content)) {
      content.forEach((block, j) => {
        const { cache_control: _ignored, ...rest }: Json = isObject(block) ? block : { value: block };
        push(
          `${j === 0 ? role : "+"}${JSON.stringify(rest)}`,
          (j === 0 ? OVERHEAD.message : 0) + contentTokens(block),
          cacheTtlOf(block, `messages.${i}.content.${j}`),
        );
      });
    } else {
      throw new PromptError(`messages.${i}.content: Input should be a valid string or list`);
    }
  });

  // Automatic caching: a top-level cache_control puts the breakpoint on the last block.
  const auto = cacheTtlOf(body, "");
  const last = segments[segments.length - 1];
  if (auto && last && !last.cacheTtl) {
    last.cacheTtl = auto;
    breakpoints++;
  }
  if (breakpoints > 4) {
    throw new PromptError(`A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`);
  }
  return { totalTokens: cumulative, segments };
}

/** The text of the last user turn, used to steer scripted behaviour (tool choice by name). */
export function lastUserText(body: Json): string {
  const messages = body.messages as Json[];
  const last = [...messages].reverse().find((m) => m.role === "user");
  if (!last) return "";
  if (typeof last.content === "string") return last.content;
  if (!Array.isArray(last.content)) return "";
  return last.content.map((b) => (isObject(b) && b.type === "text" ? String(b.text) : "")).join("\n");
}

export function hasToolResult(body: Json): boolean {
  const messages = body.messages as Json[];
  const last = messages[messages.length - 1];
  return Array.isArray(last?.content) && last.content.some((b) => isObject(b) && b.type === "tool_result");
}
