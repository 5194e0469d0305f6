import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { type PriceTable, priceCall } from "@ballast/pricing";
import { type KeyValueStore, memoryKV } from "@ballast/store";
import { DeferredTelemetry } from "./telemetry.js";

type Json = Record<string, unknown>;
type AnyFn = (...args: unknown[]) => Promise<unknown>;

/** What a job came to. `expired`: the API expired it, or its results were past retention when asked for. */
export interface DeferredResult {
  id: string;
  status: "succeeded" | "errored" | "canceled" | "expired";
  /** the answer, for `succeeded` */
  message?: Json;
  /** the API's error, for `errored`; why, for `expired` */
  error?: unknown;
  /** USD at batch prices (50% of standard), for `succeeded` with a priced model */
  costUsd?: number;
  batchId: string;
}

export interface DeferredQueueOptions {
  /** an Anthropic SDK client (its `messages.batches` is used) */
  client: object;
  /** where jobs and batches live (default `memoryKV()`; `redisKV({ client })` survives restarts) */
  store?: KeyValueStore;
  /** separates queues sharing a store (default "default") */
  name?: string;
  /** most jobs in one batch (default 1000, the API's limit is 100 000) */
  maxBatchSize?: number;
  /** longest a job waits for its batch to fill before it is sent anyway, ms (default 60 000) */
  maxWaitMs?: number;
  /** polling backoff: first wait and longest wait between checks of a batch, ms (defaults 5 000 / 300 000) */
  pollMinMs?: number;
  pollMaxMs?: number;
  /**
   * every result, also those of jobs submitted before a restart (whose `notify` is gone); at least once:
   * the job is removed from the store after this returns (or the promise it returns settles), so a crash
   * before then delivers it again. De-duplicate by `result.id`, the job's id.
   */
  onResult?: (result: DeferredResult) => void | Promise<void>;
  /** prices for `costUsd` (default @ballast/pricing's table) */
  pricing?: PriceTable;
}

interface Job {
  id: string;
  params: Json;
  state: "queued" | "submitted";
  batchId?: string;
}
interface Batch {
  id: string;
  jobIds: string[];
  createdAt: number;
}

const RETENTION_MS = 29 * 24 * 60 * 60_000; // the API keeps batch results 29 days
const RESULT_TTL_MS = 7 * 24 * 60 * 60_000; // delivered results stay readable through result(id) for a week
const ID = /^[a-zA-Z0-9_-]{1,64}$/;

function int(name: string, value: unknown, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) {
    throw new TypeError(
      `createDeferredQueue: \`${name}\` must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`,
    );
  }
  return v as number;
}

/**
 * Non-urgent Claude requests, collected into Message Batches (50% cheaper), polled with backoff and
 * delivered at least once each — through `notify`, the `result` event, `onResult` and `await result(id)`. Jobs
 * and batches live in the store, so a new queue on the same store resumes where a killed process stopped.
 */
export class DeferredQueue extends EventEmitter<{ result: [DeferredResult]; error: [unknown] }> {
  /** settles once the queue has picked up what the store held (queued jobs, batches in flight) */
  readonly ready: Promise<void>;
  readonly #api: Json;
  readonly #store: KeyValueStore;
  readonly #keys: { jobs: string; batches: string; result: (id: string) => string };
  readonly #o: Required<Pick<DeferredQueueOptions, "maxBatchSize" | "maxWaitMs" | "pollMinMs" | "pollMaxMs">> &
    DeferredQueueOptions;
  readonly #telemetry: DeferredTelemetry;
  readonly #pending: Job[] = [];
  readonly #notify = new Map<string, (r: DeferredResult) => void | Promise<void>>();
  readonly #waiters = new Map<string, Array<(r: DeferredResult) => void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: DeferredQueueOptions) {
    super();
    const messages = (options?.client as Json | undefined)?.messages as Json | undefined;
    if (!messages || typeof (messages.batches as Json | undefined)?.create !== "function") {
      throw new TypeError("createDeferredQueue: `client` must be an Anthropic SDK client with messages.batches");
    }
    const name = options.name ?? "default";
    if (!ID.test(name))
      throw new TypeError(`createDeferredQueue: \`name\` must be 1–64 of [a-zA-Z0-9_-]; got ${JSON.stringify(name)}`);
    this.#o = {
      ...options,
      maxBatchSize: int("maxBatchSize", options.maxBatchSize, 1000, 1, 100_000),
      maxWaitMs: int("maxWaitMs", options.maxWaitMs, 60_000, 0, 86_400_000),
      pollMinMs: int("pollMinMs", options.pollMinMs, 5000, 1, 86_400_000),
      pollMaxMs: int("pollMaxMs", options.pollMaxMs, 300_000, 1, 86_400_000),
    };
    this.#api = messages.batches as Json;
    this.#store = options.store ?? memoryKV();
    const prefix = `ballast:deferred:{${name}}`; // one hash tag: a queue's keys share a Redis Cluster slot
    this.#keys = { jobs: `${prefix}:jobs`, batches: `${prefix}:batches`, result: (id) => `${prefix}:result:${id}` };
    this.#telemetry = new DeferredTelemetry(name);
    this.ready = this.#resume();
    this.ready.catch((error) => this.#fail(error));
  }

  /** Queues a request for the next batch; resolves with its id once the job is in the store. */
  async submit(
    request: object, // Messages API parameters, as for messages.create (no stream)
    options: { id?: string; notify?: (r: DeferredResult) => void | Promise<void> } = {},
  ): Promise<string> {
    const params = request as Json;
    if (this.#closed) throw new Error("DeferredQueue: closed");
    if (
      typeof params !== "object" ||
      params === null ||
      typeof params.model !== "string" ||
      !Array.isArray(params.messages)
    ) {
      throw new TypeError(
        "DeferredQueue.submit: `params` must be Messages API parameters (model, max_tokens, messages)",
      );
    }
    if (params.stream) throw new TypeError("DeferredQueue.submit: batches do not stream; remove `stream`");
    const id = options.id ?? randomUUID();
    if (!ID.test(id))
      throw new TypeError(`DeferredQueue.submit: \`id\` must be 1–64 of [a-zA-Z0-9_-]; got ${JSON.stringify(id)}`);
    await this.ready;
    if ((await this.#store.hashGet(this.#keys.jobs, id)) || (await this.#store.get(this.#keys.result(id)))) {
      throw new Error(`DeferredQueue.submit: a job with id ${JSON.stringify(id)} already exists`);
    }
    const job: Job = { id, params, state: "queued" };
    await this.#store.hashSet(this.#keys.jobs, { [id]: JSON.stringify(job) });
    if (options.notify) this.#notify.set(id, options.notify);
    this.#enqueue(job);
    return id;
  }

  /** The job's result: at once if it was delivered already (kept a week), else when it is. */
  async result(id: string): Promise<DeferredResult> {
    const stored = await this.#store.get(this.#keys.result(id));
    if (stored) return JSON.parse(stored) as DeferredResult;
    return new Promise((resolve) => {
      const list = this.#waiters.get(id) ?? [];
      list.push(resolve);
      this.#waiters.set(id, list);
    });
  }

  /** Sends what is queued now, without waiting for the batch to fill. */
  flush(): Promise<void> {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const jobs = this.#pending.splice(0);
    const run = this.#flushing.then(async () => {
      for (let i = 0; i < jobs.length; i += this.#o.maxBatchSize) {
        try {
          await this.#send(jobs.slice(i, i + this.#o.maxBatchSize));
        } catch (error) {
          // the API or the store refused: these jobs go with the next try
          this.#pending.unshift(...jobs.slice(i));
          this.#flushTimer ??= setTimeout(() => void this.flush().catch(() => {}), this.#o.pollMinMs);
          throw error;
        }
      }
    });
    this.#flushing = run.catch((error) => this.#fail(error));
    return run;
  }

  /** Stops timers; the store keeps every job and batch for the next queue on it. */
  close(): void {
    this.#closed = true;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #enqueue(job: Job): void {
    this.#pending.push(job);
    if (this.#pending.length >= this.#o.maxBatchSize) void this.flush().catch(() => {});
    else this.#flushTimer ??= setTimeout(() => void this.flush().catch(() => {}), this.#o.maxWaitMs);
  }

  async #resume(): Promise<void> {
    const [jobs, batches] = await Promise.all([
      this.#store.hashGetAll(this.#keys.jobs),
      this.#store.hashGetAll(this.#keys.batches),
    ]);
    for (const text of Object.values(jobs)) {
      const job = JSON.parse(text) as Job;
      if (job.state === "queued") this.#enqueue(job);
    }
    for (const text of Object.values(batches)) this.#poll(JSON.parse(text) as Batch, 0);
  }

  async #send(jobs: Job[]): Promise<void> {
    if (jobs.length === 0 || this.#closed) return;
    const created = (await (this.#api.create as AnyFn).call(this.#api, {
      requests: jobs.map((j) => ({ custom_id: j.id, params: j.params })),
    })) as Json;
    const batch: Batch = { id: String(created.id), jobIds: jobs.map((j) => j.id), createdAt: Date.now() };
    // The batch first: a job marked submitted always has its batch on record.
    await this.#store.hashSet(this.#keys.batches, { [batch.id]: JSON.stringify(batch) });
    await this.#store.hashSet(
      this.#keys.jobs,
      Object.fromEntries(jobs.map((j) => [j.id, JSON.stringify({ ...j, state: "submitted", batchId: batch.id })])),
    );
    this.#telemetry.batch();
    this.#poll(batch, this.#o.pollMinMs);
  }

  #poll(batch: Batch, delayMs: number): void {
    if (this.#closed) return;
    const timer = setTimeout(async () => {
      this.#timers.delete(timer);
      let next = Math.min(this.#o.pollMaxMs, Math.max(this.#o.pollMinMs, delayMs * 2));
      try {
        if (await this.#check(batch)) return;
      } catch (error) {
        this.#fail(error); // the API or the store failed: try again later
        next = this.#o.pollMaxMs;
      }
      this.#poll(batch, next);
    }, delayMs);
    this.#timers.add(timer);
  }

  /** True when the batch is done with: its results delivered, or reported expired. */
  async #check(batch: Batch): Promise<boolean> {
    let view: Json | undefined;
    try {
      view =
        Date.now() - batch.createdAt > RETENTION_MS
          ? undefined
          : ((await (this.#api.retrieve as AnyFn).call(this.#api, batch.id)) as Json);
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
    if (view && view.processing_status !== "ended") return false;
    const seen = new Set<string>();
    if (view) {
      try {
        const results = (await (this.#api.results as AnyFn).call(this.#api, batch.id)) as AsyncIterable<Json>;
        for await (const line of results) {
          const id = String(line.custom_id);
          seen.add(id);
          await this.#deliver(this.#resultOf(id, batch.id, line.result as Json));
        }
      } catch (error) {
        if ((error as { status?: number }).status !== 404) throw error;
      }
    }
    // what the API no longer has is reported, never dropped
    for (const id of batch.jobIds) {
      if (!seen.has(id)) {
        await this.#deliver({
          id,
          status: "expired",
          batchId: batch.id,
          error: "the batch's results are no longer available from the API (past its 29-day retention, or deleted)",
        });
      }
    }
    await this.#store.hashDelete(this.#keys.batches, [batch.id]);
    return true;
  }

  #resultOf(id: string, batchId: string, result: Json): DeferredResult {
    switch (result?.type) {
      case "succeeded": {
        const message = result.message as Json;
        const price = priceCall(
          { model: String(message.model), usage: message.usage as never, batch: true },
          this.#o.pricing,
        );
        return { id, status: "succeeded", message, batchId, ...(price ? { costUsd: price.usd } : {}) };
      }
      case "errored":
        return { id, status: "errored", error: result.error, batchId };
      case "canceled":
        return { id, status: "canceled", batchId };
      default:
        return { id, status: "expired", batchId, error: "the API expired the request before processing it" };
    }
  }

  /**
   * At least once per job: the result is stored, every listener runs (a promise one returns is awaited),
   * and only then is the job removed. A crash before the removal delivers the job again on resume; a job
   * already removed is skipped.
   */
  async #deliver(result: DeferredResult): Promise<void> {
    if (!(await this.#store.hashGet(this.#keys.jobs, result.id))) return; // delivered before a restart, or not this queue's
    await this.#store.set(this.#keys.result(result.id), JSON.stringify(result), RESULT_TTL_MS);
    const listeners = [
      this.#notify.get(result.id),
      this.#o.onResult,
      ...(this.#waiters.get(result.id) ?? []),
      (r: DeferredResult) => this.emit("result", r),
    ];
    this.#notify.delete(result.id);
    this.#waiters.delete(result.id);
    for (const listener of listeners) {
      try {
        await listener?.(result);
      } catch (error) {
        this.#fail(error); // a listener's failure must not stop the others or the queue
      }
    }
    await this.#store.hashDelete(this.#keys.jobs, [result.id]);
    this.#telemetry.job(result.status);
  }

  #fail(error: unknown): void {
    this.#telemetry.error(error);
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }
}

export function createDeferredQueue(options: DeferredQueueOptions): DeferredQueue {
  return new DeferredQueue(options);
}
