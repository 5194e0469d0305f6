import type { Context } from "@opentelemetry/api";

/**
 * A run of Claude calls made for one task (a tool runner's loop, or `withClaudeRun`): calls made inside
 * it add to its totals, and a limiter that refuses one of its calls stops it.
 */
export interface RunScope {
  readonly id: string;
  readonly name: string;
  /** a layer refused the run's next call: the run ends with this outcome, whatever error reaches the caller */
  stop(outcome: "stopped_by_budget"): void;
}

/**
 * Who the Claude calls made in a context are for, set by `withClaudeContext` and the runs of
 * `@ballast/otel-claude`, and read by any package that needs to know (telemetry, a rate limit keyed by
 * conversation).
 */
export interface ClaudeScope {
  userId?: string;
  feature?: string;
  conversationId?: string;
  /** extra span attributes for calls made inside */
  attributes?: Readonly<Record<string, unknown>>;
  run?: RunScope;
}

const SCOPE = Symbol.for("ballast.claude.context");

/** The scope the calls made in `ctx` run in, if any was set. */
export function scopeFrom(ctx: Context): ClaudeScope | undefined {
  return ctx.getValue(SCOPE) as ClaudeScope | undefined;
}

/** `ctx` with `scope` as its Claude scope. */
export function withScope(ctx: Context, scope: ClaudeScope): Context {
  return ctx.setValue(SCOPE, scope);
}
