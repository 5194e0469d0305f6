import type { Rng } from "./random.js";
import { countTextTokens, tokenPieces } from "./tokenizer.js";

const WORDS = (
  "the a your order account we can you is to of and for this that it in on with refund shipping " +
  "plan billing support team please thanks update invoice delivery status request issue help " +
  "check settings password reset email address subscription renewal payment card policy days " +
  "within available option here there will be able to find more information about next steps"
).split(" ");

export type ReplyBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown };

export interface Reply {
  content: ReplyBlock[];
  outputTokens: number;
  stopReason: "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";
  stopSequence: string | null;
}

/** Text of about `tokens` tokens, as sentences. */
export function generateText(rng: Rng, tokens: number): string {
  const parts: string[] = [];
  let count = 0;
  let sentence = 0;
  while (count < tokens) {
    let word = WORDS[Math.floor(rng() * WORDS.length)] ?? "ok";
    if (sentence === 0) word = word[0]?.toUpperCase() + word.slice(1);
    sentence++;
    const end = sentence > 6 && rng() < 0.25;
    if (end) {
      word += ".";
      sentence = 0;
    }
    parts.push(word);
    count += countTextTokens(word);
  }
  const text = parts.join(" ");
  return /[.]$/.test(text) ? text : `${text}.`;
}

type Schema = Record<string, unknown>;

/** A value that satisfies a (simple) JSON schema: objects, arrays, enums, primitives. */
export function valueForSchema(schema: unknown, rng: Rng, depth = 0): unknown {
  const s = (typeof schema === "object" && schema !== null ? schema : {}) as Schema;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[Math.floor(rng() * s.enum.length)];
  if ("const" in s) return s.const;
  const anyOf = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(anyOf) && anyOf.length > 0) return valueForSchema(anyOf[0], rng, depth);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "object": {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(props)) {
        if (depth < 6) out[key] = valueForSchema(sub, rng, depth + 1);
      }
      return out;
    }
    case "array":
      return depth < 6 ? [valueForSchema(s.items, rng, depth + 1)] : [];
    case "integer":
      return Math.floor(rng() * 100);
    case "number":
      return Math.round(rng() * 10_000) / 100;
    case "boolean":
      return rng() < 0.5;
    case "null":
      return null;
    default:
      return WORDS[Math.floor(rng() * WORDS.length)];
  }
}

/** Cuts `text` to at most `maxTokens` tokens at a piece boundary. */
export function truncateToTokens(text: string, maxTokens: number): string {
  let used = 0;
  let end = 0;
  for (const piece of tokenPieces(text)) {
    if (used + piece.tokens > maxTokens) break;
    used += piece.tokens;
    end = piece.end;
  }
  return text.slice(0, end);
}

/** Applies stop sequences and `max_tokens` to a text reply, as the model's sampler would. */
export function finishText(text: string, maxTokens: number, stopSequences: string[]): Reply {
  let stopSequence: string | null = null;
  let cut = text;
  let firstAt = Number.POSITIVE_INFINITY;
  for (const seq of stopSequences) {
    const at = seq ? text.indexOf(seq) : -1;
    if (at >= 0 && at < firstAt) {
      firstAt = at;
      stopSequence = seq;
    }
  }
  if (stopSequence !== null) cut = text.slice(0, firstAt);
  const tokens = countTextTokens(cut);
  if (tokens > maxTokens) {
    return {
      content: [{ type: "text", text: truncateToTokens(cut, maxTokens) }],
      outputTokens: maxTokens,
      stopReason: "max_tokens",
      stopSequence: null,
    };
  }
  return {
    content: [{ type: "text", text: cut }],
    outputTokens: Math.max(1, tokens),
    stopReason: stopSequence !== null ? "stop_sequence" : "end_turn",
    stopSequence,
  };
}
