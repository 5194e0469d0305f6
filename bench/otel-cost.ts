// What @ballast/otel-claude adds to a call with the network taken out: the real SDK with a `fetch` that
// returns a canned Message (or SSE stream) in-process, so the figures move far less with the machine
// than bench/otel-overhead.ts's. SDK native tracing on throughout; Ballast is the instrumentation and
// ClaudeSpanProcessor, switched together.
// - client CPU and main-thread GC pause µs per call: Ballast off and on in interleaved batches in one process,
//   the median of the pairs' differences;
// - bytes allocated per call (V8's sampling heap profiler, counting objects already collected): in a fresh
//   process for each side, since in one process the other side's batches change what V8 allocates (12 KB
//   added in separate processes came out at 17.5 KB interleaved).
//   node bench/otel-cost.ts [--rounds 16]
import { spawnSync } from "node:child_process";
import { Session } from "node:inspector/promises";
import { PerformanceObserver } from "node:perf_hooks";
import Anthropic from "@anthropic-ai/sdk";
import { counts } from "./args.ts";
import { callOf, inFlight } from "./claude-calls.ts";
import { instrumentSdk } from "./otel-instrumented.ts";
import { median } from "./stats.ts";

const { rounds } = counts({ rounds: 16 });

const setBallast = instrumentSdk();

const usage = { input_tokens: 12, output_tokens: 9, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
const message = {
  id: "msg_1",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-6",
  content: [{ type: "text", text: "Your order shipped on Tuesday." }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage,
};
const events = [
  { type: "message_start", message: { ...message, content: [], stop_reason: null } },
  { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
  ...Array.from({ length: 10 }, () => ({
    type: "content_block_delta",
    index: 0,
    delta: { type: "text_delta", text: "word " },
  })),
  { type: "content_block_stop", index: 0 },
  { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 9 } },
  { type: "message_stop" },
];
const sse = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("");
const json = JSON.stringify(message);
const fetch = async (_url: unknown, init: { body?: string }) => {
  const stream = init?.body?.includes('"stream":true') === true;
  return new Response(stream ? sse : json, {
    headers: { "content-type": stream ? "text/event-stream" : "application/json", "request-id": "req_1" },
  });
};
const client = new Anthropic({ baseURL: "http://127.0.0.1:9", apiKey: "k", maxRetries: 0, fetch: fetch as never });
const params = {
  model: "claude-sonnet-4-6",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Where is my order?" }],
};
// As a support bot sends it: a system prompt of ~10 KB and a tool, the same on every call, no cache_control
// (what ballast.cache.missed_savings looks at).
const withPrompt = {
  ...params,
  system: "You are Acme's support agent. Be brief, cite the order id, never promise refunds. ".repeat(125),
  tools: [
    {
      name: "lookup_order",
      description: "Looks an order up by its id and returns its status and delivery date.",
      input_schema: { type: "object" as const, properties: { id: { type: "string" } }, required: ["id"] },
    },
  ],
};
type Kind = { label: string; stream: boolean; body: typeof params };
const KINDS: Kind[] = [
  { label: "non-streaming call", stream: false, body: params },
  { label: "stream", stream: true, body: params },
  { label: "call with a 10 KB system prompt", stream: false, body: withPrompt },
];

// Main-thread GC pauses: per-call objects that outlive a scavenge (V8 then tenures their allocation
// sites) show here long before they show in CPU time.
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ["gc"] });

/** `n` calls, 16 at a time; returns client CPU µs and GC pause µs per call. */
async function run(n: number, { stream, body }: Kind): Promise<[number, number]> {
  const gcBefore = gcMs;
  const cpu = process.cpuUsage();
  await inFlight(n, callOf(client, stream, body));
  const used = process.cpuUsage(cpu);
  // the observer hears of the last pauses a turn later
  await new Promise((resolve) => setImmediate(resolve));
  return [(used.user + used.system) / n, ((gcMs - gcBefore) * 1000) / n];
}

type Node = { selfSize: number; children: Node[] };
/** Bytes allocated per call over `n` calls, collected objects included. */
async function allocated(n: number, kind: Kind): Promise<number> {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await run(n, kind);
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as { profile: { head: Node } };
  session.disconnect();
  const sum = (node: Node): number => node.children.reduce((total, child) => total + sum(child), node.selfSize);
  return sum(profile.head) / n;
}

const warmUp = async () => {
  await run(3000, KINDS[0]!);
  await run(300, KINDS[1]!);
};

// The child for one side's allocations: bytes per call of each kind, as JSON.
const SIDE = "BALLAST_OTEL_COST_SIDE";
const side = process.env[SIDE];
if (side) {
  setBallast(side === "on");
  await warmUp();
  const bytes: number[] = [];
  for (const kind of KINDS) {
    // long enough for V8 to settle: its optimised code allocates ~5 KB per call less than after 1,500 calls
    await run(12_000, kind);
    bytes.push(await allocated(3000, kind));
  }
  console.log(JSON.stringify(bytes));
  process.exit(0);
}
const allocations = (on: boolean): number[] => {
  const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname], {
    env: { ...process.env, [SIDE]: on ? "on" : "off" },
    encoding: "utf8",
  });
  if (child.status !== 0) throw new Error(`otel-cost allocation child exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "[]");
};
const bytesOff = allocations(false);
const bytesOn = allocations(true);

await warmUp();
console.log(`otel-cost: node ${process.version}, canned fetch, 16 calls in flight, ${rounds} rounds of 1500 calls`);
console.log("| per call | Ballast off | on | added |");
console.log("| --- | ---: | ---: | ---: |");
for (const [i, kind] of KINDS.entries()) {
  const off: number[][] = [[], []];
  const added: number[][] = [[], []];
  for (let r = 0; r < rounds; r++) {
    setBallast(false);
    const a = await run(1500, kind);
    setBallast(true);
    const b = await run(1500, kind);
    for (const k of [0, 1]) {
      off[k]!.push(a[k]!);
      added[k]!.push(b[k]! - a[k]!);
    }
  }
  for (const [k, label] of ["client CPU µs", "GC pause µs"].entries()) {
    const o = median(off[k]!);
    const d = median(added[k]!);
    console.log(`| ${label}, ${kind.label} | ${o.toFixed(1)} | ${(o + d).toFixed(1)} | ${d.toFixed(1)} |`);
  }
  const kb = (b: number) => (b / 1024).toFixed(1);
  const [bOff, bOn] = [bytesOff[i]!, bytesOn[i]!];
  console.log(`| KB allocated, ${kind.label} (fresh process each) | ${kb(bOff)} | ${kb(bOn)} | ${kb(bOn - bOff)} |`);
}
process.exit(0);
