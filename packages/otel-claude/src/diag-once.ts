import { diag } from "@opentelemetry/api";
import { METRIC_TELEMETRY_FAILURES } from "./semconv.js";

const seen = new Set<string>();
// step → times it failed, in this process: read by each meter's `ballast.claude.telemetry.failures`
const failures = new Map<string, number>();

/** Reports a problem to the OTel diag logger once per `key`: telemetry must not flood the log. */
export function warnOnce(key: string, message: string, error?: unknown): void {
  if (seen.has(key)) return;
  seen.add(key);
  diag.warn(`@ballast/otel-claude: ${message}`, error instanceof Error ? error.message : (error ?? ""));
}

/**
 * The step `step` of recording a call failed and the call went on without it: counted in
 * `ballast.claude.telemetry.failures` every time, reported to the diag logger the first time.
 */
export function failedOnce(
  step: string,
  error: unknown,
  message = `${step} failed; the call goes on without it`,
): void {
  failures.set(step, (failures.get(step) ?? 0) + 1);
  warnOnce(step, `${message} (further failures are counted in ${METRIC_TELEMETRY_FAILURES})`, error);
}

/** How many times each step has failed in this process. */
export function failureCounts(): ReadonlyMap<string, number> {
  return failures;
}

/** Runs `fn`, counting and reporting (once per key) instead of throwing. On a call's path, try/catch with failedOnce: no closure. */
export function guard<T>(key: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    failedOnce(key, error);
    return undefined;
  }
}
