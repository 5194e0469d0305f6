import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import Anthropic from "@anthropic-ai/sdk";
import { freePort } from "@ballast/test-services";
import { afterEach, describe, expect, it } from "vitest";
import { ask } from "./helpers.js";

const CLI = fileURLToPath(new URL("../dist/cli.mjs", import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGTERM");
});

/** Starts the built CLI in its own process and resolves once it says where it listens. */
function startCli(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d;
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) resolve({ url, child });
    });
    child.stderr?.on("data", (d: Buffer) => {
      out += d;
    });
    child.once("exit", (code) => reject(new Error(`claude-mock exited ${code}: ${out}`)));
  });
}

const control = async (url: string, path: string, body?: unknown) => {
  const res = await fetch(
    `${url}/_mock/${path}`,
    body === undefined ? {} : { method: "POST", body: JSON.stringify(body) },
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe("claude-mock CLI", () => {
  it("serves another process and obeys its control endpoint", async () => {
    const port = await freePort();
    const { url } = await startCli(["--port", String(port), "--rpm", "100"]);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const client = new Anthropic({ baseURL: url, apiKey: "sk-ant-test", maxRetries: 0 });

    const ok = await client.messages.create(ask("Hello")).withResponse();
    expect(ok.response.headers.get("anthropic-ratelimit-requests-limit")).toBe("100");

    expect(await control(url, "enqueue", [{ status: 529 }, { stream: "error", after: 1 }])).toEqual({
      status: 200,
      body: { queued: 2 },
    });
    await expect(client.messages.create(ask("Hello"))).rejects.toMatchObject({ status: 529 });
    await expect(client.messages.stream(ask("Hello")).finalMessage()).rejects.toThrow(/overloaded_error/);

    const seen = await fetch(`${url}/_mock/requests`).then((r) => r.json() as Promise<Array<{ status: number }>>);
    expect(seen.map((r) => r.status)).toEqual([200, 529, 200]);

    const bad = await control(url, "enqueue", { status: 1000 });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toContain("fault.status");

    expect((await control(url, "config", { orgLimits: { requestsPerMinute: 1 } })).status).toBe(200);
    await client.messages.create(ask("Hello"));
    await expect(client.messages.create(ask("Hello"))).rejects.toBeInstanceOf(Anthropic.RateLimitError);

    const before = (await control(url, "clock", { advanceMs: 0 })).body.now as number;
    const after = (await control(url, "clock", { advanceMs: 60_000 })).body.now as number;
    expect(after - before).toBeGreaterThanOrEqual(60_000);
    await expect(client.messages.create(ask("Hello"))).resolves.toMatchObject({ type: "message" });

    expect((await control(url, "reset", {})).status).toBe(200);
    expect(await fetch(`${url}/_mock/requests`).then((r) => r.json())).toEqual([]);
  });

  it("refuses bad flags with a clear message", async () => {
    await expect(startCli(["--port", "abc"])).rejects.toThrow(/--port must be a number; got "abc"/);
    await expect(startCli(["--rpm", "0"])).rejects.toThrow(/orgLimits.requestsPerMinute` must be an integer ≥ 1/);
  });
});
