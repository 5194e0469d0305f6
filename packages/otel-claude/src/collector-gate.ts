import { connect } from "node:net";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";

type Done = (result: ExportResult) => void;
/** What the span, metric and log exporters have in common. */
interface Exporter {
  export(items: never, done: Done): void;
}

const PROBE_TIMEOUT_MS = 1000;

/**
 * Lets exports through to an OTLP endpoint only while something accepts connections there. The OTLP
 * exporters retry a refused export for up to their timeout (10 s), and those retries keep the process
 * alive: a script run without a collector would sit for seconds after its work is done. Behind the
 * gate, an export to an endpoint where nothing listens fails at once, and the first time that happens
 * one warning says where telemetry was going and what to set. A collector that starts later is found
 * by the next export, and one that goes away is probed again after its first failed export.
 */
export class CollectorGate {
  readonly #endpoint: URL;
  #up = false;
  #probing: Promise<boolean> | undefined;
  #warned = false;

  constructor(endpoint: URL) {
    this.#endpoint = endpoint;
  }

  /** Whether the endpoint takes connections: known at once while exports succeed, else probed. */
  reachable(): Promise<boolean> {
    if (this.#up) return Promise.resolve(true);
    this.#probing ??= probe(this.#endpoint).then((problem) => {
      this.#probing = undefined;
      this.#up = problem === undefined;
      if (problem !== undefined && !this.#warned) {
        this.#warned = true;
        console.warn(
          `@ballast/otel-claude: no OpenTelemetry collector at ${this.#endpoint.origin} (${problem}); telemetry is dropped. ` +
            "Set OTEL_EXPORTER_OTLP_ENDPOINT to your collector, or OTEL_TRACES_EXPORTER=console to see spans here.",
        );
      }
      return this.#up;
    });
    return this.#probing;
  }

  /** `exporter`, exporting only while the endpoint is reachable; its other methods are its own. */
  guard<E extends Exporter>(exporter: E): E {
    const guarded = {
      export: (items: never, done: Done) => {
        void this.reachable().then((up) => {
          if (!up) {
            done({
              code: ExportResultCode.FAILED,
              error: new Error(`no OpenTelemetry collector at ${this.#endpoint.origin}`),
            });
            return;
          }
          exporter.export(items, (result) => {
            if (result.code !== ExportResultCode.SUCCESS) this.#up = false;
            done(result);
          });
        });
      },
    };
    return Object.assign(Object.create(exporter), guarded);
  }
}

/** Connects once to `endpoint`: undefined when it accepted, else what went wrong. */
function probe(endpoint: URL): Promise<string | undefined> {
  const port = Number(endpoint.port) || (endpoint.protocol === "https:" ? 443 : 80);
  const host = endpoint.hostname.replace(/^\[(.*)\]$/, "$1");
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const answer = (problem?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => answer(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`), PROBE_TIMEOUT_MS);
    socket.once("connect", () => answer());
    socket.once("error", (error: NodeJS.ErrnoException) => answer(error.code ?? error.message));
  });
}
