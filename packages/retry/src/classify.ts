import { isAbortError } from "@ballast/intercept";

/** Why a failed attempt may be tried again (the `ballast.retry.reason` metric label). */
export type RetryReason =
  | "rate_limited"
  | "overloaded"
  | "server_error"
  | "timeout"
  | "connection"
  | "stream_interrupted"
  | "slow";

interface HeadersLike {
  get(name: string): string | null;
}

interface ErrorLike {
  name?: string;
  status?: number;
  headers?: HeadersLike | Record<string, string> | null;
  error?: { error?: { type?: string }; type?: string } | null;
  type?: string | null;
  constructor?: { name?: string };
}

function header(error: ErrorLike, name: string): string | null {
  const h = error.headers;
  if (!h) return null;
  if (typeof (h as HeadersLike).get === "function") return (h as HeadersLike).get(name);
  return (h as Record<string, string>)[name] ?? null;
}

/** Marks an error met while reading a stream before any content reached the caller. */
export const STREAM_BROKE = Symbol.for("ballast.retry.stream-broke");

function apiErrorType(e: ErrorLike): string | undefined {
  const t = e.error?.error?.type ?? e.error?.type ?? e.type;
  return typeof t === "string" ? t : undefined;
}

/**
 * The retry reason for `error`, or `undefined` when it must not be retried: 408, 409, 429 and 5xx
 * (529 included), connection errors and timeouts are retried; `x-should-retry` overrides the status
 * either way; every other 4xx, and the caller's own abort, are not.
 */
export function classify(error: unknown): RetryReason | undefined {
  if (typeof error !== "object" || error === null || isAbortError(error)) return undefined;
  const reason = classifyFailure(error as ErrorLike);
  return (error as Record<symbol, unknown>)[STREAM_BROKE] === true ? (reason ?? "stream_interrupted") : reason;
}

function classifyFailure(e: ErrorLike): RetryReason | undefined {
  const name = e.constructor?.name ?? "";
  if (name === "APIConnectionTimeoutError") return "timeout";
  if (name === "APIConnectionError") return "connection";
  const type = apiErrorType(e);
  const reasonFrom = (status: number | undefined): RetryReason => {
    if (status === 429 || type === "rate_limit_error") return "rate_limited";
    if (status === 529 || type === "overloaded_error") return "overloaded";
    if (status === 408 || type === "timeout_error") return "timeout";
    return "server_error";
  };
  const should = header(e, "x-should-retry");
  if (should === "true") return reasonFrom(e.status);
  if (should === "false") return undefined;
  if (typeof e.status === "number") {
    const s = e.status;
    return s === 408 || s === 409 || s === 429 || s >= 500 ? reasonFrom(s) : undefined;
  }
  // An SSE `error` event carries no status, only the API's error type.
  if (type === "overloaded_error" || type === "api_error" || type === "rate_limit_error" || type === "timeout_error") {
    return reasonFrom(undefined);
  }
  return undefined;
}

/** True when `error` is worth another attempt (see `classify`). */
export function isRetryable(error: unknown): boolean {
  return classify(error) !== undefined;
}

/** The wait the server asked for, in ms: `retry-after-ms`, then `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as ErrorLike;
  const ms = Number.parseFloat(header(e, "retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = header(e, "retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (value.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}
