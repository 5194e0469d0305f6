import { interceptCalls, isAbortError, type Layer, type SdkStream } from "@ballast/intercept";
import { STREAM_BROKE } from "./classify.js";
import { FirstTokenTimeoutError, StreamInterruptedError } from "./errors.js";
import { type RetryPolicy, SLOW } from "./policy.js";

type Json = Record<string, unknown>;

/** Marks `error` itself, so that the caller still gets the SDK's error (class, status, requestID) if it is the last. */
function mark(error: unknown, symbol: symbol): unknown {
  const marked = typeof error === "object" && error !== null ? error : new Error(String(error), { cause: error });
  Object.defineProperty(marked, symbol, { value: true, configurable: true });
  return marked;
}

// The response cache's mark on a Stream it replayed (see @ballast/response-cache's cacheStatus): the
// caller's stream is a new Stream here, and must still say how it was served.
const CACHE_STATUS = Symbol.for("ballast.response-cache.status");

/**
 * Reads a stream up to its first content event. A failure before that is an ordinary retryable
 * error (the caller has seen nothing); `firstTokenTimeoutMs` without content marks the model slow.
 */
async function untilFirstContent(stream: SdkStream, firstTokenTimeoutMs: number | undefined, requestID: string | null) {
  // Read as the caller would, through the async iterator: the SDK's tracing ends its span there.
  const source = stream[Symbol.asyncIterator]();
  const buffered: Json[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let slow = false;
  if (firstTokenTimeoutMs !== undefined) {
    timer = setTimeout(() => {
      slow = true;
      stream.controller.abort();
    }, firstTokenTimeoutMs);
  }
  try {
    for (;;) {
      const { done, value } = await source.next();
      if (slow) throw mark(new FirstTokenTimeoutError(firstTokenTimeoutMs as number, requestID), SLOW);
      if (done) return { source, buffered, done: true };
      buffered.push(value);
      if (value.type === "content_block_delta") return { source, buffered, done: false };
    }
  } catch (error) {
    if (slow) throw mark(new FirstTokenTimeoutError(firstTokenTimeoutMs as number, requestID, error), SLOW);
    throw mark(error, STREAM_BROKE);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * After the first content event, the caller's stream: the buffered start, then the live events. A
 * failure from here on is a `StreamInterruptedError` with the partial text and usage, never a success.
 */
function continuedStream(
  stream: SdkStream,
  start: Awaited<ReturnType<typeof untilFirstContent>>,
  client: unknown,
  requestID: string | null,
) {
  let text = "";
  let usage: Json | undefined;
  const note = (event: Json) => {
    if (event.type === "message_start") usage = { ...((event.message as Json)?.usage as Json) };
    if (event.type === "message_delta" && usage) Object.assign(usage, event.usage as Json);
    const delta = event.delta as Json | undefined;
    if (event.type === "content_block_delta" && delta?.type === "text_delta") text += String(delta.text);
  };
  async function* events(): AsyncGenerator<Json> {
    for (const event of start.buffered) {
      note(event);
      yield event;
    }
    if (start.done) return;
    try {
      for (;;) {
        const { done, value } = await start.source.next();
        if (done) return;
        note(value);
        yield value;
      }
    } catch (error) {
      if (isAbortError(error)) throw error; // the caller's own abort stays an abort
      throw new StreamInterruptedError(text, usage, error, requestID);
    } finally {
      await start.source.return?.();
    }
  }
  const continued = new stream.constructor(() => events(), stream.controller, client);
  const cacheStatus = Object.getOwnPropertyDescriptor(stream, CACHE_STATUS);
  if (cacheStatus) Object.defineProperty(continued, CACHE_STATUS, cacheStatus);
  return continued;
}

/** The policy around each call: attempts with the SDK's retries off, the model it picks, streams read to their first content. */
function retrying(policy: RetryPolicy, client: object): Layer {
  const AbortError = (client.constructor as { APIUserAbortError?: new () => Error }).APIUserAbortError;
  return (params, options, send, operation) => {
    const callerSignal = options?.signal as AbortSignal | undefined;
    return policy.execute(
      async ({ attempt, model, signal }) => {
        const body = model === undefined ? params : { ...params, model };
        // The policy owns retries: the SDK's are off for every attempt, whatever the client says.
        // A span `messages.stream()` started (SDK 1.x) ends with the first attempt; later ones start their own.
        const { __span, ...rest } = options ?? {};
        const sent = await send(body, { ...(attempt === 1 ? options : rest), maxRetries: 0, signal });
        if (params.stream !== true) return sent;
        const stream = sent.data as SdkStream;
        const requestID = sent.response.headers.get("request-id");
        const start = await untilFirstContent(stream, policy.options.firstTokenTimeoutMs, requestID);
        // The policy lets go of the caller's signal when the attempt returns; the stream still must obey it.
        callerSignal?.addEventListener("abort", () => stream.controller.abort(), { once: true });
        return { ...sent, data: continuedStream(stream, start, client, requestID) };
      },
      {
        signal: callerSignal,
        // a count is of the model asked about: no fallback model may answer it
        model: operation === "create" && typeof params.model === "string" ? params.model : undefined,
        abortError: AbortError ? () => new AbortError() : undefined,
      },
    );
  };
}

/**
 * A copy of `client` whose `messages.create` (both modes), `messages.stream()`, `messages.parse()` and
 * `beta.messages.*` go through `policy`, with the SDK's own retries off. The client you pass is unchanged.
 */
export function withRetry<C extends object>(client: C, policy: RetryPolicy): C {
  return interceptCalls(client, "withRetry", retrying(policy, client));
}
