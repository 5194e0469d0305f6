import { createRequire } from "node:module";

type OtelApi = typeof import("@opentelemetry/api");

let api: OtelApi | null | undefined;

/** `@opentelemetry/api` when the app has it (an optional peer of every wrapper); telemetry is skipped otherwise. */
export function otelApi(): OtelApi | null {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)("@opentelemetry/api") as OtelApi;
    } catch {
      api = null;
    }
  }
  return api;
}

/**
 * Reports each kind of problem once per instance that owns it (a policy, a limiter, a cache): one
 * instance's warning never silences another's. `to` is where it goes (console.warn for the user's own
 * hooks, the OTel diag logger for telemetry).
 */
export class WarnOnce {
  readonly #seen = new Set<string>();

  constructor(private readonly to: (message: string) => void) {}

  warn(key: string, message: string): void {
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.to(message);
  }
}

/** The message of `error`, whatever was thrown. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
