import type { Context } from "@opentelemetry/api";

/** The context key under which a wrapped client's `create` puts the call the user made. */
const USER_CALL = Symbol.for("ballast.userCall");

/**
 * One `messages.create` the user made on a wrapped client, however many requests reached the wire for
 * it (retries, a fallback model) or none (a cache hit). Telemetry reads it from the context its
 * requests run in, to record the user's call once: `whenDone` runs after the call has settled and
 * every request started under it has finished (a stream's when the caller stops reading).
 */
export class UserCall {
  // the call itself, until it settles, and each request started and not yet finished
  #pending = 1;
  #whenDone: Array<() => void> = [];

  /** A request of this call started; the function returned says it finished (once, whatever calls it). */
  begin(): () => void {
    this.#pending++;
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      this.#release();
    };
  }

  whenDone(callback: () => void): void {
    this.#whenDone.push(callback);
  }

  /** The wrapped `create` came back (a stream: with its response; its reading may go on). */
  settle(): void {
    this.#release();
  }

  #release(): void {
    if (--this.#pending > 0) return;
    const callbacks = this.#whenDone;
    this.#whenDone = [];
    for (const callback of callbacks) callback();
  }
}

/** The user's call `ctx` runs under, if a wrapped client made it. */
export function userCallFrom(ctx: Context): UserCall | undefined {
  return ctx.getValue(USER_CALL) as UserCall | undefined;
}

/** `ctx` with `call` as the user's call. */
export function withUserCall(ctx: Context, call: UserCall): Context {
  return ctx.setValue(USER_CALL, call);
}
