// A cached Message turned back into what the API would have sent: a JSON body, or the SSE event
// sequence of a live stream (message_start, content blocks with their deltas, message_delta,
// message_stop), and the reverse: a live stream's events gathered into the Message to store.

type Json = Record<string, unknown>;

const sse = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
// word-sized deltas, as a live stream sends them
const pieces = (text: string) => text.match(/\S+\s*|\s+/g) ?? [""];

function blockEvents(block: Json, index: number): string[] {
  const out: string[] = [];
  const start = (content_block: Json) => out.push(sse("content_block_start", { index, content_block }));
  const delta = (d: Json) => out.push(sse("content_block_delta", { index, delta: d }));
  switch (block.type) {
    case "text": {
      start({ ...block, text: "", ...(block.citations ? { citations: [] } : {}) });
      for (const text of pieces(String(block.text ?? ""))) delta({ type: "text_delta", text });
      for (const citation of (block.citations as unknown[] | undefined) ?? [])
        delta({ type: "citations_delta", citation });
      break;
    }
    case "tool_use":
    case "server_tool_use": {
      start({ ...block, input: {} });
      delta({ type: "input_json_delta", partial_json: JSON.stringify(block.input ?? {}) });
      break;
    }
    case "thinking": {
      start({ ...block, thinking: "", signature: "" });
      for (const thinking of pieces(String(block.thinking ?? ""))) delta({ type: "thinking_delta", thinking });
      delta({ type: "signature_delta", signature: block.signature ?? "" });
      break;
    }
    default:
      start(block); // redacted thinking, tool results of server tools: whole in their start event
  }
  out.push(sse("content_block_stop", { index }));
  return out;
}

/** The SSE body of a live stream that would have produced `message`. */
export function sseBody(message: Json): string {
  const usage = (message.usage as Json | undefined) ?? {};
  const content = (message.content as Json[] | undefined) ?? [];
  return [
    sse("message_start", {
      message: {
        ...message,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 0 },
      },
    }),
    ...content.flatMap(blockEvents),
    sse("message_delta", {
      delta: { stop_reason: message.stop_reason ?? null, stop_sequence: message.stop_sequence ?? null },
      usage,
    }),
    sse("message_stop", {}),
  ].join("");
}

/** Gathers a live stream's events into the final Message; `message` is set once message_stop arrived. */
export class MessageAccumulator {
  #message: Json | undefined;
  #json = new Map<number, string>();
  message: Json | undefined;

  add(event: Json): void {
    const m = this.#message;
    switch (event.type) {
      case "message_start":
        this.#message = structuredClone(event.message as Json);
        (this.#message as Json).content = [];
        break;
      case "content_block_start": {
        const block = { ...(event.content_block as Json) };
        if (block.type === "tool_use" || block.type === "server_tool_use") this.#json.set(event.index as number, "");
        if (m) (m.content as Json[])[event.index as number] = block;
        break;
      }
      case "content_block_delta": {
        const block = (m?.content as Json[] | undefined)?.[event.index as number];
        const d = event.delta as Json;
        if (!block) break;
        if (d.type === "text_delta") block.text = String(block.text ?? "") + d.text;
        else if (d.type === "thinking_delta") block.thinking = String(block.thinking ?? "") + d.thinking;
        else if (d.type === "signature_delta") block.signature = d.signature;
        else if (d.type === "citations_delta")
          block.citations = [...((block.citations as unknown[] | undefined) ?? []), d.citation];
        else if (d.type === "input_json_delta")
          this.#json.set(event.index as number, (this.#json.get(event.index as number) ?? "") + d.partial_json);
        break;
      }
      case "content_block_stop": {
        const json = this.#json.get(event.index as number);
        const block = (m?.content as Json[] | undefined)?.[event.index as number];
        if (json !== undefined && block) block.input = json ? JSON.parse(json) : {};
        break;
      }
      case "message_delta": {
        if (!m) break;
        const d = event.delta as Json;
        m.stop_reason = d.stop_reason ?? null;
        m.stop_sequence = d.stop_sequence ?? null;
        const usage = (m.usage as Json | undefined) ?? {};
        for (const [k, v] of Object.entries((event.usage as Json | undefined) ?? {})) if (v != null) usage[k] = v;
        m.usage = usage;
        break;
      }
      case "message_stop":
        this.message = m;
        break;
    }
  }
}
