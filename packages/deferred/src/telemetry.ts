import { messageOf, otelApi, WarnOnce } from "@ballast/intercept";

/** `ballast.deferred.jobs` by outcome, `ballast.deferred.batches`, `ballast.deferred.errors` (logged once). */
export class DeferredTelemetry {
  readonly #jobs;
  readonly #batches;
  readonly #errors;
  readonly #warnings = new WarnOnce(console.warn);

  constructor(private readonly queue: string) {
    const meter = otelApi()?.metrics.getMeter("@ballast/deferred");
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
    this.#warnings.warn(
      "error",
      `@ballast/deferred: ${messageOf(error)} (retried; further failures are counted in ballast.deferred.errors)`,
    );
  }
}
