import { isAbortError } from "@ballast/intercept";

export type StreamEnd = "completed" | "abandoned" | "aborted" | "failed";

export interface StreamObserver<T> {
  onItem(item: T): void;
  onEnd(how: StreamEnd, error?: unknown): void;
}

type SdkStream<T, K extends string> = { [key in K]: () => AsyncIterator<T> } & { controller?: AbortController };

/**
 * Watches a streaming response without changing it: the SDK's `Stream` gets every event through
 * `this.iterator()` (for-await, `tee()`, `MessageStream` alike), so that one function is wrapped on
 * the instance. `break` shows as `abandoned`, `controller.abort()` as `aborted`.
 */
export function observeStream<T, K extends string = "iterator">(
  stream: SdkStream<T, K>,
  observer: StreamObserver<T>,
  /** the instance method every iteration goes through: `iterator` on a Stream, `decoder` on batch results */
  method: K = "iterator" as K,
): void {
  const original = stream[method];
  let ended = false;
  const end = (how: StreamEnd, error?: unknown) => {
    if (ended) return;
    ended = true;
    try {
      observer.onEnd(how, error);
    } catch {
      // the observer guards itself; nothing may reach the caller's stream
    }
  };
  (stream as Record<string, unknown>)[method] = function (this: unknown) {
    const source = original.call(this);
    const aborted = () => stream.controller?.signal.aborted === true;
    // made once per stream, not per event: streams are hot
    const onResult = (result: IteratorResult<T>) => {
      if (result.done) end(aborted() ? "aborted" : "completed");
      else if (!ended) {
        try {
          observer.onItem(result.value);
        } catch {
          // the observer guards itself; nothing may reach the caller's stream
        }
      }
      return result;
    };
    const onError = (error: unknown) => {
      // the SDK aborts its controller on any error too, so the error itself decides
      end(isAbortError(error) ? "aborted" : "failed", error);
      throw error;
    };
    const wrapped: AsyncIterableIterator<T> = {
      // `.then` rather than an async function: one promise hop per event, not three
      next() {
        return source.next().then(onResult, onError);
      },
      async return(value?: unknown) {
        end("abandoned");
        return (await source.return?.(value)) ?? { done: true, value: undefined };
      },
      async throw(error?: unknown) {
        end("failed", error);
        if (source.throw) return source.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]() {
        return wrapped;
      },
    };
    return wrapped;
  };
}
