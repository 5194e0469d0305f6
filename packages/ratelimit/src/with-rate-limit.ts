import { interceptCalls, observedStream, otelApi, type SdkStream, type Sent, scopeFrom } from "@ballast/intercept";
import type { UsageLike } from "@ballast/pricing";
import type { RateLimiter, Ticket } from "./limiter.js";

type Json = Record<string, unknown>;

/** Who a call is made for, as the context it runs in says (`withClaudeContext`, `withClaudeRun`, a tool runner). */
export interface CallContext {
  userId?: string;
  feature?: string;
  conversationId?: string;
  /** the agent run the call is made in */
  runId?: string;
}

export interface WithRateLimitOptions {
  /**
   * The key to count the call under, from its context and parameters, e.g.
   * `(ctx) => ctx.conversationId ?? ctx.userId`; `undefined` lets the call through uncounted.
   */
  key: (ctx: CallContext, params: Json) => string | undefined;
  /**
   * the call's input tokens before it is sent: reservations stop a budget from being overshot only when this is
   * not below the real count (default: a generous estimate from the request's JSON; `countTokens` is exact)
   */
  inputTokens?: (params: Json) => number;
}

/** A rule of the limiter refused a call, which was not sent. */
export class RateLimitedError extends Error {
  override readonly name = "RateLimitedError";
  constructor(
    /** the refusing rule's name (or `store_error` under `onStoreError: "fail-closed"`) */
    readonly rule: string,
    /** that rule's limit */
    readonly limit: number | undefined,
    /** what that rule had counted for the key before this call, in its measure (requests, tokens, USD) */
    readonly spent: number | undefined,
    /** what the refused call would have reserved under that rule */
    readonly requested: number | undefined,
    readonly key: string,
    /** ms until the call could fit; −1 when it never can */
    readonly retryAfterMs: number,
    /** `RateLimit-Policy`, `RateLimit` and `Retry-After`, to answer your own caller with */
    readonly headers: Record<string, string>,
  ) {
    super(
      `rate limited by rule "${rule}" for this key` +
        (retryAfterMs >= 0 ? `; it could fit in ${Math.ceil(retryAfterMs / 1000)} s` : "; it can never fit"),
    );
  }
}

const REPLAYED = Symbol.for("ballast.response-cache.replayed");

/**
 * An input estimate meant to be above the real count, so reservations never let a budget be overshot:
 * one token per 3 characters of the request's system, messages and tools as JSON (real text runs at
 * about 4), plus the API's tool-use preamble when there are tools.
 */
const defaultInputTokens = (params: Json) =>
  Math.ceil(JSON.stringify([params.system ?? null, params.messages ?? null, params.tools ?? null]).length / 3) +
  (Array.isArray(params.tools) && params.tools.length > 0 ? 500 : 0);

/**
 * A copy of `client` whose Messages calls (`create` in both modes, and so `stream()`, `parse()` and a
 * tool runner's calls) are counted by `limiter` under the key `options.key` gives: each call reserves
 * its model, input estimate and `max_tokens` before it is sent and settles to its real usage after (a
 * stream when it ends, is abandoned or fails); a refused call throws `RateLimitedError` and is never
 * sent, and the agent run it was made in ends `stopped_by_budget`. Yours is unchanged.
 */
export function withRateLimit<C extends object>(client: C, limiter: RateLimiter, options: WithRateLimitOptions): C {
  if (typeof limiter?.acquire !== "function") {
    throw new TypeError("withRateLimit: `limiter` must be a limiter from createRateLimiter()");
  }
  if (typeof options?.key !== "function") {
    throw new TypeError("withRateLimit: `options.key` must be a function (ctx, params) => string | undefined");
  }
  if (options.inputTokens !== undefined && typeof options.inputTokens !== "function") {
    throw new TypeError("withRateLimit: `options.inputTokens` must be a function (params) => number");
  }
  const inputTokens = options.inputTokens ?? defaultInputTokens;
  return interceptCalls(client, "withRateLimit", async (params, requestOptions, send, operation) => {
    if (operation !== "create") return send(params, requestOptions);
    const api = otelApi();
    const scope = api ? scopeFrom(api.context.active()) : undefined;
    const key = options.key(
      {
        userId: scope?.userId,
        feature: scope?.feature,
        conversationId: scope?.conversationId,
        runId: scope?.run?.id,
      },
      params,
    );
    if (key === undefined) return send(params, requestOptions);
    const demand = {
      model: typeof params.model === "string" ? params.model : undefined,
      inputTokens: inputTokens(params),
      maxTokens: typeof params.max_tokens === "number" ? params.max_tokens : undefined,
    };
    const ticket = await limiter.acquire(key, demand);
    if (!ticket.allowed) {
      // a store outage under `fail-closed` refuses too, but is no budget
      if (ticket.rule !== "store_error") scope?.run?.stop("stopped_by_budget");
      throw refusal(limiter, ticket, key, demand);
    }
    let sent: Sent;
    try {
      sent = await send(params, requestOptions);
    } catch (error) {
      await ticket.cancel(); // an error answer is not billed
      throw error;
    }
    // an answer @ballast/response-cache replayed used nothing
    if ((sent.response as unknown as Record<symbol, unknown>)?.[REPLAYED] !== undefined) {
      await ticket.cancel();
      return sent;
    }
    if (params.stream !== true) {
      await settle(ticket, (sent.data as Json | undefined)?.usage);
      return sent;
    }
    return { ...sent, data: settledWhenRead(sent.data as SdkStream, client, ticket) };
  });
}

function refusal(
  limiter: RateLimiter,
  ticket: Ticket,
  key: string,
  demand: { model?: string; inputTokens: number; maxTokens?: number },
): RateLimitedError {
  const rule = limiter.rules.find((r) => r.name === ticket.rule);
  let requested: number | undefined;
  if (rule?.measure === "requests") requested = 1;
  else if (rule?.measure === "input_tokens") requested = demand.inputTokens;
  else if (rule?.measure === "output_tokens") requested = demand.maxTokens;
  else if (rule?.measure === "tokens") requested = demand.inputTokens + (demand.maxTokens ?? 0);
  return new RateLimitedError(
    ticket.rule ?? "unknown",
    rule?.limit,
    ticket.spent,
    requested,
    key,
    ticket.retryAfterMs,
    ticket.headers,
  );
}

/** Settles to `usage`, or gives the reservation back when there is none; never throws at the caller. */
async function settle(ticket: Ticket, usage: unknown): Promise<void> {
  try {
    if (typeof usage === "object" && usage !== null) await ticket.settle(usage as UsageLike);
    else await ticket.cancel();
  } catch {
    // usage the limiter refuses (not numbers) leaves the reservation to expire with its window
    await ticket.cancel().catch(() => {});
  }
}

/**
 * The stream, unchanged for the caller; its usage (input from `message_start`, output from
 * `message_delta`) settled when the reading ends, however it ends: a stream cut after its
 * `message_start` has billed its input.
 */
function settledWhenRead(stream: SdkStream, client: unknown, ticket: Ticket): SdkStream {
  let usage: Json | undefined;
  return observedStream(
    stream,
    client,
    (event) => {
      if (event.type === "message_start") usage = { ...((event.message as Json | undefined)?.usage as Json) };
      else if (event.type === "message_delta" && usage) {
        for (const [field, value] of Object.entries((event.usage as Json | undefined) ?? {}))
          if (value != null) usage[field] = value;
      }
    },
    () => void settle(ticket, usage),
  );
}
