/** Which endpoint a fault applies to. */
export type FaultEndpoint = "messages" | "count_tokens" | "batches" | "any";

/**
 * One injected behaviour for one upcoming call. Combine fields: `{ status: 429, retryAfterS: 1 }`,
 * `{ stream: "error", after: 3 }`, `{ delayMs: 2000 }`, `{ reset: true }`, `{ body: "{not json" }`.
 */
export interface Fault {
  /** answer with this HTTP status and the API's error body for it */
  status?: number;
  /** the `error.type` in the body; defaults from the status (429 → rate_limit_error, 529 → overloaded_error, …) */
  errorType?: string;
  message?: string;
  /** `retry-after` header, in seconds (a number) or as given (an HTTP date string) */
  retryAfterS?: number | string;
  /** `retry-after-ms` header */
  retryAfterMs?: number;
  /** `x-should-retry` header */
  shouldRetry?: boolean;
  headers?: Record<string, string>;
  /** a raw body instead of the normal one: a string is sent as is (malformed JSON included) */
  body?: string | Record<string, unknown> | unknown[];
  /** destroy the connection without answering */
  reset?: boolean;
  /** streams only: after `after` content deltas, send an SSE `error` event or drop the socket */
  stream?: "error" | "drop";
  after?: number;
  /** wait this long before answering at all */
  delayMs?: number;
  /** latency overrides for this call */
  ttftMs?: number;
  perTokenMs?: number;
  /** script the reply instead of generating one */
  reply?: { text?: string; toolUse?: { name: string; input?: unknown } };
  /** only a call for this model takes the fault */
  model?: string;
  /** which endpoint takes the fault; default `messages` (create and stream) */
  on?: FaultEndpoint;
  /** how many matching calls take it; default 1; `Infinity`: every one from now on (a model that never stops) */
  times?: number;
}

const ENDPOINTS: readonly FaultEndpoint[] = ["messages", "count_tokens", "batches", "any"];
const ACTIONS = ["status", "body", "reset", "stream", "delayMs", "ttftMs", "perTokenMs", "reply"] as const;

function fail(field: string, accepted: string, got: unknown): never {
  throw new TypeError(`claude-mock: fault.${field} must be ${accepted}; got ${JSON.stringify(got)}`);
}

const nonNegative = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;

export function validateFault(input: unknown): Fault {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    fail("", "an object", input);
  }
  const f = input as Fault;
  if (!ACTIONS.some((k) => f[k] !== undefined)) {
    fail("", `an object with at least one of ${ACTIONS.join(", ")}`, input);
  }
  if (f.status !== undefined && !(Number.isInteger(f.status) && f.status >= 200 && f.status <= 599)) {
    fail("status", "an integer HTTP status from 200 to 599", f.status);
  }
  if (f.stream !== undefined && f.stream !== "error" && f.stream !== "drop") {
    fail("stream", '"error" or "drop"', f.stream);
  }
  for (const key of ["after", "delayMs", "ttftMs", "perTokenMs", "retryAfterMs"] as const) {
    if (f[key] !== undefined && !nonNegative(f[key])) fail(key, "a number ≥ 0", f[key]);
  }
  if (
    f.retryAfterS !== undefined &&
    !nonNegative(f.retryAfterS) &&
    !(typeof f.retryAfterS === "string" && f.retryAfterS.length > 0)
  ) {
    fail("retryAfterS", "a number of seconds ≥ 0 or an HTTP date string", f.retryAfterS);
  }
  if (f.times !== undefined && !((Number.isInteger(f.times) && f.times >= 1) || f.times === Number.POSITIVE_INFINITY)) {
    fail("times", "an integer ≥ 1 or Infinity", f.times);
  }
  if (f.on !== undefined && !ENDPOINTS.includes(f.on)) fail("on", ENDPOINTS.join(" | "), f.on);
  if (f.reply?.toolUse && typeof f.reply.toolUse.name !== "string") {
    fail("reply.toolUse.name", "a string", f.reply.toolUse.name);
  }
  return { ...f };
}

/** FIFO of faults; a call takes the first one whose model and endpoint match. */
export class FaultQueue {
  #queue: Array<{ fault: Fault; left: number }> = [];

  push(fault: Fault): void {
    this.#queue.push({ fault, left: fault.times ?? 1 });
  }

  get size(): number {
    return this.#queue.length;
  }

  clear(): void {
    this.#queue = [];
  }

  take(endpoint: Exclude<FaultEndpoint, "any">, model: string | undefined): Fault | undefined {
    const i = this.#queue.findIndex(({ fault }) => {
      const on = fault.on ?? "messages";
      return (on === "any" || on === endpoint) && (fault.model === undefined || fault.model === model);
    });
    const slot = this.#queue[i];
    if (!slot) return undefined;
    if (--slot.left === 0) this.#queue.splice(i, 1);
    return slot.fault;
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  408: "timeout_error",
  409: "invalid_request_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  502: "api_error",
  503: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

const MESSAGES: Record<string, string> = {
  invalid_request_error: "Invalid request",
  authentication_error: "invalid x-api-key",
  billing_error: "Your credit balance is too low to access the Anthropic API.",
  permission_error: "Your API key does not have permission to use the specified resource.",
  not_found_error: "Not found",
  request_too_large: "Request exceeds the maximum allowed number of bytes.",
  rate_limit_error: "Number of request tokens has exceeded your per-minute rate limit",
  api_error: "Internal server error",
  timeout_error: "Request timed out",
  overloaded_error: "Overloaded",
};

export function errorTypeFor(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

export function errorBody(type: string, message: string | undefined, requestId: string) {
  return { type: "error", error: { type, message: message ?? MESSAGES[type] ?? type }, request_id: requestId };
}
