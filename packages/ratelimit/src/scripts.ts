import { ACQUIRE_TEMPLATE } from "./lua/acquire.js";
import { MAX_RULES } from "./rules.js";
import type { StoreRule } from "./store.js";

export { ADJUST_SCRIPT } from "./lua/adjust.js";

/** ioredis command names of acquire scripts start with this, then the shape */
export const ACQUIRE_SCRIPT_PREFIX = "ballastRateLimitAcquire_";

/** lua/acquire.ts's sections by name ("--- name" lines start them) */
const SECTIONS = new Map<string, string>();
{
  const parts = ACQUIRE_TEMPLATE.split(/^--- (.+)\n/m);
  for (let i = 1; i + 1 < parts.length; i += 2) SECTIONS.set(parts[i] as string, (parts[i + 1] as string).trim());
}

type Kind = "sliding" | "gcra" | "calendar";
function kindOf(rule: StoreRule): Kind {
  if (rule.calendar) return "calendar";
  return rule.algorithm === "gcra" ? "gcra" : "sliding";
}

/** Window arguments after a rule's limit, window and cost: a sliding window's two indexes, a calendar's four boundaries. */
export function windowArgs(rule: StoreRule): number {
  const kind = kindOf(rule);
  return kind === "sliding" ? 2 : kind === "calendar" ? 4 : 0;
}

function fill(section: string, values: Record<string, string | number>): string {
  const text = SECTIONS.get(section);
  if (text === undefined) throw new Error(`@ballast/ratelimit: lua/acquire.ts has no section "${section}"`);
  return text.replace(/\$(\w+)/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined)
      throw new Error(`@ballast/ratelimit: lua/acquire.ts section "${section}" uses unknown $${name}`);
    return String(value);
  });
}

/** What makes two rule lists need different scripts: per rule its kind, fractional counts, alert count. */
export function shapeOf(rules: readonly StoreRule[]): string {
  return rules.map((r) => `${kindOf(r)[0]}${r.fractional ? "f" : ""}${r.alertAt.length}`).join(".");
}

const scripts = new Map<string, string>();

/**
 * The acquire script for rules of this shape, written from lua/acquire.ts's sections (its header says
 * how), remembered per shape.
 */
export function acquireScript(rules: readonly StoreRule[]): string {
  const shape = shapeOf(rules);
  const known = scripts.get(shape);
  if (known) return known;
  if (rules.length < 1 || rules.length > MAX_RULES) {
    throw new RangeError(`@ballast/ratelimit: a limiter has 1 to ${MAX_RULES} rules; got ${rules.length}`);
  }
  const alerts = rules.some((r) => r.alertAt.length > 0);
  const keys: string[] = [];
  const checks: string[] = [];
  const charges: string[] = [];
  const reads: string[] = [];
  const out: string[] = [];
  const header = [
    `-- Written by @ballast/ratelimit from lua/acquire.ts for rules of shape ${shape}; see lua/acquire.ts.`,
    "-- ARGV[1]: a test clock's time in ms, else '' (Redis's TIME)",
  ];
  let arg = 2;
  rules.forEach((rule, i) => {
    const r = i + 1;
    const kind = kindOf(rule);
    const extra = { sliding: ", window index, the one before", gcra: "", calendar: ", four period boundaries" }[kind];
    const thresholds = rule.alertAt.length ? `, ${rule.alertAt.length} alert threshold(s)` : "";
    const last = arg + 2 + windowArgs(rule) + rule.alertAt.length;
    header.push(
      `-- rule ${r}, ${kind}${rule.fractional ? " (fractional)" : ""}: KEYS[${r}]; ARGV[${arg}..${last}]: limit, window ms, cost${extra}${thresholds}`,
    );
    const values: Record<string, string | number> = { r, g1: reads.length + 1, g2: reads.length + 2 };
    for (let k = 1; k <= 3 + windowArgs(rule); k++) values[k] = arg + k - 1;
    const cost = `ARGV[${arg + 2}]`;
    // Whole counts take INCRBY; a count an older version left fractional takes INCRBYFLOAT rather than
    // failing after other rules were charged (every check runs before any charge).
    values.add = rule.fractional
      ? `call('INCRBYFLOAT', key${r}, ${cost}) + 0`
      : `call((got[${values.g1}] or ''):find('.', 1, true) and 'INCRBYFLOAT' or 'INCRBY', key${r}, ${cost}) + 0`;
    reads.push(`key${r}`);
    if (kind === "sliding") reads.push(`prev${r}`);
    keys.push(fill(`keys ${kind}`, values));
    checks.push(fill(`check ${kind}`, values));
    charges.push(fill(`charge ${kind}`, values));
    arg += 3 + windowArgs(rule);
    for (const _ of rule.alertAt) charges.push(fill("alert", { ...values, t: arg++ }));
    const remaining = `limit${r} - (used${r} + cost${r})`;
    out.push(rule.fractional ? `tostring(${remaining})` : remaining, `reset${r}`, `idx${r}`);
  });
  const reply = `{1, ${out.join(", ")}}`;
  const script = [
    header.join("\n"),
    fill("prelude", {}),
    ...(alerts ? [fill("prelude alerts", {})] : []),
    ...keys,
    `local got = call('MGET', ${reads.join(", ")})`,
    ...checks,
    ...charges,
    alerts ? `local out = ${reply}\nfor i = 1, #fired do out[#out + 1] = fired[i] end\nreturn out` : `return ${reply}`,
  ].join("\n\n");
  scripts.set(shape, script);
  return script;
}
