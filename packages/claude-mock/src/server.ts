import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type BatchResult, BatchStore } from "./batches.js";
import { bedrockChunk } from "./event-stream.js";
import { errorBody, errorTypeFor, type Fault, FaultQueue, validateFault } from "./faults.js";
import { type ApiMessage, buildReply, toApiMessage, validateMessageParams } from "./messages.js";
import { defaultMinCacheableTokens, isKnownModelShape, responseModelId } from "./models.js";
import {
  type Latency,
  type MockClaudeOptions,
  type ResolvedOptions,
  resolveOptions,
  validateLatency,
  validateOrgLimits,
} from "./options.js";
import { type OrgLimits, OrgRateLimiter } from "./org-limits.js";
import { analyzePrompt, PromptError } from "./prompt.js";
import { PromptCache } from "./prompt-cache.js";
import { base62, mulberry32, type Rng } from "./random.js";
import { errorEvent, messageEvents, type SseEvent } from "./sse.js";

type Json = Record<string, unknown>;
type Endpoint = "messages" | "count_tokens" | "batches";

/** A call the mock received, in arrival order. */
export interface RecordedRequest {
  /** the `request-id` the mock answered with */
  id: string;
  method: string;
  path: string;
  endpoint: Endpoint | "other";
  model: string | undefined;
  stream: boolean;
  headers: Record<string, string | string[] | undefined>;
  /** parsed JSON body, or the raw text when it was not JSON */
  body: unknown;
  /** the mock clock when the request arrived, ms */
  time: number;
  /** the HTTP status answered; undefined while in flight or when the connection was reset */
  status?: number;
  /** the fault this call took, if any */
  fault?: Fault;
}

export interface MockConfig {
  latency?: Latency & { models?: Record<string, Latency> };
  orgLimits?: OrgLimits;
  batchDelayMs?: number;
}

export interface MockClaude {
  /** base URL for `new Anthropic({ baseURL: mock.url })` */
  readonly url: string;
  readonly port: number;
  /** every call seen, oldest first (bounded by `maxRecordedRequests`) */
  readonly requests: RecordedRequest[];
  /** queue faults; each is taken by the next matching call (or `times` calls) */
  enqueue(...faults: Fault[]): void;
  /** change latency, org limits or batch delay while running */
  configure(config: MockConfig): void;
  /** move the mock's clock forward (prompt-cache TTLs, rate-limit refill, batch completion) */
  advanceTime(ms: number): void;
  /** the mock's clock, ms */
  now(): number;
  /** forget faults, requests, cache entries, batches and rate-limit usage */
  reset(): void;
  close(): Promise<void>;
}

type Answer = (status: number, headers: Record<string, string>, payload: unknown) => void;

type Outcome =
  | { ok: false; status: number; type: string; message: string; headers?: Record<string, string> }
  | { ok: true; message: ApiMessage };

const VERTEX =
  /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/anthropic\/models\/([^/:]+):(rawPredict|streamRawPredict)$/;
const BEDROCK = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream)$/;
const BATCH = /^\/v1\/messages\/batches\/([^/]+)(\/results|\/cancel)?$/;

class MockServer {
  readonly server: Server;
  readonly requests: RecordedRequest[] = [];
  readonly #o: ResolvedOptions;
  readonly #faults = new FaultQueue();
  readonly #cache = new PromptCache();
  readonly #batches = new BatchStore();
  #limits!: OrgRateLimiter;
  #ids!: Rng;
  #offset = 0;

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.reset();
    this.server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        // A bug in the mock must show up in the test, not as a hung request.
        if (!res.headersSent) {
          this.#json(res, 500, {}, errorBody("api_error", `claude-mock internal error: ${String(error)}`, "req_mock"));
        } else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 30_000;
  }

  now(): number {
    return (this.#o.now?.() ?? Date.now()) + this.#offset;
  }

  advanceTime(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new TypeError(`claude-mock: advanceTime(ms) needs a number ≥ 0; got ${ms}`);
    this.#offset += ms;
  }

  reset(): void {
    this.#faults.clear();
    this.#cache.clear();
    this.#batches.clear();
    this.requests.length = 0;
    this.#limits = new OrgRateLimiter(this.#o.orgLimits, this.now());
    this.#ids = mulberry32(this.#o.seed ^ 0x5eed);
  }

  enqueue(faults: unknown[]): void {
    const valid = faults.map(validateFault);
    for (const f of valid) this.#faults.push(f);
  }

  configure(config: MockConfig): void {
    if (config.latency !== undefined) {
      const base = validateLatency("latency", config.latency);
      const models = { ...this.#o.latency.models };
      for (const [model, l] of Object.entries(config.latency.models ?? {})) {
        models[model] = validateLatency(`latency.models.${model}`, l);
      }
      this.#o.latency = {
        ttftMs: base.ttftMs ?? this.#o.latency.ttftMs,
        perTokenMs: base.perTokenMs ?? this.#o.latency.perTokenMs,
        models,
      };
    }
    if (config.orgLimits !== undefined) {
      this.#o.orgLimits = validateOrgLimits(config.orgLimits);
      this.#limits = new OrgRateLimiter(this.#o.orgLimits, this.now());
    }
    if (config.batchDelayMs !== undefined) {
      const d = config.batchDelayMs;
      if (typeof d !== "number" || !(d >= 0))
        throw new TypeError(`claude-mock: batchDelayMs must be a number ≥ 0; got ${d}`);
      this.#o.batchDelayMs = d;
    }
  }

  #record(entry: RecordedRequest): void {
    this.requests.push(entry);
    if (this.requests.length > this.#o.maxRecordedRequests) {
      this.requests.splice(0, Math.ceil(this.#o.maxRecordedRequests / 10));
    }
  }

  /** As the API answers a body over its size limit: 413 `request_too_large`, nothing of the body kept. */
  #tooLarge(req: IncomingMessage, res: ServerResponse, path: string, limit: number): void {
    const id = this.#requestId();
    const method = req.method ?? "POST";
    this.#record({
      id,
      method,
      path,
      endpoint: path === "/v1/messages" ? "messages" : "other",
      model: undefined,
      stream: false,
      headers: { ...req.headers },
      body: undefined,
      time: this.now(),
      status: 413,
    });
    const message = `Request exceeds the maximum allowed number of bytes (${limit}).`;
    this.#json(res, 413, { "request-id": id }, errorBody("request_too_large", message, id));
  }

  #requestId(): string {
    return `req_011C${base62(this.#ids, 20)}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const limit = path === "/v1/messages/batches" ? BATCH_BODY_BYTES : this.#o.maxBodyBytes;
    const raw = await readBody(req, limit);
    if (raw === TOO_LARGE) return this.#tooLarge(req, res, path, limit);
    if (path.startsWith("/_mock/")) return this.#control(req.method ?? "GET", path, raw, res);

    let body: unknown = raw;
    let parsed = true;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        parsed = false;
      }
    } else body = undefined;

    const method = req.method ?? "GET";
    const vertex = VERTEX.exec(path);
    const bedrock = BEDROCK.exec(path);
    let endpoint: RecordedRequest["endpoint"] = "other";
    let modelFromPath: string | undefined;
    let vertexStream = false;
    if (method === "POST" && (path === "/v1/messages" || vertex || bedrock)) endpoint = "messages";
    else if (method === "POST" && path === "/v1/messages/count_tokens") endpoint = "count_tokens";
    else if (path === "/v1/messages/batches" || BATCH.test(path)) endpoint = "batches";
    if (vertex) {
      modelFromPath = decodeURIComponent(vertex[1] ?? "");
      vertexStream = vertex[2] === "streamRawPredict";
      if (modelFromPath === "count-tokens") {
        endpoint = "count_tokens";
        modelFromPath = undefined;
      }
    }
    if (bedrock) {
      // `us.anthropic.claude-sonnet-4-6-v1:0` → `claude-sonnet-4-6`; the stream is in the path
      modelFromPath = decodeURIComponent(bedrock[1] ?? "")
        .replace(/^(?:[a-z]{2,6}\.)?anthropic\./, "")
        .replace(/-v\d+(?::\d+)?$/, "");
      vertexStream = bedrock[2] === "invoke-with-response-stream";
    }
    const b = (typeof body === "object" && body !== null ? body : {}) as Json;
    const model = modelFromPath ?? (typeof b.model === "string" ? b.model : undefined);
    const stream = vertexStream || b.stream === true;
    const id = this.#requestId();
    const entry: RecordedRequest = {
      id,
      method,
      path,
      endpoint,
      model,
      stream,
      headers: { ...req.headers },
      body,
      time: this.now(),
    };
    this.#record(entry);
    const answer: Answer = (status, headers, payload) => {
      entry.status = status;
      this.#json(res, status, { "request-id": id, ...headers }, payload);
    };
    const apiError = (status: number, type: string, message: string, headers: Record<string, string> = {}) =>
      answer(status, headers, errorBody(type, message, id));

    if (endpoint === "other") return apiError(404, "not_found_error", `Not Found: ${method} ${path}`);

    const fault = this.#faults.take(endpoint, model);
    if (fault) entry.fault = fault;
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.reset) {
      req.socket.destroy();
      return;
    }
    if (fault && (fault.body !== undefined || (fault.status ?? 0) >= 300)) {
      return this.#answerFault(fault, id, entry, res);
    }

    // SDK 0.x sends `x-api-key`; SDK 1.x sends the key as `Authorization: Bearer`; Bedrock signs with SigV4.
    const authorization = req.headers.authorization ?? "";
    const bearer = /^Bearer (.+)$/.exec(authorization)?.[1];
    const key = (req.headers["x-api-key"] as string | undefined) || bearer;
    const sigV4 = bedrock !== null && authorization.startsWith("AWS4-HMAC-SHA256 ");
    if (!sigV4 && (!key || (this.#o.apiKey !== undefined && key !== this.#o.apiKey))) {
      return apiError(401, "authentication_error", key ? "invalid x-api-key" : "x-api-key header is required");
    }
    if (!parsed)
      return apiError(
        400,
        "invalid_request_error",
        "There was an error parsing the body of your request: invalid JSON",
      );

    if (endpoint === "batches") return this.#batchesRoute(method, path, b, req, answer, apiError);

    const invalid = validateMessageParams(body, modelFromPath);
    if (invalid && !(endpoint === "count_tokens" && invalid.startsWith("max_tokens"))) {
      return apiError(400, "invalid_request_error", invalid);
    }
    if (!model || !isKnownModelShape(model)) return apiError(404, "not_found_error", `model: ${model}`);
    const withModel = modelFromPath ? { ...b, model: modelFromPath } : b;

    if (endpoint === "count_tokens") {
      try {
        return answer(200, {}, { input_tokens: analyzePrompt(withModel).totalTokens });
      } catch (error) {
        if (error instanceof PromptError) return apiError(400, "invalid_request_error", error.message);
        throw error;
      }
    }

    const now = this.now();
    const outcome = this.#createMessage(
      withModel,
      model,
      now,
      "standard",
      fault?.reply,
      true,
      raw.includes("cache_control"),
    );
    const limitHeaders = this.#limits.headers(now);
    if (!outcome.ok)
      return apiError(outcome.status, outcome.type, outcome.message, { ...limitHeaders, ...outcome.headers });

    const latency = this.#latencyFor(model, fault);
    const headers = { "request-id": id, ...limitHeaders };
    entry.status = 200;
    if (!stream) {
      const wait = latency.ttftMs + latency.perTokenMs * outcome.message.usage.output_tokens;
      if (wait > 0) await sleep(wait);
      if (!res.destroyed) this.#json(res, 200, headers, outcome.message);
      return;
    }
    await this.#stream(res, headers, outcome.message, latency, fault, bedrock !== null);
  }

  #answerFault(fault: Fault, id: string, entry: RecordedRequest, res: ServerResponse): void {
    const status = fault.status ?? 200;
    const headers: Record<string, string> = { "request-id": id, ...this.#limits.headers(this.now()) };
    if (fault.retryAfterS !== undefined) headers["retry-after"] = String(fault.retryAfterS);
    if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
    if (fault.shouldRetry !== undefined) headers["x-should-retry"] = String(fault.shouldRetry);
    Object.assign(headers, fault.headers);
    entry.status = status;
    if (fault.body !== undefined) return this.#json(res, status, headers, fault.body);
    this.#json(res, status, headers, errorBody(fault.errorType ?? errorTypeFor(status), fault.message, id));
  }

  #latencyFor(model: string, fault: Fault | undefined): Required<Latency> {
    const m = this.#o.latency.models[model] ?? {};
    return {
      ttftMs: fault?.ttftMs ?? m.ttftMs ?? this.#o.latency.ttftMs,
      perTokenMs: fault?.perTokenMs ?? m.perTokenMs ?? this.#o.latency.perTokenMs,
    };
  }

  /** Everything between a valid request and its reply: caching, org limits, the reply itself. */
  #createMessage(
    body: Json,
    model: string,
    now: number,
    tier: "standard" | "batch",
    scripted: Fault["reply"],
    admit: boolean,
    cacheable = true,
  ): Outcome {
    let prompt: ReturnType<typeof analyzePrompt>;
    try {
      prompt = analyzePrompt(body, cacheable);
    } catch (error) {
      if (error instanceof PromptError)
        return { ok: false, status: 400, type: "invalid_request_error", message: error.message };
      throw error;
    }
    const minTokens = this.#o.minCacheableTokens[model] ?? defaultMinCacheableTokens(model);
    const plan = this.#cache.plan(prompt, minTokens, now);
    if (admit) {
      const refusal = this.#limits.admit(plan.usage.input_tokens + plan.usage.cache_creation_input_tokens, now);
      if (refusal) {
        const what = refusal.kind === "requests" ? "requests" : refusal.kind.replace("_", " ");
        return {
          ok: false,
          status: 429,
          type: "rate_limit_error",
          message: `This request would exceed your organization's rate limit of ${refusal.limit} ${what} per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.`,
          headers: { "retry-after": String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000))) },
        };
      }
    }
    plan.commit();
    const reply = buildReply(body, {
      seed: this.#o.seed,
      minTokens: this.#o.reply.minTokens,
      maxTokens: this.#o.reply.maxTokens,
      ids: this.#ids,
      scripted,
    });
    if (admit) this.#limits.chargeOutput(reply.outputTokens, now);
    const message = toApiMessage(`msg_01${base62(this.#ids, 22)}`, responseModelId(model), reply, plan.usage, tier);
    return { ok: true, message };
  }

  async #stream(
    res: ServerResponse,
    headers: Record<string, string>,
    message: ApiMessage,
    latency: Required<Latency>,
    fault: Fault | undefined,
    bedrock: boolean,
  ): Promise<void> {
    const contentType = bedrock ? "application/vnd.amazon.eventstream" : "text/event-stream; charset=utf-8";
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache", ...headers });
    // SSE frames are strings (joined once: the zero-latency path is one write); Bedrock's are binary.
    const encode = (event: SseEvent): string | Buffer => (bedrock ? bedrockChunk(event.data) : event.frame);
    const stopAfter = fault?.stream ? (fault.after ?? 0) : Number.POSITIVE_INFINITY;
    let pending: Array<string | Buffer> = [];
    const take = () => {
      const chunk = bedrock ? Buffer.concat(pending as Buffer[]) : (pending as string[]).join("");
      pending = [];
      return chunk;
    };
    let deltas = 0;
    for (const event of messageEvents(message)) {
      if (event.tokens > 0) {
        if (deltas === stopAfter) break;
        const wait = deltas === 0 ? latency.ttftMs : latency.perTokenMs * event.tokens;
        if (wait > 0) {
          if (pending.length > 0) res.write(take());
          await sleep(wait);
          if (res.destroyed) return;
        }
        deltas++;
      }
      pending.push(encode(event));
    }
    if (deltas === stopAfter && fault?.stream === "drop") {
      // Flush what was promised, then cut the connection mid-stream without a final chunk.
      res.write(take(), () => res.destroy());
      return;
    }
    if (deltas === stopAfter && fault?.stream === "error") {
      pending.push(encode(errorEvent(fault.errorType ?? "overloaded_error", fault.message ?? "Overloaded")));
    }
    res.end(take());
  }

  #batchesRoute(
    method: string,
    path: string,
    body: Json,
    req: IncomingMessage,
    answer: Answer,
    apiError: (status: number, type: string, message: string) => void,
  ): void {
    const now = this.now();
    const origin = `http://${req.headers.host ?? `${this.#o.host}:${(this.server.address() as AddressInfo).port}`}`;
    if (path === "/v1/messages/batches") {
      if (method === "GET") {
        const data = this.#batches.list().map((batch) => this.#batches.view(batch, now, origin));
        return answer(
          200,
          {},
          { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null },
        );
      }
      if (method !== "POST") return apiError(405, "invalid_request_error", `Method ${method} not allowed`);
      const requests = body.requests;
      if (!Array.isArray(requests) || requests.length === 0) {
        return apiError(400, "invalid_request_error", "requests: List should have at least 1 item");
      }
      const seen = new Set<string>();
      for (const [i, r] of requests.entries()) {
        const customId = (r as Json | null)?.custom_id;
        if (typeof customId !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(customId)) {
          return apiError(
            400,
            "invalid_request_error",
            `requests.${i}.custom_id: must be 1-64 characters of [a-zA-Z0-9_-]`,
          );
        }
        if (seen.has(customId))
          return apiError(400, "invalid_request_error", `requests.${i}.custom_id: duplicate '${customId}'`);
        seen.add(customId);
      }
      const results = requests.map((r: Json) => ({
        custom_id: String(r.custom_id),
        result: this.#batchResult(r.params, now),
      }));
      const batch = this.#batches.create(`msgbatch_01${base62(this.#ids, 22)}`, now, this.#o.batchDelayMs, results);
      return answer(200, {}, this.#batches.view(batch, now, origin));
    }
    const [, batchId = "", action] = BATCH.exec(path) ?? [];
    const batch = this.#batches.get(batchId);
    if (!batch) return apiError(404, "not_found_error", `message batch ${batchId} not found`);
    if (action === "/results" && method === "GET") {
      if (!this.#batches.ended(batch, now)) {
        return apiError(
          400,
          "invalid_request_error",
          `message batch ${batchId} is still processing; results are not ready`,
        );
      }
      return answer(200, { "content-type": "application/binary" }, this.#batches.resultsJsonl(batch));
    }
    if (action === "/cancel" && method === "POST") {
      this.#batches.cancel(batch, now);
      return answer(200, {}, this.#batches.view(batch, now, origin));
    }
    if (action === undefined && method === "GET") return answer(200, {}, this.#batches.view(batch, now, origin));
    if (action === undefined && method === "DELETE") {
      if (!this.#batches.ended(batch, now)) {
        return apiError(400, "invalid_request_error", "a batch must be ended or canceled before it is deleted");
      }
      this.#batches.delete(batchId);
      return answer(200, {}, { id: batchId, type: "message_batch_deleted" });
    }
    return apiError(405, "invalid_request_error", `Method ${method} not allowed on ${path}`);
  }

  #batchResult(params: unknown, now: number): BatchResult {
    const invalid = validateMessageParams(params);
    const p = params as Json;
    const errored = (type: string, message: string): BatchResult => ({
      type: "errored",
      error: { type: "error", error: { type, message } },
    });
    if (invalid) return errored("invalid_request_error", invalid);
    const model = String(p.model);
    if (!isKnownModelShape(model)) return errored("not_found_error", `model: ${model}`);
    if (p.stream === true) return errored("invalid_request_error", "stream: streaming is not supported in batches");
    const outcome = this.#createMessage(p, model, now, "batch", undefined, false);
    return outcome.ok ? { type: "succeeded", message: outcome.message } : errored(outcome.type, outcome.message);
  }

  #control(method: string, path: string, raw: string, res: ServerResponse): void {
    const ok = (payload: unknown) => this.#json(res, 200, {}, payload);
    try {
      const input = raw ? JSON.parse(raw) : {};
      if (method === "GET" && path === "/_mock/health") return ok({ ok: true });
      if (method === "GET" && path === "/_mock/requests") return ok(this.requests);
      if (method === "POST" && path === "/_mock/enqueue") {
        const faults = Array.isArray(input) ? input : [input];
        this.enqueue(faults);
        return ok({ queued: faults.length });
      }
      if (method === "POST" && path === "/_mock/reset") {
        this.reset();
        return ok({ ok: true });
      }
      if (method === "POST" && path === "/_mock/clock") {
        this.advanceTime(Number(input.advanceMs ?? 0));
        return ok({ now: this.now() });
      }
      if (method === "POST" && path === "/_mock/config") {
        this.configure(input);
        return ok({ ok: true });
      }
      this.#json(res, 404, {}, { error: `unknown control endpoint ${method} ${path}` });
    } catch (error) {
      this.#json(res, 400, {}, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Sends `payload` as JSON; a string payload is sent as is (JSONL results, raw fault bodies). */
  #json(res: ServerResponse, status: number, headers: Record<string, string>, payload: unknown): void {
    if (res.destroyed) return;
    const text = typeof payload === "string" ? payload : JSON.stringify(payload);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }
}

// The API's limits: 256 MB for a batch, 32 MB for every other request.
const BATCH_BODY_BYTES = 256_000_000;
const TOO_LARGE = Symbol("too large");

/**
 * The body as text, or TOO_LARGE as soon as it passes `limit` bytes. The rest of a body too large is
 * read and dropped, so the client gets its answer and nothing of it stays in memory.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string | typeof TOO_LARGE> {
  if (Number(req.headers["content-length"] ?? 0) > limit) {
    req.resume();
    return Promise.resolve(TOO_LARGE);
  }
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= limit) {
        chunks.push(c);
        return;
      }
      chunks = [];
      req.off("data", onData);
      req.resume();
      resolve(TOO_LARGE);
    };
    req.on("data", onData);
    req.on("end", () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8")),
    );
    req.on("error", reject);
  });
}

/** Starts a mock of the Anthropic Messages API on a loopback port. */
export async function startMockClaude(options: MockClaudeOptions = {}): Promise<MockClaude> {
  const resolved = resolveOptions(options);
  const mock = new MockServer(resolved);
  await new Promise<void>((resolve, reject) => {
    mock.server.once("error", reject);
    mock.server.listen(resolved.port, resolved.host, () => resolve());
  });
  const { port } = mock.server.address() as AddressInfo;
  const host = resolved.host.includes(":") ? `[${resolved.host}]` : resolved.host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    requests: mock.requests,
    enqueue: (...faults) => mock.enqueue(faults),
    configure: (config) => mock.configure(config),
    advanceTime: (ms) => mock.advanceTime(ms),
    now: () => mock.now(),
    reset: () => mock.reset(),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        mock.server.close(() => resolve());
        mock.server.closeAllConnections();
      });
      return closed;
    },
  };
}
