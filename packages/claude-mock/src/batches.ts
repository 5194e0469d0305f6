import type { ApiMessage } from "./messages.js";

export type BatchResult =
  | { type: "succeeded"; message: ApiMessage }
  | { type: "errored"; error: { type: "error"; error: { type: string; message: string } } }
  | { type: "canceled" };

interface StoredBatch {
  id: string;
  createdAt: number;
  endsAt: number;
  cancelAt?: number;
  results: Array<{ custom_id: string; result: BatchResult }>;
}

const DAY_MS = 24 * 60 * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Message batches: results are computed at creation and released once `delayMs` has passed. */
export class BatchStore {
  readonly #batches = new Map<string, StoredBatch>();

  clear(): void {
    this.#batches.clear();
  }

  create(id: string, now: number, delayMs: number, results: StoredBatch["results"]): StoredBatch {
    const batch = { id, createdAt: now, endsAt: now + delayMs, results };
    this.#batches.set(id, batch);
    return batch;
  }

  get(id: string): StoredBatch | undefined {
    return this.#batches.get(id);
  }

  list(): StoredBatch[] {
    return [...this.#batches.values()].reverse();
  }

  delete(id: string): boolean {
    return this.#batches.delete(id);
  }

  cancel(batch: StoredBatch, now: number): void {
    if (batch.endsAt <= now || batch.cancelAt !== undefined) return;
    batch.cancelAt = now;
    batch.endsAt = now;
    for (const r of batch.results) r.result = { type: "canceled" };
  }

  ended(batch: StoredBatch, now: number): boolean {
    return batch.endsAt <= now;
  }

  /** The API's MessageBatch object for `batch` at time `now`. */
  view(batch: StoredBatch, now: number, origin: string) {
    const ended = this.ended(batch, now);
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    for (const r of batch.results) {
      if (!ended) counts.processing++;
      else counts[r.result.type]++;
    }
    return {
      id: batch.id,
      type: "message_batch",
      processing_status: ended ? "ended" : "in_progress",
      request_counts: counts,
      ended_at: ended ? iso(batch.endsAt) : null,
      created_at: iso(batch.createdAt),
      expires_at: iso(batch.createdAt + DAY_MS),
      archived_at: null,
      cancel_initiated_at: batch.cancelAt === undefined ? null : iso(batch.cancelAt),
      results_url: ended ? `${origin}/v1/messages/batches/${batch.id}/results` : null,
    };
  }

  resultsJsonl(batch: StoredBatch): string {
    return `${batch.results.map((r) => JSON.stringify(r)).join("\n")}\n`;
  }
}
