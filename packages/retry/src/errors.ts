/** The server asked for a longer wait than `maxRetryAfterMs` and no fallback model could serve the call. */
export class RetryAfterTooLongError extends Error {
  override readonly name = "RetryAfterTooLongError";
  constructor(
    readonly retryAfterMs: number,
    readonly maxRetryAfterMs: number,
    override readonly cause: unknown,
  ) {
    super(`the server asked to wait ${retryAfterMs} ms, more than maxRetryAfterMs (${maxRetryAfterMs} ms)`);
  }
}

/** The circuit for `model` is open: the call was refused without sending anything. */
export class BrokenCircuitError extends Error {
  override readonly name = "BrokenCircuitError";
  constructor(
    readonly model: string,
    readonly retryInMs: number,
  ) {
    super(`circuit open for ${model}: failing fast for another ${retryInMs} ms`);
  }
}

/** A stream failed after content had reached the caller: what arrived is attached, it is not a success. */
export class StreamInterruptedError extends Error {
  override readonly name = "StreamInterruptedError";
  constructor(
    readonly partialText: string,
    readonly usage: Record<string, unknown> | undefined,
    override readonly cause: unknown,
  ) {
    super(`the stream was interrupted after ${partialText.length} characters of content`);
  }
}

/** `deadlineMs` passed before the call could succeed; `cause` is the last attempt's error, if any. */
export class DeadlineExceededError extends Error {
  override readonly name = "DeadlineExceededError";
  constructor(
    readonly deadlineMs: number,
    override readonly cause: unknown,
  ) {
    super(`the call did not succeed within its deadline of ${deadlineMs} ms`);
  }
}
