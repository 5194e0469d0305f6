import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import Anthropic from "@anthropic-ai/sdk";
import { type MockClaude, startMockClaude } from "@ballast/claude-mock";
import { priceCall } from "@ballast/pricing";
import { memoryKV } from "@ballast/store";
import { startRedis } from "@ballast/test-services";
import { afterEach, describe, expect, it } from "vitest";
import { createDeferredQueue, type DeferredResult } from "../src/index.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function mock(options: Parameters<typeof startMockClaude>[0] = {}): Promise<MockClaude> {
  const m = await startMockClaude(options);
  cleanups.push(() => m.close());
  return m;
}
const api = (m: MockClaude) => new Anthropic({ baseURL: m.url, apiKey: "sk-test", maxRetries: 0 });
const job = (i: number) => ({
  model: "claude-sonnet-4-6",
  max_tokens: 50,
  messages: [{ role: "user" as const, content: `Summarise ticket ${i}` }],
});
const batchCreates = (m: MockClaude) =>
  m.requests.filter((r) => r.method === "POST" && r.path === "/v1/messages/batches").length;

function run(
  args: string[],
  fixture = "queue-process.mjs",
): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [`test/fixtures/${fixture}`, ...args], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
  });
  const lines: string[] = [];
  let buffer = "";
  child.stdout.on("data", (d) => {
    buffer += d;
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    lines.push(...parts);
  });
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      if (code && code !== 0) console.error(err);
      resolve(code);
    }),
  );
  return { child, lines, exited };
}
const until = async (check: () => boolean, timeoutMs = 20_000) => {
  for (const end = Date.now() + timeoutMs; !check(); ) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("deferred queue", () => {
  it("delivers all 250 jobs exactly once when the process is killed mid-poll and another resumes, at batch prices", async () => {
    const m = await mock({ batchDelayMs: 2500 });
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const first = run(["submit", m.url, redis.url, "250"]);
    await until(() => first.lines.includes("submitted"));
    expect(batchCreates(m)).toBe(3); // 100 + 100 + 50
    await new Promise((r) => setTimeout(r, 300)); // polling: the batches are still in progress
    first.child.kill("SIGKILL");
    await first.exited;
    expect(first.lines.filter((l) => l.startsWith("{"))).toEqual([]);

    const second = run(["resume", m.url, redis.url, "250"]);
    expect(await second.exited).toBe(0);
    const results = second.lines
      .filter((l) => l.startsWith("{"))
      .map(
        (l) =>
          JSON.parse(l) as DeferredResult & {
            usage: never;
            model: string;
          },
      );
    expect(results).toHaveLength(250);
    expect(new Set(results.map((r) => r.id)).size).toBe(250);
    expect(results.map((r) => r.id).sort()).toEqual(
      Array.from({ length: 250 }, (_, i) => `job_${String(i).padStart(3, "0")}`),
    );
    expect(results.every((r) => r.status === "succeeded")).toBe(true);
    expect(batchCreates(m)).toBe(3); // nothing was sent twice
    for (const r of results) {
      const standard = priceCall({ model: r.model, usage: r.usage })!.usd;
      expect(r.costUsd).toBeCloseTo(standard / 2, 12);
    }
  }, 60_000);

  it("delivers every acknowledged job at least once, whatever point SIGKILL hits (12 runs)", async () => {
    const m = await mock({ batchDelayMs: 300 });
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    // a small LCG: the same kill points on every run of the test
    let seed = 20261206;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const jobs = 120;
    const outcomes: string[] = [];
    for (let round = 0; round < 12; round++) {
      const name = `crash-${round}`;
      const killAfterMs = Math.floor(random() * 1200); // after the first ack: submitting, sending, polling, delivering
      const submitterDiesAt = 1 + Math.floor(random() * jobs);
      const resumerDiesAt = 1 + Math.floor(random() * jobs);
      const submitter = run(
        ["submit", m.url, redis.url, name, String(jobs), String(submitterDiesAt)],
        "crashing-queue.mjs",
      );
      await until(() => submitter.lines.length > 0);
      await new Promise((r) => setTimeout(r, killAfterMs));
      submitter.child.kill("SIGKILL");
      await submitter.exited;
      const resumer = run(["resume", m.url, redis.url, name, "-", String(resumerDiesAt)], "crashing-queue.mjs");
      await resumer.exited; // killed itself at its resumerDiesAt-th delivery, or drained the queue
      const drainer = run(["resume", m.url, redis.url, name, "-", "0"], "crashing-queue.mjs");
      expect(await drainer.exited).toBe(0);

      const ids = (p: { lines: string[] }, prefix: string) =>
        p.lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
      const acked = ids(submitter, "ack ");
      const delivered = [submitter, resumer, drainer].flatMap((p) => ids(p, "delivered "));
      const lost = acked.filter((id) => !delivered.includes(id));
      outcomes.push(
        `round ${round}: killed ${killAfterMs} ms after its first ack, ${acked.length} acked, ${delivered.length} delivered, ` +
          `${delivered.length - new Set(delivered).size} again, lost ${lost.length}`,
      );
      expect(lost, outcomes.join("\n")).toEqual([]);
    }
    console.log(outcomes.join("\n"));
  }, 120_000);

  it("delivers each result through notify, the result event, onResult and result(id)", async () => {
    const m = await mock({ batchDelayMs: 100 });
    const seen: Record<string, string[]> = {};
    const saw = (how: string) => (r: DeferredResult) => {
      seen[r.id] = [...(seen[r.id] ?? []), how];
    };
    const queue = createDeferredQueue({
      client: api(m),
      maxBatchSize: 2,
      maxWaitMs: 10_000,
      pollMinMs: 50,
      onResult: saw("onResult"),
    });
    cleanups.push(() => queue.close());
    queue.on("result", saw("event"));
    const a = await queue.submit(job(1), { notify: saw("notify") });
    const b = await queue.submit(job(2), { id: "ticket-2" }); // the second fills the batch: sent at once
    const [ra, rb] = await Promise.all([queue.result(a), queue.result(b)]);
    expect(b).toBe("ticket-2");
    expect([ra.status, rb.status]).toEqual(["succeeded", "succeeded"]);
    expect(seen[a]!.sort()).toEqual(["event", "notify", "onResult"]);
    expect(seen[b]!.sort()).toEqual(["event", "onResult"]);
    expect(await queue.result(a)).toEqual(ra); // kept after delivery
    expect(batchCreates(m)).toBe(1);
    await expect(queue.submit(job(3), { id: "ticket-2" })).rejects.toThrow('a job with id "ticket-2" already exists');
  });

  it("sends a batch the API refused again on the next try, losing no job", async () => {
    const m = await mock();
    m.enqueue({ status: 529, on: "batches", times: 2 });
    const queue = createDeferredQueue({ client: api(m), maxBatchSize: 2, pollMinMs: 30 });
    cleanups.push(() => queue.close());
    queue.on("error", () => {}); // the refusals are reported here (and counted)
    const ids = await Promise.all([1, 2].map((i) => queue.submit(job(i))));
    const results = await Promise.all(ids.map((id) => queue.result(id)));
    expect(results.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    expect(batchCreates(m)).toBe(3); // two refused, one accepted
  });

  it("sends a partial batch after maxWaitMs", async () => {
    const m = await mock();
    const queue = createDeferredQueue({ client: api(m), maxBatchSize: 100, maxWaitMs: 100, pollMinMs: 20 });
    cleanups.push(() => queue.close());
    const id = await queue.submit(job(1));
    expect(batchCreates(m)).toBe(0);
    expect((await queue.result(id)).status).toBe("succeeded");
    expect(batchCreates(m)).toBe(1);
  });

  it("reports jobs whose results the API no longer has as expired, never drops them", async () => {
    const m = await mock();
    const client = api(m);
    const store = memoryKV();
    const queue = createDeferredQueue({ client, store, maxBatchSize: 3, pollMinMs: 200 });
    cleanups.push(() => queue.close());
    const ids = await Promise.all([1, 2, 3].map((i) => queue.submit(job(i))));
    await until(() => batchCreates(m) === 1);
    const [batch] = (await client.messages.batches.list()).data;
    await client.messages.batches.delete(batch!.id); // as if past the 29-day retention
    const results = await Promise.all(ids.map((id) => queue.result(id)));
    expect(results.map((r) => r.status)).toEqual(["expired", "expired", "expired"]);
    expect(String(results[0]!.error)).toContain("no longer available");
  });

  it("refuses bad input naming the option and what is accepted", async () => {
    const m = await mock();
    expect(() => createDeferredQueue({ client: {} })).toThrow(
      "`client` must be an Anthropic SDK client with messages.batches",
    );
    expect(() => createDeferredQueue({ client: api(m), maxBatchSize: 0 })).toThrow(
      "`maxBatchSize` must be an integer from 1 to 100000; got 0",
    );
    const queue = createDeferredQueue({ client: api(m) });
    cleanups.push(() => queue.close());
    await expect(queue.submit(job(1), { id: "has space" })).rejects.toThrow("`id` must be 1–64 of [a-zA-Z0-9_-]");
    await expect(queue.submit({ ...job(1), stream: true })).rejects.toThrow("batches do not stream");
  });
});
