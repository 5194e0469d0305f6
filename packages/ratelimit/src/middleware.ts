import type { Demand, RateLimiter, Ticket } from "./limiter.js";

/** How a framework request maps to a limiter call. */
export interface MiddlewareOptions<Req> {
  /** the key to limit by (a user id, an API key id); return undefined to let the request through unlimited */
  key: (req: Req) => string | undefined | Promise<string | undefined>;
  /** the reservation for this request (model, input tokens, max_tokens); default: one request */
  demand?: (req: Req) => Demand | Promise<Demand>;
}

/** The 429 body every adapter sends. */
export function limitedBody(ticket: Ticket) {
  return {
    error: "rate_limited",
    rule: ticket.rule,
    retry_after_s: ticket.retryAfterMs < 0 ? null : Math.max(1, Math.ceil(ticket.retryAfterMs / 1000)),
  };
}

async function decide<Req>(
  limiter: RateLimiter,
  options: MiddlewareOptions<Req>,
  req: Req,
): Promise<Ticket | undefined> {
  const key = await options.key(req);
  if (key === undefined) return undefined;
  return limiter.acquire(key, options.demand ? await options.demand(req) : {});
}

interface ExpressLikeResponse {
  setHeader(name: string, value: string): unknown;
  status(code: number): { json(body: unknown): unknown };
  locals: Record<string, unknown>;
}

/**
 * Express (4 and 5): `app.post("/chat", expressRateLimit(limiter, { key: (req) => req.user.id }), handler)`.
 * Sets the RateLimit headers, answers 429 with `{ error, rule, retry_after_s }` when refused, else puts
 * the ticket on `res.locals.rateLimitTicket` for the handler to `settle()`.
 */
export function expressRateLimit<Req>(limiter: RateLimiter, options: MiddlewareOptions<Req>) {
  return (req: Req, res: ExpressLikeResponse, next: (error?: unknown) => void): void => {
    decide(limiter, options, req).then((ticket) => {
      if (!ticket) return next();
      for (const [name, value] of Object.entries(ticket.headers)) res.setHeader(name, value);
      if (!ticket.allowed) return void res.status(429).json(limitedBody(ticket));
      res.locals.rateLimitTicket = ticket;
      next();
    }, next);
  };
}

interface FastifyLikeReply {
  header(name: string, value: string): unknown;
  code(status: number): { send(body: unknown): unknown };
}

/**
 * Fastify: `app.addHook("onRequest", fastifyRateLimit(limiter, { key: (req) => req.headers["x-user-id"] }))`.
 * The ticket is on `request.rateLimitTicket`.
 */
export function fastifyRateLimit<Req extends object>(limiter: RateLimiter, options: MiddlewareOptions<Req>) {
  return async (request: Req, reply: FastifyLikeReply): Promise<void> => {
    const ticket = await decide(limiter, options, request);
    if (!ticket) return;
    for (const [name, value] of Object.entries(ticket.headers)) reply.header(name, value);
    if (!ticket.allowed) {
      await reply.code(429).send(limitedBody(ticket));
      return;
    }
    (request as { rateLimitTicket?: Ticket }).rateLimitTicket = ticket;
  };
}

interface HonoLikeContext {
  req: { header(name: string): string | undefined };
  header(name: string, value: string): void;
  json(body: unknown, status?: number): Response;
  set(key: string, value: unknown): void;
}

/** Hono: `app.use("/chat", honoRateLimit(limiter, { key: (c) => c.req.header("x-user-id") }))`; the ticket is `c.get("rateLimitTicket")`. */
export function honoRateLimit<C extends HonoLikeContext>(limiter: RateLimiter, options: MiddlewareOptions<C>) {
  return async (c: C, next: () => Promise<void>): Promise<Response | undefined> => {
    const ticket = await decide(limiter, options, c);
    if (!ticket) {
      await next();
      return undefined;
    }
    for (const [name, value] of Object.entries(ticket.headers)) c.header(name, value);
    if (!ticket.allowed) return c.json(limitedBody(ticket), 429);
    c.set("rateLimitTicket", ticket);
    await next();
    return undefined;
  };
}
