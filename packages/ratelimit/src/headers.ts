import type { Rule } from "./rules.js";
import type { AcquireResult } from "./store.js";

/** `RateLimit-Policy` (IETF draft): every rule's quota and window. */
export function policyHeader(rules: readonly Rule[]): string {
  return rules.map((r) => `"${r.name}";q=${r.limit};w=${Math.round(r.windowMs / 1000)}`).join(", ");
}

/** `RateLimit-Policy`, `RateLimit` (one item per rule, or the refusing rule) and, when refused, `Retry-After`. */
export function rateLimitHeaders(
  rules: readonly Rule[],
  result: AcquireResult,
  policy: string,
): Record<string, string> {
  const headers: Record<string, string> = { "RateLimit-Policy": policy };
  if (result.allowed && result.remaining.length > 0) {
    headers.RateLimit = rules
      .map(
        (r, i) =>
          `"${r.name}";r=${Math.max(0, Math.floor(result.remaining[i] ?? 0))};t=${Math.ceil((result.resetMs[i] ?? 0) / 1000)}`,
      )
      .join(", ");
  }
  if (!result.allowed) {
    const refusedRule = rules[result.refusedBy];
    if (refusedRule)
      headers.RateLimit = `"${refusedRule.name}";r=0;t=${Math.max(0, Math.ceil(result.retryAfterMs / 1000))}`;
    if (result.retryAfterMs >= 0) headers["Retry-After"] = String(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
  }
  return headers;
}
