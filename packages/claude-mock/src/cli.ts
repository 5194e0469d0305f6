#!/usr/bin/env node
import { parseArgs } from "node:util";
import { startMockClaude } from "./server.js";

const HELP = `claude-mock: a local stand-in for the Anthropic Messages API

Usage: claude-mock [--port 4010] [--host 127.0.0.1] [--seed 1] [--ttft-ms 0] [--per-token-ms 0]
                   [--rpm N] [--input-tpm N] [--output-tpm N] [--batch-delay-ms 0]

Control endpoint (JSON) for other processes, on the same port:
  POST /_mock/enqueue  a fault or a list   {"status":529} {"stream":"drop","after":3} {"reset":true}
  GET  /_mock/requests every call seen     POST /_mock/reset     POST /_mock/clock {"advanceMs":N}
  POST /_mock/config   {"latency":{...},"orgLimits":{...},"batchDelayMs":N}`;

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) {
    console.error(`claude-mock: --${flag} must be a number; got "${value}"`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string", default: "4010" },
        host: { type: "string", default: "127.0.0.1" },
        seed: { type: "string" },
        "ttft-ms": { type: "string" },
        "per-token-ms": { type: "string" },
        rpm: { type: "string" },
        "input-tpm": { type: "string" },
        "output-tpm": { type: "string" },
        "batch-delay-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`claude-mock: ${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }
  const str = (k: string) => values[k] as string | undefined;
  const orgLimits = {
    requestsPerMinute: number("rpm", str("rpm")),
    inputTokensPerMinute: number("input-tpm", str("input-tpm")),
    outputTokensPerMinute: number("output-tpm", str("output-tpm")),
  };
  let mock: Awaited<ReturnType<typeof startMockClaude>>;
  try {
    mock = await startMockClaude({
      port: number("port", str("port")),
      host: str("host"),
      seed: number("seed", str("seed")),
      latency: { ttftMs: number("ttft-ms", str("ttft-ms")), perTokenMs: number("per-token-ms", str("per-token-ms")) },
      orgLimits: Object.fromEntries(Object.entries(orgLimits).filter(([, v]) => v !== undefined)),
      batchDelayMs: number("batch-delay-ms", str("batch-delay-ms")),
    });
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  console.log(`claude-mock listening on ${mock.url}`);
  const stop = () => {
    mock.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

void main();
