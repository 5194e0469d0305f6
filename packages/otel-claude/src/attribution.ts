import { type RunScope, scopeFrom, withScope } from "@ballast/intercept";
import { type AttributeValue, type Context, context, propagation } from "@opentelemetry/api";
import { ATTR_FEATURE, ATTR_USER_ID } from "./semconv.js";

export interface ClaudeContext {
  /** the end user the call is made for (a span attribute and log field, never a metric label) */
  userId?: string;
  /** the product feature making the call, e.g. `support_chat` (a metric label: keep it low-cardinality) */
  feature?: string;
  /** the conversation the calls belong to (`gen_ai.conversation.id`; a log field, never a metric label) */
  conversationId?: string;
  /** extra span attributes for calls made inside */
  attributes?: Record<string, AttributeValue>;
}

const MAX_ID_LENGTH = 256;
// shared by every call without extra attributes; frozen, since callers only read it
const NONE: Record<string, AttributeValue> = Object.freeze({});

function check(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new TypeError(
      `withClaudeContext: \`${field}\` must be a string of 1 to ${MAX_ID_LENGTH} characters; got ${JSON.stringify(value)}`,
    );
  }
  // eslint-style control characters have no place in ids that end up in logs and trace UIs.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point of this check
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new TypeError(`withClaudeContext: \`${field}\` must not contain control characters`);
  }
  return value;
}

/** Runs `fn` with Claude calls inside it attributed to `userId`, `feature` and `conversationId` (nested calls merge). */
export function withClaudeContext<T>(attribution: ClaudeContext, fn: () => T): T {
  if (typeof attribution !== "object" || attribution === null) {
    throw new TypeError(
      "withClaudeContext: the first argument must be { userId?, feature?, conversationId?, attributes? }",
    );
  }
  const active = context.active();
  const parent = scopeFrom(active);
  return context.with(
    withScope(active, {
      userId: check("userId", attribution.userId) ?? parent?.userId,
      feature: check("feature", attribution.feature) ?? parent?.feature,
      conversationId: check("conversationId", attribution.conversationId) ?? parent?.conversationId,
      attributes: { ...parent?.attributes, ...attribution.attributes },
      run: parent?.run,
    }),
    fn,
  );
}

export interface Attribution {
  userId: string | undefined;
  feature: string | undefined;
  conversationId: string | undefined;
  attributes: Record<string, AttributeValue>;
  run: RunScope | undefined;
}

/** Attribution for a call started in `ctx`: `withClaudeContext` first, then baggage `user.id` / `ballast.feature`. */
export function attributionFrom(ctx: Context): Attribution {
  const own = scopeFrom(ctx);
  const baggage = propagation.getBaggage(ctx);
  return {
    userId: own?.userId ?? baggage?.getEntry(ATTR_USER_ID)?.value,
    feature: own?.feature ?? baggage?.getEntry(ATTR_FEATURE)?.value,
    conversationId: own?.conversationId,
    attributes: (own?.attributes as Record<string, AttributeValue> | undefined) ?? NONE,
    run: own?.run,
  };
}
