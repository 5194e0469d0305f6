import { createRequire } from "node:module";

type OtelApi = typeof import("@opentelemetry/api");

// @opentelemetry/api is an optional peer: metrics are recorded when the app has it, skipped otherwise.
let api: OtelApi | null | undefined;
function otel(): OtelApi | null {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)("@opentelemetry/api") as OtelApi;
    } catch {
      api = null;
    }
  }
  return api;
}

/** `ballast.deferred.jobs` by outcome, `ballast.deferred.batches`, `ballast.deferred.errors` (logged once). */
export class DeferredTelemetry {
  readonly #jobs;
  readonly #batches;
  readonly #errors;
  #warned = false;

  constructor(private readonly queue: string) {
    const meter = otel()?.metrics.getMeter("@ballast/deferred");
    this.#jobs = meter?.createCounter("ballast.deferred.jobs", {
      description: "Jobs delivered, by outcome",
      unit: "{job}",
    });
    this.#batches = meter?.createCounter("ballast.deferred.batches", {
      description: "Batches submitted",
      unit: "{batch}",
    });
    this.#errors = meter?.createCounter("ballast.deferred.errors", {
      description: "Failed polls, submissions and listeners (retried or skipped)",
      unit: "{error}",
    });
  }

  job(outcome: string): void {
    this.#jobs?.add(1, { "ballast.deferred.queue": this.queue, "ballast.deferred.outcome": outcome });
  }

  batch(): void {
    this.#batches?.add(1, { "ballast.deferred.queue": this.queue });
  }

  error(error: unknown): void {
    this.#errors?.add(1, { "ballast.deferred.queue": this.queue });
    if (this.#warned) return;
    this.#warned = true;
    console.warn(
      `@ballast/deferred: ${(error as Error)?.message ?? error} (retried; further failures are counted in ballast.deferred.errors)`,
    );
  }
}
