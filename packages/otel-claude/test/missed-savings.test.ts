import { describe, expect, it } from "vitest";
import { MissedCacheDetector } from "../src/missed-savings.js";

const MODEL = "claude-sonnet-4-6";
const min = () => 1024;
const system = "Answer as Acme's support agent. ".repeat(200); // 6400 characters
const tool = (name: string) => ({
  name,
  description: "Looks an order up. ".repeat(40),
  input_schema: { type: "object" },
});
const estimate = (tools: unknown, sys: unknown) =>
  Math.floor(JSON.stringify([MODEL, tools ?? null, sys ?? null]).length / 4);
const body = (tools: unknown, sys: unknown = system) => ({ model: MODEL, tools, system: sys, messages: [] });

describe("MissedCacheDetector", () => {
  it("estimates a repeated prefix's tokens from its JSON, whether its parts are the same objects or equal copies", () => {
    const d = new MissedCacheDetector();
    const tools = [tool("lookup_order")];
    expect(d.check(body(tools), MODEL, 0, min)).toBe(0);
    expect(d.check(body(tools), MODEL, 1, min)).toBe(estimate(tools, system));
    // rebuilt for every call, as many apps do: the same prefix
    const copy = JSON.parse(JSON.stringify(tools));
    expect(d.check(body(copy, `${system}`), MODEL, 2, min)).toBe(estimate(tools, system));
    const blocks = [{ type: "text", text: system }];
    expect(d.check(body(undefined, blocks), MODEL, 3, min)).toBe(0);
    expect(d.check(body(undefined, blocks), MODEL, 4, min)).toBe(estimate(undefined, blocks));
  });

  it("sees a tools array grown in place as a new prefix", () => {
    const d = new MissedCacheDetector();
    const tools = [tool("lookup_order")];
    d.check(body(tools), MODEL, 0, min);
    tools.push(tool("refund_order"));
    expect(d.check(body(tools), MODEL, 1, min)).toBe(0);
    expect(d.check(body(tools), MODEL, 2, min)).toBe(estimate(tools, system));
  });

  it("ignores a prefix below the model's minimum, one marked for caching, and one last seen over 5 minutes ago", () => {
    const d = new MissedCacheDetector();
    const short = body(undefined, "Be brief.");
    d.check(short, MODEL, 0, min);
    expect(d.check(short, MODEL, 1, min)).toBe(0);
    const marked = body(undefined, [{ type: "text", text: system, cache_control: { type: "ephemeral" } }]);
    d.check(marked, MODEL, 2, min);
    expect(d.check(marked, MODEL, 3, min)).toBe(0);
    d.check(body(undefined), MODEL, 10, min);
    expect(d.check(body(undefined), MODEL, 10 + 5 * 60_000 + 1, min)).toBe(0);
  });
});
