import type { UserCall } from "@ballast/intercept";
import type { Context } from "@opentelemetry/api";
import type { ClaudeCallRecord } from "./call.js";

/** One request's record, with what emitting it needs. */
export interface RecordedRequest {
  record: ClaudeCallRecord;
  context: Context;
  timeMs: number;
}

type Summed = "input_tokens" | "output_tokens" | "cache_read_tokens" | "cache_write_tokens";
type SummedOrNull = "cost_usd" | "cache_savings_usd" | "missed_savings_usd";
const SUMMED: Summed[] = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"];
const SUMMED_DETAIL = ["cache_write_5m_tokens", "cache_write_1h_tokens"] as const;
const SUMMED_OR_NULL: SummedOrNull[] = ["cost_usd", "cache_savings_usd", "missed_savings_usd"];

/**
 * The records of the requests a wrapped client made for one call of the user's (retries, a fallback),
 * held until that call is done and then emitted as one record.
 */
export class UserCallRecords {
  readonly #pending = new WeakMap<UserCall, RecordedRequest[]>();

  constructor(private readonly emit: (request: RecordedRequest) => void) {}

  add(userCall: UserCall, request: RecordedRequest): void {
    let requests = this.#pending.get(userCall);
    if (!requests) {
      const gathered: RecordedRequest[] = [];
      requests = gathered;
      this.#pending.set(userCall, gathered);
      userCall.whenDone(() => {
        this.#pending.delete(userCall);
        this.emit(oneRecord(gathered));
      });
    }
    requests.push(request);
  }
}

/**
 * The user's call as one record: the last request's outcome, reply and ids; the model the user asked
 * for; tokens and USD summed over every request (what was billed); the time from the first request's
 * start; every request after the first counted as a retry.
 */
export function oneRecord(requests: RecordedRequest[]): RecordedRequest {
  const first = requests[0] as RecordedRequest;
  const last = requests.at(-1) as RecordedRequest;
  if (requests.length === 1) return last;
  const record: ClaudeCallRecord = { ...last.record, timestamp: first.record.timestamp, model: first.record.model };
  for (const key of [...SUMMED, ...SUMMED_DETAIL]) record[key] = requests.reduce((t, r) => t + r.record[key], 0);
  for (const key of SUMMED_OR_NULL) {
    const billed = requests.map((r) => r.record[key]).filter((usd) => usd !== null);
    record[key] = billed.length ? billed.reduce((t, usd) => t + usd, 0) : null;
  }
  const lastStartedMs = last.timeMs - first.timeMs;
  record.latency_ms = lastStartedMs + last.record.latency_ms;
  record.ttft_ms = last.record.ttft_ms === null ? null : lastStartedMs + last.record.ttft_ms;
  record.retries = requests.reduce((t, r) => t + r.record.retries, requests.length - 1);
  return { record, context: last.context, timeMs: first.timeMs };
}
