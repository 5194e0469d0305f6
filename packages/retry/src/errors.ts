/** The `request-id` of the API response behind `error` (the SDK's `APIError.requestID`), if there was one. */
function requestIdOf(error: unknown): string | null {
  const id = (error as { requestID?: unknown } | null | undefined)?.requestID;
  return typeof id === "string" ? id : null;
}

/** The server asked for a longer wait than `maxRetryAfterMs` and no fallback model could serve the call. */
export class RetryAfterTooLongError extends Error {
  override readonly name = "RetryAfterTooLongError";
  /** the request id of the response that asked for the wait */
  readonly requestID: string | null;
  constructor(
    readonly retryAfterMs: number,
    readonly maxRetryAfterMs: number,
    override readonly cause: unknown,
  ) {
    super(`the server asked to wait ${retryAfterMs} ms, more than maxRetryAfterMs (${maxRetryAfterMs} ms)`);
    this.requestID = requestIdOf(cause);
  }
}

/** The circuit for `model` is open: the call was refused without sending anything. */
export class BrokenCircuitError extends Error {
  override readonly name = "BrokenCircuitError";
  /** nothing was sent, so there is no response and no request id */
  readonly requestID = null;
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
    /** the request id of the stream's response */
    readonly requestID: string | null = requestIdOf(cause),
  ) {
    super(`the stream was interrupted after ${partialText.length} characters of content`);
  }
}

/** A stream sent no content within `firstTokenTimeoutMs`; the policy hands it to a fallback model or retries. */
export class FirstTokenTimeoutError extends Error {
  override readonly name = "FirstTokenTimeoutError";
  constructor(
    readonly firstTokenTimeoutMs: number,
    /** the request id of the stream's response */
    readonly requestID: string | null,
    override readonly cause?: unknown,
  ) {
    super(`no first token within ${firstTokenTimeoutMs} ms`);
  }
}

/** `deadlineMs` passed before the call could succeed; `cause` is the last attempt's error, if any. */
export class DeadlineExceededError extends Error {
  override readonly name = "DeadlineExceededError";
  /** the request id of the last attempt's response */
  readonly requestID: string | null;
  constructor(
    readonly deadlineMs: number,
    override readonly cause: unknown,
  ) {
    super(`the call did not succeed within its deadline of ${deadlineMs} ms`);
    this.requestID = requestIdOf(cause);
  }
}
