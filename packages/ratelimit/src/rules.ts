export type Measure = "requests" | "input_tokens" | "output_tokens" | "tokens" | "usd";
export type Algorithm = "sliding" | "gcra";

export interface RuleInput {
  name: string;
  limit: number;
  /** `"30s"`, `"1m"`, `"1h"`, `"1d"` (any whole number of s, m, h, d), or the calendar `"day"` / `"month"` */
  window: string;
  /** for calendar windows: the IANA zone whose midnight starts the period (default `UTC`) */
  timeZone?: string;
  /** what is counted (default `requests`) */
  measure?: Measure;
  /** `sliding` window (default) or `gcra` (a token bucket that refills evenly) */
  algorithm?: Algorithm;
  /** fractions of the limit that fire `onBudgetAlert` once per key and window, e.g. [0.5, 0.8, 1] */
  alertAt?: number[];
}

export interface Rule {
  /** set for calendar windows: the count resets at the start of each day or month in `timeZone` */
  calendar?: { unit: CalendarUnit; timeZone: string };
  name: string;
  limit: number;
  windowMs: number;
  window: string;
  measure: Measure;
  algorithm: Algorithm;
  alertAt: number[];
}

import { shown } from "./amounts.js";
import { type CalendarUnit, checkTimeZone } from "./calendar.js";

/** Most rules one limiter may have: Redis runs them in one script, with a few Lua locals per rule (Lua allows 200). */
export const MAX_RULES = 16;

const MEASURES: readonly Measure[] = ["requests", "input_tokens", "output_tokens", "tokens", "usd"];
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function bad(field: string, accepted: string, got: unknown): never {
  throw new TypeError(`createRateLimiter: \`${field}\` must be ${accepted}; got ${shown(got)}`);
}

// Longer windows than this are a typo, and their keys' expiry would overflow what Redis takes.
const MAX_WINDOW_MS = 400 * 86_400_000;

export function parseWindow(field: string, window: unknown): number {
  const m = typeof window === "string" ? /^(\d+)\s*(s|m|h|d)$/.exec(window.trim()) : null;
  const ms = m ? Number(m[1]) * (UNITS[m[2] as string] ?? 0) : 0;
  if (!m || !(ms >= 1000 && ms <= MAX_WINDOW_MS)) {
    bad(field, 'a duration from 1s to 400d, like "30s", "1m", "1h" or "1d", or "day" / "month"', window);
  }
  return ms;
}

export function parseRules(input: unknown): Rule[] {
  if (!Array.isArray(input) || input.length === 0) bad("rules", "a non-empty array of { name, limit, window }", input);
  if (input.length > MAX_RULES)
    bad("rules", `at most ${MAX_RULES} rules (one Redis script holds them all)`, input.length);
  const names = new Set<string>();
  return input.map((r: RuleInput, i) => {
    const at = `rules[${i}]`;
    if (typeof r !== "object" || r === null) bad(at, "an object { name, limit, window, measure? }", r);
    if (typeof r.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(r.name)) {
      bad(`${at}.name`, "1 to 64 characters of A-Z a-z 0-9 _ . -", r.name);
    }
    if (names.has(r.name)) bad(`${at}.name`, "unique within the limiter", r.name);
    names.add(r.name);
    if (typeof r.limit !== "number" || !Number.isFinite(r.limit) || r.limit <= 0)
      bad(`${at}.limit`, "a number > 0", r.limit);
    const measure = r.measure ?? "requests";
    if (!MEASURES.includes(measure)) bad(`${at}.measure`, MEASURES.join(" | "), r.measure);
    const algorithm = r.algorithm ?? "sliding";
    if (algorithm !== "sliding" && algorithm !== "gcra") bad(`${at}.algorithm`, '"sliding" or "gcra"', r.algorithm);
    let calendar: Rule["calendar"];
    if (r.window === "day" || r.window === "month") {
      const timeZone = r.timeZone ?? "UTC";
      checkTimeZone(`${at}.timeZone`, timeZone);
      calendar = { unit: r.window, timeZone };
    } else if (r.timeZone !== undefined) {
      bad(`${at}.timeZone`, 'set only with a calendar window ("day" or "month")', r.timeZone);
    }
    const alertAt = r.alertAt ?? [];
    if (!Array.isArray(alertAt) || alertAt.some((a) => typeof a !== "number" || !(a > 0 && a <= 1))) {
      bad(`${at}.alertAt`, "an array of fractions in (0, 1]", r.alertAt);
    }
    return {
      name: r.name,
      limit: r.limit,
      window: r.window,
      windowMs: calendar
        ? calendar.unit === "day"
          ? 86_400_000
          : 31 * 86_400_000
        : parseWindow(`${at}.window`, r.window),
      ...(calendar ? { calendar } : {}),
      measure,
      algorithm,
      alertAt: [...alertAt].sort((a, b) => a - b),
    };
  });
}
