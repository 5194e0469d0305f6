import { diag } from "@opentelemetry/api";

const seen = new Set<string>();

/**
 * Reports a telemetry problem to the OTel diag logger once per `key`: telemetry must never break or
 * slow the Claude call, and must not flood the log either. Returns how many distinct problems were seen.
 */
export function warnOnce(key: string, message: string, error?: unknown): void {
  if (seen.has(key)) return;
  seen.add(key);
  diag.warn(`@ballast/otel-claude: ${message}`, error instanceof Error ? error.message : (error ?? ""));
}

/** Reports (once per key) that the step `key` threw: the call goes on without it. */
export function failedOnce(key: string, error: unknown): void {
  warnOnce(key, `${key} failed; the call goes on without it`, error);
}

/** Runs `fn`, reporting (once per key) instead of throwing. On a call's path, try/catch with failedOnce: no closure. */
export function guard<T>(key: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    failedOnce(key, error);
    return undefined;
  }
}
