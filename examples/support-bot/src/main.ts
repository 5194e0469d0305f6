// `pnpm demo`: the support bot under a realistic load, against claude-mock (no key, no Docker) or,
// with ANTHROPIC_API_KEY set, the real API. Ends with a summary built from Ballast's telemetry.
//   node src/main.ts [--duration 60] [--users 30] [--faults on|off] [--verbose] [--json] [--report FILE]
//   node src/main.ts --serve [--port 3000]   the bot and a chat page, until Ctrl-C
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import Anthropic from "@anthropic-ai/sdk";
import { startMockClaude } from "@ballast/claude-mock";
import type { ClaudeCallRecord, ClaudeRunRecord } from "@ballast/otel-claude";
import { createRateLimiter, memoryStore, redisStore } from "@ballast/ratelimit";
import { retryPolicy, withRetry } from "@ballast/retry";
import { Redis } from "ioredis";
import { buildApp } from "./app.ts";
import { CHAT_PAGE } from "./chat-page.ts";
import { reportCharts, writeReport } from "./report.ts";
import { type Counters, printSummary, summarize } from "./summary.ts";
import { startTelemetry } from "./telemetry.ts";

function options() {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        duration: { type: "string", default: "60" },
        users: { type: "string", default: "30" },
        faults: { type: "string", default: "on" },
        verbose: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        serve: { type: "boolean", default: false },
        port: { type: "string", default: "3000" },
        report: { type: "string", default: fileURLToPath(new URL("../reports/demo-report.html", import.meta.url)) },
      },
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  const int = (name: string, min: number, max: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max)
      fail(`--${name} must be a whole number from ${min} to ${max}; got "${values[name]}"`);
    return n;
  };
  if (values.faults !== "on" && values.faults !== "off") fail(`--faults must be "on" or "off"; got "${values.faults}"`);
  return {
    durationS: int("duration", 1, 3600),
    users: int("users", 1, 1000),
    faults: values.faults === "on",
    verbose: values.verbose === true,
    json: values.json === true,
    report: String(values.report),
    serve: values.serve === true,
    port: int("port", 0, 65535),
  };
}

function fail(message: string): never {
  console.error(`demo: ${message}`);
  process.exit(2);
}

const QUESTIONS = [
  "How do I reset my password?",
  "Can I get a refund for last month?",
  "Where is my hardware key? It was shipped on Monday.",
  "How do I export all my data from Acme Notes?",
  "Is my data encrypted?",
  "I lost my second factor, what now?",
  "Why was I charged VAT?",
  "Is there an outage right now?",
];

const opts = options();
const real = Boolean(process.env.ANTHROPIC_API_KEY);
/** A line for the person watching: not under --json, whose output is the summary alone. */
const say = (line: string) => {
  if (!opts.json) console.log(line);
};
say(
  `demo: starting ${real ? "against the real API" : "claude-mock (the built-in Claude simulator)"}, the support bot and its telemetry…`,
);
const records: ClaudeCallRecord[] = [];
const runs: ClaudeRunRecord[] = [];
const counters: Counters = {
  requests: 0,
  rateLimited: 0,
  rateLimitedUsers: new Set(),
  failed: 0,
  retries: 0,
  fallbacks: 0,
  budgetAlerts: 0,
  budgetAlertsAt: [],
  circuits: new Map(),
  telemetryFailures: 0,
  cutStreams: 0,
};
const telemetry = startTelemetry(
  (record) => {
    records.push(record);
    if (opts.verbose) console.log(JSON.stringify(record));
  },
  (run) => runs.push(run),
);

const PRIMARY = "claude-opus-4-8";
const FALLBACKS = ["claude-sonnet-5", "claude-haiku-4-5"];
const mock = real
  ? undefined
  : await startMockClaude({
      seed: 7,
      latency: { ttftMs: 150, perTokenMs: 2, models: { [PRIMARY]: { ttftMs: 400, perTokenMs: 4 } } },
      reply: { minTokens: 40, maxTokens: 220 },
    });
const policy = retryPolicy({
  fallbackModels: FALLBACKS,
  baseDelayMs: 200,
  maxDelayMs: 2000,
  onRetry: () => counters.retries++,
  onFallback: () => counters.fallbacks++,
  onBreakerStateChange: (e) => counters.circuits.set(e.model, e.to),
});
const client = withRetry(new Anthropic(real ? {} : { baseURL: mock?.url, apiKey: "sk-demo" }), policy);
const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL, { enableOfflineQueue: false }) : undefined;
/** Where a limiter counts: Redis when REDIS_URL is set (shared by every process), else this process's memory. */
const limitStore = () => (redis ? redisStore({ client: redis }) : memoryStore());
const limiter = createRateLimiter({
  name: "support_chat",
  store: limitStore(),
  rules: [
    { name: "requests", limit: 12, window: "1m" },
    { name: "input_tokens", limit: 400_000, window: "1m", measure: "input_tokens" },
    { name: "daily_usd", limit: 0.25, window: "day", measure: "usd", alertAt: [0.5, 0.8, 1] },
  ],
  onBudgetAlert: (alert) => {
    counters.budgetAlerts++;
    counters.budgetAlertsAt.push(alert.threshold);
    if (opts.verbose) console.log(`budget alert: ${alert.key} passed ${alert.threshold * 100}% of ${alert.rule}`);
  },
});
// The order agent: each conversation may make 8 calls and spend 5 cents a day, across every process.
const AGENT_MODEL = "claude-sonnet-4-6";
// the premium agent's model: the demo makes it loop (it never stops asking for a tool)
const PREMIUM_AGENT_MODEL = "claude-opus-5";
// the model of the one chat answer whose stream the simulator cuts
const CUT_MODEL = "claude-sonnet-5-5";
const agentLimiter = createRateLimiter({
  name: "order_agent",
  store: limitStore(),
  rules: [
    { name: "conversation_calls", limit: 8, window: "1d" },
    { name: "conversation_usd", limit: 0.05, window: "1d", measure: "usd" },
  ],
});
const app = buildApp({ client, limiter, model: PRIMARY, agentLimiter, agentModel: AGENT_MODEL });
if (opts.serve) app.get("/", (_req, reply) => reply.type("text/html; charset=utf-8").send(CHAT_PAGE));
await app.listen({ port: opts.serve ? opts.port : 0, host: "127.0.0.1" });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const url = `${base}/chat`;

if (opts.serve) {
  // the bot and its chat page, until stopped: no simulated users, no summary
  say(`demo: chat with the bot at ${base}/ (Ctrl-C to stop)`);
  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await app.close();
  await mock?.close();
  redis?.disconnect();
  await telemetry.shutdown();
  process.exit(0);
}

// Deterministic randomness, so two runs are alike.
let seed = 42;
const random = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

const users = Array.from({ length: real ? Math.min(opts.users, 3) : opts.users }, (_, i) => ({
  id: `user_${String(i + 1).padStart(3, "0")}`,
  heavy: i % 10 === 0, // one in ten hammers the bot and meets its limits
}));
const started = Date.now();
const endAt = started + opts.durationS * 1000;
say(
  real
    ? `demo: ANTHROPIC_API_KEY is set — ${users.length} users against the real API for ${opts.durationS} s (this costs money)`
    : `demo: ${users.length} simulated users for ${opts.durationS} s (--duration, --users)`,
);

// Faults and events at fixed points of the run (mock only).
const events: Array<[number, () => void]> =
  opts.faults && mock
    ? ([
        [0.25, () => mock.enqueue({ status: 429, retryAfterMs: 300, times: 6 })],
        [0.45, () => mock.enqueue({ status: 529, model: PRIMARY, times: 12 })],
        [0.6, () => mock.enqueue({ stream: "error", after: 0, times: 3 })],
        [0.7, () => mock.advanceTime(6 * 60_000)], // the 5-minute prompt cache expires: writes again
        [
          0.5,
          () => {
            // a streamed answer whose connection drops after five deltas: the user keeps a partial answer
            mock.enqueue({ stream: "drop", after: 5, model: CUT_MODEL });
            void ask({ id: "user_cut", heavy: false }, CUT_MODEL);
          },
        ],
        [
          0.3,
          () => {
            // a conversation whose agent would loop forever: its budget stops it
            mock.enqueue({
              reply: { toolUse: { name: "check_stock", input: { sku: "KEY-2" } } },
              model: PREMIUM_AGENT_MODEL,
              times: Number.POSITIVE_INFINITY,
            });
            void askAgent({ id: "user_runaway" }, PREMIUM_AGENT_MODEL, "conv_runaway");
          },
        ],
      ].sort((a, b) => (a[0] as number) - (b[0] as number)) as Array<[number, () => void]>)
    : [];

let conversations = 0;
/** One question to the order agent, in a conversation of its own unless one is given; 0: no wait asked. */
async function askAgent(
  user: { id: string },
  model?: string,
  conversation = `conv_${++conversations}`,
): Promise<number> {
  counters.requests++;
  const res = await fetch(`${base}/agent`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      user: user.id,
      question: "Where is my order A1? Please use get_order.",
      conversation,
      model,
    }),
  });
  await res.json().catch(() => ({}));
  if (res.status === 429) counters.rateLimited++;
  else if (res.status !== 200) counters.failed++;
  return 0;
}

/** One question; returns how long the bot asked us to wait (429), in ms. */
async function ask(user: { id: string; heavy: boolean }, model?: string): Promise<number> {
  const body = {
    model,
    user: user.id,
    question: QUESTIONS[Math.floor(random() * QUESTIONS.length)],
    maxTokens: random() < 0.05 ? 30 : 400, // some answers get cut at max_tokens
    stream: model !== undefined || random() < 0.3,
    // a second feature that forgot cache_control on the same long prompt: Ballast reports what it misses
    triage: random() < 0.1,
  };
  counters.requests++;
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (body.stream && res.status === 200) {
    // server-sent events: `delta`s, then `done`, or `cut` (a partial answer) or `error`
    const events = await res.text();
    if (events.includes("event: cut")) counters.cutStreams++;
    else if (events.includes("event: error")) counters.failed++;
    return 0;
  }
  const payload = (await res.json().catch(() => ({}))) as { retry_after_s?: number | null };
  if (res.status === 429) {
    counters.rateLimited++;
    counters.rateLimitedUsers.add(user.id);
    return (payload.retry_after_s ?? 60) * 1000;
  }
  if (res.status !== 200) counters.failed++;
  return 0;
}

// A bar on a terminal; elsewhere (CI logs, `| tee`, an editor's task runner) a plain line every 10 s.
const tty = process.stdout.isTTY && !opts.verbose && !opts.json;
let nextLine = started + 10_000;
const progress = setInterval(() => {
  const now = Date.now();
  const elapsed = Math.min(1, (now - started) / (opts.durationS * 1000));
  while (events.length && (events[0]?.[0] ?? 2) <= elapsed) events.shift()?.[1]();
  if (opts.json || opts.verbose || (!tty && now < nextLine)) return;
  const seconds = Math.round((now - started) / 1000);
  const spend = records.reduce((s, r) => s + (r.cost_usd ?? 0), 0);
  const figures = `${seconds}s  calls ${records.length}  429s ${counters.rateLimited}  spend $${spend.toFixed(4)}`;
  if (tty) process.stdout.write(`\r[${"#".repeat(Math.round(elapsed * 30)).padEnd(30, ".")}] ${figures}  `);
  else {
    nextLine += 10_000;
    const live = summarize(records, telemetry.requests(), counters, (now - started) / 1000, runs);
    console.log(
      `demo: ${figures}  ${(records.length / Math.max(1, seconds)).toFixed(1)} calls/s  p99 ${live.latencyP99Ms} ms  alerts firing ${live.alertsThatWouldFire.length}`,
    );
  }
}, 250);

// Heavy users keep three requests in flight; the others ask every four to nine seconds.
await Promise.all(
  users.flatMap((user) =>
    Array.from({ length: user.heavy ? 3 : 1 }, async () => {
      await new Promise((r) => setTimeout(r, random() * 1000));
      while (Date.now() < endAt) {
        // one question in eight goes to the order agent
        // (a refused user waits as told, as a well-behaved client does)
        const asked = !user.heavy && random() < 0.125 ? await askAgent(user) : await ask(user);
        const pause = Math.max(asked, user.heavy ? 50 : 4000 + random() * 5000);
        await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, endAt - Date.now()))));
      }
    }),
  ),
);
clearInterval(progress);
if (tty) process.stdout.write("\n");

await app.close();
await mock?.close();
redis?.disconnect();
counters.telemetryFailures = await telemetry.telemetryFailures();
await telemetry.shutdown(); // flushes OTLP exports
const summary = summarize(records, telemetry.requests(), counters, (Date.now() - started) / 1000, runs);
mkdirSync(dirname(opts.report), { recursive: true });
writeReport(opts.report, summary, reportCharts(records, telemetry.requests(), runs, started, opts.durationS));
if (opts.json) console.log(JSON.stringify(summary));
else {
  printSummary(summary, (line) => console.log(line));
  console.log(`\n  The run in charts: ${opts.report} (open it in a browser; it needs no network)`);
}
