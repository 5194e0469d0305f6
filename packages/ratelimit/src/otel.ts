import { createRequire } from "node:module";

type OtelApi = typeof import("@opentelemetry/api");

let api: OtelApi | null | undefined;

/** `@opentelemetry/api` when the app has it (an optional peer); telemetry is skipped otherwise. */
export function otel(): OtelApi | null {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)("@opentelemetry/api") as OtelApi;
    } catch {
      api = null;
    }
  }
  return api;
}
