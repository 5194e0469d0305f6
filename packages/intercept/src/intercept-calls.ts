import { otelApi } from "./diagnostics.js";
import type { SdkStream } from "./streams.js";
import { UserCall, userCallFrom, withUserCall } from "./user-call.js";

type Json = Record<string, unknown>;
type AnyFn = (...args: unknown[]) => unknown;

/** The SDK's internal record of a response (`APIResponseProps`): what its own helpers read. */
export interface ResponseProps {
  response: Response;
  options: Json;
  controller: AbortController;
}

/** What a call came to: the parsed data (a Message or a Stream), the raw Response, and the SDK's props of it. */
export interface Sent {
  data: unknown;
  response: Response;
  /** undefined on SDK versions whose APIPromise does not expose them */
  props?: ResponseProps;
}

interface SdkApiPromise {
  withResponse(): Promise<{ data: unknown; response: Response }>;
  _responseProps?(): Promise<ResponseProps>;
}

/** What an SDK `APIPromise` (the SDK's own `create()`'s) comes to, as a layer works with it. */
export async function sentOf(request: unknown): Promise<Sent> {
  const promise = request as SdkApiPromise;
  const [{ data, response }, props] = await Promise.all([promise.withResponse(), promise._responseProps?.()]);
  return { data, response, props };
}

/** Sends a call on to the next layer down (in the end, the SDK's own `create`). */
export type Send = (params: Json, options: Json | undefined) => Promise<Sent>;

/** Which Messages call a layer sees: `create` (also under `stream()`, `parse()`, the tool runner) or `countTokens`. */
export type Operation = "create" | "countTokens";

/** One layer around a client's Messages calls: it decides when and how `send` is called, and what comes back. */
export type Layer = (params: Json, options: Json | undefined, send: Send, operation: Operation) => Promise<Sent>;

const isStream = (data: unknown): data is SdkStream =>
  typeof (data as SdkStream | null)?.[Symbol.asyncIterator] === "function" &&
  (data as SdkStream).controller instanceof AbortController;

/**
 * The props the SDK's own helpers read (SDK 1.x's message threads, and so the tool runner). A streamed
 * turn is parsed again from `props.response`, so for a Stream the layers changed, it is a Response whose
 * body is that Stream's events as server-sent events.
 */
function propsOf({ data, response, props }: Sent): ResponseProps {
  const base = props ?? { response, options: {}, controller: new AbortController() };
  if (!isStream(data)) return base;
  const events = data;
  const body = ReadableStream.from(
    (async function* () {
      const encoder = new TextEncoder();
      for await (const event of events as unknown as AsyncIterable<Json>) {
        yield encoder.encode(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
      }
    })(),
  );
  return {
    ...base,
    response: new Response(body, { status: response.status, headers: response.headers }),
    controller: events.controller,
  };
}

/**
 * The SDK's `APIPromise` shape for a layered call: awaiting it gives the parsed data, `withResponse()`
 * and `asResponse()` give the raw Response as the SDK's do, and `_responseProps()` what its helpers read.
 */
export function apiPromise(sent: Promise<Sent>) {
  const data = sent.then((r) => r.data);
  // Callers that only use withResponse() must not see an unhandled rejection on `data`.
  data.catch(() => {});
  return Object.assign(data, {
    withResponse: () =>
      sent.then((r) => ({ data: r.data, response: r.response, request_id: r.response.headers.get("request-id") })),
    asResponse: () => sent.then((r) => r.response),
    _responseProps: () => sent.then(propsOf),
  });
}

/**
 * Runs the outermost wrapper's `create` as one UserCall in the OTel context (when the app has the API), so
 * telemetry records the call the user made once, whatever the layers below send.
 */
function asUserCall(layered: () => Promise<Sent>): Promise<Sent> {
  const api = otelApi();
  const active = api?.context.active();
  if (!api || !active || userCallFrom(active)) return layered();
  const call = new UserCall();
  const sent = api.context.with(withUserCall(active, call), layered);
  sent.then(
    () => call.settle(),
    () => call.settle(),
  );
  return sent;
}

const resource = (client: Json, path: readonly string[]): Json | undefined =>
  path.reduce<Json | undefined>((at, name) => at?.[name] as Json | undefined, client);

/**
 * A copy of `client` whose `messages.create` (both modes) and `messages.countTokens`, and their `beta`
 * twins, go through `layer`; the client passed in is unchanged. The SDK's helpers call `this.create`, so
 * `messages.stream()`, `messages.parse()` and the calls of `beta.messages.toolRunner()` go through it too. `send` is the given
 * client's `create`, not the copy's: another layer may have replaced it there, and `withOptions` copies only
 * the prototype's. `wrapper` names the function for errors about its input.
 */
export function interceptCalls<C extends object>(client: C, wrapper: string, layer: Layer): C {
  const given = client as unknown as Json;
  if (typeof given?.messages !== "object" || given.messages === null || typeof given.withOptions !== "function") {
    throw new TypeError(
      `${wrapper}: \`client\` must be an Anthropic SDK client (new Anthropic(), AnthropicBedrock, AnthropicVertex)`,
    );
  }
  const copy = (given.withOptions as AnyFn)({}) as Json;
  for (const path of [["messages"], ["beta", "messages"]] as const) {
    const below = resource(given, path);
    const mine = resource(copy, path);
    if (!below || !mine) continue;
    for (const operation of ["create", "countTokens"] as const) {
      if (typeof below[operation] !== "function") continue;
      const call = (below[operation] as AnyFn).bind(below);
      const send: Send = (params, options) => sentOf(call(params, options));
      // An own property on this copy's resource: no other client is touched.
      mine[operation] =
        operation === "create"
          ? (params: Json, options?: Json) => apiPromise(asUserCall(() => layer(params, options, send, operation)))
          : (params: Json, options?: Json) => apiPromise(layer(params, options, send, operation));
    }
  }
  return copy as unknown as C;
}
