import { isAbortError, STREAM_BROKE } from "./classify.js";
import { StreamInterruptedError } from "./errors.js";
import { type RetryPolicy, SLOW } from "./policy.js";

type Json = Record<string, unknown>;
type AnyFn = (...args: unknown[]) => unknown;
interface SdkApiPromise {
  withResponse(): Promise<{ data: unknown; response: Response }>;
}
interface SdkStream {
  iterator(): AsyncIterator<Json>;
  controller: AbortController;
  constructor: new (iterator: () => AsyncIterator<Json>, controller: AbortController, client?: unknown) => SdkStream;
}

/** The resolved value of a `create()` through the policy, with the SDK's `withResponse()` / `asResponse()`. */
function retryingPromise<T>(result: Promise<{ data: T; response: Response }>) {
  const data = result.then((r) => r.data);
  // Callers that only use withResponse() must not see an unhandled rejection on `data`.
  data.catch(() => {});
  return Object.assign(data, {
    withResponse: () =>
      result.then((r) => ({ data: r.data, response: r.response, request_id: r.response.headers.get("request-id") })),
    asResponse: () => result.then((r) => r.response),
  });
}

function mark(error: unknown, symbol: symbol): unknown {
  const wrapped = new Error(error instanceof Error ? error.message : String(error), { cause: error });
  (wrapped as unknown as Record<symbol, boolean>)[symbol] = true;
  return wrapped;
}

/**
 * Reads a stream up to its first content event. A failure before that is an ordinary retryable
 * error (the caller has seen nothing); `firstTokenTimeoutMs` without content marks the model slow.
 */
async function untilFirstContent(stream: SdkStream, firstTokenTimeoutMs: number | undefined) {
  const source = stream.iterator();
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
      if (slow) throw mark(new Error(`no first token within ${firstTokenTimeoutMs} ms`), SLOW);
      if (done) return { source, buffered, done: true };
      buffered.push(value);
      if (value.type === "content_block_delta") return { source, buffered, done: false };
    }
  } catch (error) {
    if (slow) throw mark(new Error(`no first token within ${firstTokenTimeoutMs} ms`), SLOW);
    throw mark(error, STREAM_BROKE);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * After the first content event, the caller's stream: the buffered start, then the live events. A
 * failure from here on is a `StreamInterruptedError` with the partial text and usage, never a success.
 */
function continuedStream(stream: SdkStream, start: Awaited<ReturnType<typeof untilFirstContent>>, client: unknown) {
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
      throw new StreamInterruptedError(text, usage, error);
    } finally {
      await start.source.return?.();
    }
  }
  const StreamClass = stream.constructor;
  return new StreamClass(() => events(), stream.controller, client);
}

function retryingCreate(original: AnyFn, client: Json, policy: RetryPolicy) {
  const AbortError = (client.constructor as { APIUserAbortError?: new () => Error }).APIUserAbortError;
  return (params: Json, options?: Json) => {
    const result = policy.execute(
      async ({ model, signal }) => {
        const body = model === undefined ? params : { ...params, model };
        // The policy owns retries: the SDK's are off for every attempt, whatever the client says.
        const promise = original(body, { ...options, maxRetries: 0, signal }) as SdkApiPromise;
        const { data, response } = await promise.withResponse();
        if (params.stream !== true) return { data, response };
        const stream = data as SdkStream;
        const start = await untilFirstContent(stream, policy.options.firstTokenTimeoutMs);
        // The policy lets go of the caller's signal when the attempt returns; the stream still must obey it.
        const callerSignal = options?.signal as AbortSignal | undefined;
        callerSignal?.addEventListener("abort", () => stream.controller.abort(), { once: true });
        return { data: continuedStream(stream, start, client), response };
      },
      {
        signal: options?.signal as AbortSignal | undefined,
        model: typeof params.model === "string" ? params.model : undefined,
        abortError: AbortError ? () => new AbortError() : undefined,
      },
    );
    return retryingPromise(result);
  };
}

function patch(messages: Json | undefined, given: Json | undefined, client: Json, policy: RetryPolicy): void {
  if (!messages || !given || typeof given.create !== "function") return;
  // The given client's `create`, not the copy's: another wrapper (withGovernor) may have replaced it there,
  // and `withOptions` copies only the prototype's.
  const original = (given.create as AnyFn).bind(given);
  // An own property on this client's resource: `stream()` and `parse()` call `this.create`, so they go
  // through the policy too, and no other client is touched.
  messages.create = retryingCreate(original, client, policy);
}

/**
 * A copy of `client` whose `messages.create` (both modes), `messages.stream()`, `messages.parse()` and
 * `beta.messages.*` go through `policy`, with the SDK's own retries off. The client you pass is unchanged.
 */
export function withRetry<C extends object>(client: C, policy: RetryPolicy): C {
  const c = client as unknown as Json;
  if (typeof c.messages !== "object" || c.messages === null) {
    throw new TypeError(
      "withRetry: `client` must be an Anthropic SDK client (new Anthropic(), AnthropicBedrock, AnthropicVertex)",
    );
  }
  const copy = (typeof c.withOptions === "function" ? (c.withOptions as AnyFn)({}) : client) as Json;
  const beta = (x: Json) => (x.beta as Json | undefined)?.messages as Json | undefined;
  patch(copy.messages as Json, c.messages as Json, copy, policy);
  patch(beta(copy), beta(c), copy, policy);
  return copy as unknown as C;
}
