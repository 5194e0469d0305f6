type Json = Record<string, unknown>;

/** The SDK's `Stream` of server-sent events, as much of it as the layers use. */
export interface SdkStream {
  [Symbol.asyncIterator](): AsyncIterator<Json>;
  controller: AbortController;
  constructor: new (iterator: () => AsyncIterator<Json>, controller: AbortController, client?: unknown) => SdkStream;
}

/**
 * A new SDK `Stream` (same class, same controller) whose events are `stream`'s, each shown to `onEvent`
 * first; `onEnd` is told once how the read ended (an error, or nothing). `stream` is read through its
 * async iterator, as a caller would read it: the SDK's tracing ends its span there.
 */
export function observedStream(
  stream: SdkStream,
  client: unknown,
  onEvent: (event: Json) => void,
  onEnd: (error?: unknown) => void = () => {},
): SdkStream {
  const source = stream[Symbol.asyncIterator]();
  let finished = false;
  const end = (error?: unknown) => {
    if (finished) return;
    finished = true;
    onEnd(error);
  };
  const events: AsyncIterator<Json> = {
    async next() {
      try {
        const r = await source.next();
        if (r.done) end();
        else onEvent(r.value);
        return r;
      } catch (error) {
        end(error);
        throw error;
      }
    },
    async return(value?: unknown) {
      end();
      await source.return?.(value);
      return { done: true, value: undefined };
    },
  };
  return new stream.constructor(() => events, stream.controller, client);
}

/** The SDK's `APIUserAbortError`, or a fetch/DOM `AbortError`: the caller's own abort. */
export function isAbortError(error: unknown): boolean {
  const e = error as { name?: string; constructor?: { name?: string } } | null | undefined;
  return e?.constructor?.name === "APIUserAbortError" || e?.name === "APIUserAbortError" || e?.name === "AbortError";
}
