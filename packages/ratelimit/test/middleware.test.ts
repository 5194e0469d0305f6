import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { createRateLimiter, expressRateLimit, fastifyRateLimit, honoRateLimit, type Ticket } from "../src/index.js";

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const limiter = () => createRateLimiter({ name: "http", rules: [{ name: "requests", limit: 2, window: "1m" }] });

async function hit(url: string, user?: string) {
  const res = await fetch(url, { method: "POST", headers: user ? { "x-user-id": user } : {} });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function expectLimiting(url: string) {
  const ok = [await hit(url, "alice"), await hit(url, "alice")];
  expect(ok.map((r) => r.status)).toEqual([200, 200]);
  expect(ok[1]!.headers.get("ratelimit")).toMatch(/^"requests";r=0;t=\d+$/);
  expect(ok[0]!.body).toEqual({ ticket: true });
  const limited = await hit(url, "alice");
  expect(limited.status).toBe(429);
  expect(limited.body).toEqual({ error: "rate_limited", rule: "requests", retry_after_s: expect.any(Number) });
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(limited.headers.get("ratelimit-policy")).toBe('"requests";q=2;w=60');
  expect((await hit(url, "bob")).status).toBe(200); // keys are separate
  expect((await hit(url)).status).toBe(200); // no key: not limited
}

describe("middleware", () => {
  it("Express", async () => {
    const app = express();
    app.post(
      "/chat",
      expressRateLimit(limiter(), { key: (req: express.Request) => req.get("x-user-id") }),
      (_req, res) => {
        res.json({ ticket: (res.locals.rateLimitTicket as Ticket | undefined)?.allowed ?? "none" });
      },
    );
    const server: Server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    closers.push(() => new Promise((r) => server.close(r)));
    const { port } = server.address() as AddressInfo;
    await expectLimiting(`http://127.0.0.1:${port}/chat`);
  });

  it("Fastify", async () => {
    const app = Fastify();
    app.addHook(
      "onRequest",
      fastifyRateLimit(limiter(), {
        key: (req: { headers: Record<string, unknown> }) => req.headers["x-user-id"] as string | undefined,
      }),
    );
    app.post("/chat", async (req) => ({
      ticket: (req as unknown as { rateLimitTicket?: Ticket }).rateLimitTicket?.allowed ?? "none",
    }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    closers.push(() => app.close());
    const { port } = app.server.address() as AddressInfo;
    await expectLimiting(`http://127.0.0.1:${port}/chat`);
  });

  it("Hono", async () => {
    const app = new Hono<{ Variables: { rateLimitTicket: Ticket } }>();
    app.use("/chat", honoRateLimit(limiter(), { key: (c) => c.req.header("x-user-id") }));
    app.post("/chat", (c) => c.json({ ticket: c.get("rateLimitTicket")?.allowed ?? "none" }));
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await once(server, "listening");
    closers.push(() => new Promise((r) => server.close(r)));
    const { port } = server.address() as AddressInfo;
    await expectLimiting(`http://127.0.0.1:${port}/chat`);
  });
});
