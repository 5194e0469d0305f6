import {
  interceptCalls,
  isAbortError,
  observedStream,
  type SdkStream,
  type Send,
  type Sent,
  sentOf,
} from "@ballast/intercept";
import { cacheKey, carriesToolResults, isStorable, tenantOf } from "./cache-key.js";
import { type ResolvedOptions, type ResponseCacheOptions, resolveOptions } from "./options.js";
import { MessageAccumulator, sseBody } from "./replay.js";
import { CacheTelemetry } from "./telemetry.js";

type Json = Record<string, unknown>;
type AnyFn = (...args: unknown[]) => unknown;
/** What the cache keeps per request. */
interface Entry {
  message: Json;
  storedAt: number;
}

/** How an answer was served: from the cache while fresh, or past its ttl because the API failed. */
export interface CacheStatus {
  status: "hit" | "stale";
  ageMs: number;
}

const STATUS = Symbol.for("ballast.response-cache.status");
const TOKEN_HEADER = "x-ballast-replay-token";
const CACHE_HEADER = "x-ballast-response-cache"; // for the application: how the answer was served
// Read by @ballast/otel-claude (span attribute, no tokens counted) as a property of the replayed Response,
// which costs nothing, where reading a header of every response costs undici's Headers validation.
const REPLAYED = Symbol.for("ballast.response-cache.replayed");

const CACHEABLE = Symbol.for("ballast.response-cache.cacheable");

/**
 * Request options that mark one call for the cache (or, with `false`, keep it out), typed as the SDK's
 * own: `client.messages.create(params, cacheable())`, `cacheable({ signal })`. SDK 1.x has no
 * `temperature` parameter, so this (or `when`) is how its calls opt in. Plain JavaScript may pass
 * `{ cacheable: true }` instead.
 */
export function cacheable<T extends object>(options?: T, cache = true): T {
  return { ...options, [CACHEABLE]: cache } as T;
}

type Marked = Record<symbol, CacheStatus> & { usage?: Record<symbol, CacheStatus> };

/**
 * How a result came from the cache (`hit` or `stale`, and its age); undefined for an answer from the API.
 * Takes what any call shape gives: a Message, a Stream, `parse()`'s result or `messages.stream()`'s
 * `finalMessage()`. The helpers build new Message objects but keep the `usage` object, so it carries the mark too.
 */
export function cacheStatus(result: unknown): CacheStatus | undefined {
  const marked = result as Marked | null | undefined;
  return marked?.[STATUS] ?? marked?.usage?.[STATUS];
}

function mark(target: unknown, status: CacheStatus): void {
  if (typeof target === "object" && target !== null) Object.defineProperty(target, STATUS, { value: status });
}

class LeaderAbandoned extends Error {}

/** Failures that a stale answer may cover: the API or the network, never the request itself. */
function isOutage(error: unknown): boolean {
  const e = error as { status?: number; name?: string } | null;
  if (!e || isAbortError(e)) return false;
  if (e.status === undefined) return e.name === "APIConnectionError" || e.name === "APIConnectionTimeoutError";
  return e.status === 429 || e.status >= 500;
}

class ResponseCache {
  readonly #inflight = new Map<string, Promise<{ entry: Entry; status: "fresh" | "stale" }>>();
  readonly #pending = new Map<string, { body: string; stream: boolean; status: string }>();
  #replayClient: Json | undefined;
  #tokens = 0;
  readonly #tenant: string | undefined;

  constructor(
    private readonly given: Json, // the client passed in
    private readonly o: ResolvedOptions,
    private readonly telemetry: CacheTelemetry,
  ) {
    this.#tenant = o.shareAcrossClients ? undefined : tenantOf(given);
  }

  cacheable(params: Json, perCall: unknown): boolean {
    if (perCall === false) return false;
    if (!this.o.allowToolResults && carriesToolResults(params)) return false;
    if (this.o.when) return this.o.when(params);
    return perCall === true || params.temperature === 0;
  }

  serve(params: Json, options: Json | undefined, send: Send): Promise<Sent> {
    const identity = this.o.key(params);
    const key = cacheKey(this.o.namespace, this.#tenant === undefined ? identity : [this.#tenant, identity]);
    return this.#serve(key, params, options, send);
  }

  async #serve(key: string, params: Json, options: Json | undefined, send: Send): Promise<Sent> {
    const entry = await this.#read(key);
    const age = entry ? Date.now() - entry.storedAt : Number.POSITIVE_INFINITY;
    if (entry && age <= this.o.ttlMs) return this.#replay(params, options, entry, "hit");
    const flight = this.#inflight.get(key);
    if (flight) {
      try {
        const led = await flight;
        return this.#replay(params, options, led.entry, led.status === "fresh" ? "hit" : "stale");
      } catch (error) {
        if (error instanceof LeaderAbandoned) return this.#serve(key, params, options, send);
        if (this.#covers(entry, age, error)) return this.#replay(params, options, entry as Entry, "stale");
        throw error;
      }
    }
    return this.#lead(key, params, options, send, entry, age);
  }

  /** Stale-if-error: a stored answer within ttl + staleTtl may stand in for a failed API call. */
  #covers(entry: Entry | undefined, age: number, error: unknown): boolean {
    return entry !== undefined && age <= this.o.ttlMs + this.o.staleTtlMs && isOutage(error);
  }

  /** The one call to the API for this key; concurrent identical requests wait for it. */
  async #lead(key: string, params: Json, options: Json | undefined, send: Send, old: Entry | undefined, age: number) {
    let settle!: (r: { entry: Entry; status: "fresh" | "stale" }) => void;
    let fail!: (e: unknown) => void;
    const flight = new Promise<{ entry: Entry; status: "fresh" | "stale" }>((res, rej) => {
      settle = res;
      fail = rej;
    });
    flight.catch(() => {});
    this.#inflight.set(key, flight);
    const done = () => this.#inflight.delete(key);
    this.telemetry.served("miss", params.model);
    const store = (message: Json) => {
      if (!isStorable(message, this.o.cacheTruncated)) {
        // the caller gets this answer; the requests waiting on it ask the API themselves
        done();
        fail(new LeaderAbandoned("the answer is not one to repeat"));
        return;
      }
      const entry = { message, storedAt: Date.now() };
      settle({ entry, status: "fresh" });
      done();
      void this.#write(key, entry);
    };
    try {
      const sent = await send(params, options);
      if (params.stream !== true) {
        store(sent.data as Json);
        return sent;
      }
      const tapped = this.#tap(sent.data as SdkStream, store, (e) => {
        done();
        fail(e);
      });
      return { ...sent, data: tapped };
    } catch (error) {
      done();
      if (this.#covers(old, age, error)) {
        settle({ entry: old as Entry, status: "stale" });
        return this.#replay(params, options, old as Entry, "stale");
      }
      fail(isAbortError(error) ? new LeaderAbandoned("the leading call was aborted") : error);
      throw error;
    }
  }

  /** The live stream, unchanged for the caller; its events gathered into the Message to store. */
  #tap(stream: SdkStream, store: (m: Json) => void, fail: (e: unknown) => void): SdkStream {
    const gathered = new MessageAccumulator();
    return observedStream(
      stream,
      this.given,
      (event) => gathered.add(event),
      (error) => {
        if (gathered.message) store(gathered.message);
        // a leader that stopped reading, or was aborted by its caller, leaves the others to ask again
        else fail(error && !isAbortError(error) ? error : new LeaderAbandoned("the stream was not read to its end"));
      },
    );
  }

  /** Serves `entry` through the SDK itself, so the caller gets a real Message or Stream (with its events). */
  async #replay(params: Json, options: Json | undefined, entry: Entry, status: "hit" | "stale"): Promise<Sent> {
    const stream = params.stream === true;
    const token = String(++this.#tokens);
    this.#pending.set(token, {
      body: stream ? sseBody(entry.message) : JSON.stringify(entry.message),
      stream,
      status,
    });
    this.telemetry.served(status, entry.message.model, entry.message.usage);
    try {
      const headers = { ...((options?.headers as Json | undefined) ?? {}), [TOKEN_HEADER]: token };
      const messages = this.#replayer().messages as Json;
      const sent = await sentOf((messages.create as AnyFn).call(messages, params, { ...options, headers }));
      const served = { status, ageMs: Date.now() - entry.storedAt };
      if (!stream) {
        mark(sent.data, served);
        mark((sent.data as Json).usage, served);
        return sent;
      }
      const marked = observedStream(
        sent.data as SdkStream,
        this.given,
        (event) => {
          if (event.type === "message_start") mark((event.message as Json | undefined)?.usage, served);
        },
        () => {},
      );
      mark(marked, served);
      return { ...sent, data: marked };
    } finally {
      this.#pending.delete(token);
    }
  }

  /** A copy of the client whose `fetch` answers from `#pending`: nothing leaves the process. */
  #replayer(): Json {
    this.#replayClient ??= (this.given.withOptions as AnyFn)({
      maxRetries: 0,
      fetch: async (_url: unknown, init?: { headers?: ConstructorParameters<typeof Headers>[0] }) => {
        const token = new Headers(init?.headers).get(TOKEN_HEADER) ?? "";
        const answer = this.#pending.get(token);
        if (!answer) return new Response("{}", { status: 500 });
        const response = new Response(answer.body, {
          status: 200,
          headers: {
            "content-type": answer.stream ? "text/event-stream" : "application/json",
            [CACHE_HEADER]: answer.status,
          },
        });
        return Object.defineProperty(response, REPLAYED, { value: answer.status });
      },
    }) as Json;
    return this.#replayClient;
  }

  async #read(key: string): Promise<Entry | undefined> {
    try {
      const text = await this.o.store.get(key);
      return text ? (JSON.parse(text) as Entry) : undefined;
    } catch (error) {
      this.telemetry.storeError("get", error);
      return undefined;
    }
  }

  async #write(key: string, entry: Entry): Promise<void> {
    try {
      await this.o.store.set(key, JSON.stringify(entry), this.o.ttlMs + this.o.staleTtlMs);
    } catch (error) {
      this.telemetry.storeError("set", error);
    }
  }
}

/**
 * A copy of `client` whose `messages.create` (both modes, and so `messages.stream()` and `parse()`)
 * answers identical cacheable requests from `store`. The client you pass is unchanged.
 */
export function withResponseCache<C extends object>(client: C, options: ResponseCacheOptions): C {
  const o = resolveOptions(options);
  const copy = interceptCalls(client, "withResponseCache", (params, requestOptions, send, operation) => {
    const { cacheable, [CACHEABLE]: marked, ...rest } = (requestOptions ?? {}) as Json & { [CACHEABLE]?: boolean };
    if (operation !== "create" || !cache.cacheable(params, marked ?? cacheable)) {
      return send(params, requestOptions && rest);
    }
    return cache.serve(params, rest, send);
  });
  // made once interceptCalls has checked that `client` is one
  const cache = new ResponseCache(client as unknown as Json, o, new CacheTelemetry(o.namespace));
  return copy;
}
