import { ACQUIRE_SCRIPT } from "./lua/acquire.js";
import { REQUESTS_SCRIPT } from "./lua/requests.js";
import { SETTLE_SCRIPT } from "./lua/settle.js";
import { SCRIPT_SHA1 } from "./lua/sha1.js";
import type { StoreRule } from "./store.js";
import { isBucket } from "./windows.js";

/** A Lua script redisStore runs: its source, and the SHA1 EVALSHA names it by (computed at build time). */
export interface Script {
  source: string;
  sha1: string;
}

export const SCRIPTS = {
  /** acquire for any rules */
  acquire: { source: ACQUIRE_SCRIPT, sha1: SCRIPT_SHA1.acquire },
  /** acquire for one rule that counts requests in a window, with no alert at acquire */
  requests: { source: REQUESTS_SCRIPT, sha1: SCRIPT_SHA1.requests },
  settle: { source: SETTLE_SCRIPT, sha1: SCRIPT_SHA1.settle },
} satisfies Record<string, Script>;

/** A rule the requests script can decide, for a demand of one: a window of whole counts with no alert at acquire. */
export function requestsOnly(rules: readonly StoreRule[]): boolean {
  const rule = rules[0];
  return rules.length === 1 && rule !== undefined && !isBucket(rule) && !rule.fractional && rule.alertAt.length === 0;
}

/** The scripts' code for a rule's kind: 1 a window, 3 a bucket; one more for fractional counts (see their headers). */
export function kindCode(rule: StoreRule): number {
  return (isBucket(rule) ? 3 : 1) + (rule.fractional ? 1 : 0);
}
