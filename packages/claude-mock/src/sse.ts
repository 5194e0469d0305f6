import type { ApiMessage } from "./messages.js";
import { countTextTokens } from "./tokenizer.js";

/** One stream event: its SSE frame, its data (for other framings), and `tokens` > 0 for a content delta. */
export interface SseEvent {
  frame: string;
  data: unknown;
  tokens: number;
}

function frame(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function errorEvent(type: string, message: string): SseEvent {
  const data = { type: "error", error: { type, message } };
  return { frame: frame("error", data), data, tokens: 0 };
}

/** Text split into deltas of one word each (with its leading space), as the API streams. */
function textChunks(text: string): string[] {
  return text.match(/\s*\S+/g) ?? (text ? [text] : []);
}

function jsonChunks(json: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < json.length; i += 12) out.push(json.slice(i, i + 12));
  return out;
}

/** The event sequence the Messages API sends for `message`, in order. */
export function messageEvents(message: ApiMessage): SseEvent[] {
  const { usage } = message;
  const events: SseEvent[] = [];
  const push = (type: string, data: unknown, tokens = 0) => events.push({ frame: frame(type, data), data, tokens });

  push("message_start", {
    type: "message_start",
    message: {
      ...message,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: Math.min(1, usage.output_tokens) },
    },
  });
  message.content.forEach((block, index) => {
    if (block.type === "text") {
      push("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } });
      if (index === 0) push("ping", { type: "ping" });
      for (const text of textChunks(block.text)) {
        // the hot path of every stream: a template, not JSON.stringify of the whole event
        events.push({
          frame: `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"text_delta","text":${JSON.stringify(text)}}}\n\n`,
          data: { type: "content_block_delta", index, delta: { type: "text_delta", text } },
          tokens: Math.max(1, countTextTokens(text)),
        });
      }
    } else {
      push("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      if (index === 0) push("ping", { type: "ping" });
      for (const partial_json of jsonChunks(JSON.stringify(block.input))) {
        push(
          "content_block_delta",
          { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json } },
          Math.max(1, countTextTokens(partial_json)),
        );
      }
    }
    push("content_block_stop", { type: "content_block_stop", index });
  });
  push("message_delta", {
    type: "message_delta",
    delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence },
    usage: {
      input_tokens: usage.input_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens,
      cache_read_input_tokens: usage.cache_read_input_tokens,
      output_tokens: usage.output_tokens,
    },
  });
  push("message_stop", { type: "message_stop" });
  return events;
}
