import { createHash } from "node:crypto";

type Json = Record<string, unknown>;

/** JSON with object keys sorted at every depth: the same request always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Json)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The store key of a request: prompts and user data are hashed, never stored in key names. */
export function cacheKey(namespace: string, identity: unknown): string {
  const digest = createHash("sha256").update(canonicalJson(identity)).digest("hex");
  return `ballast:response-cache:${namespace}:${digest}`;
}

/**
 * Who is asking and where: a hash of the client's credentials (API key or auth token; Bedrock's and
 * Vertex's account, region and project) and its base URL. Only the hash enters the key, which is hashed again.
 */
export function tenantOf(client: Json): string {
  const fields = ["apiKey", "authToken", "awsAccessKey", "awsRegion", "projectId", "region", "baseURL"];
  const identity = fields.map((name) => (typeof client[name] === "string" ? client[name] : null));
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex");
}

/**
 * Whether `message` is an answer worth repeating: a complete Message, never an error body or a refusal, and
 * a `max_tokens` cut only when asked.
 */
export function isStorable(message: Json | undefined, cacheTruncated: boolean): boolean {
  if (message?.type !== "message" || !Array.isArray(message.content)) return false;
  if (message.stop_reason === "refusal") return false;
  return cacheTruncated || message.stop_reason !== "max_tokens";
}

export function carriesToolResults(params: Json): boolean {
  const messages = Array.isArray(params.messages) ? (params.messages as Json[]) : [];
  return messages.some((m) => Array.isArray(m.content) && (m.content as Json[]).some((b) => b?.type === "tool_result"));
}
