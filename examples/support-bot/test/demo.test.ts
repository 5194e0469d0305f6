import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Anthropic from "@anthropic-ai/sdk";
import { startMockClaude } from "@ballast/claude-mock";
import { alertDefinitions } from "@ballast/dashboards/alerts";
import { createRateLimiter } from "@ballast/ratelimit";
import { retryPolicy, withRetry } from "@ballast/retry";
import { chromium, startNode, startVictoriaMetrics } from "@ballast/test-services";
import puppeteer from "puppeteer-core";
import { describe, expect, it } from "vitest";
import { buildApp } from "../src/app.ts";
import type { Summary } from "../src/summary.ts";

const DIR = fileURLToPath(new URL("..", import.meta.url));

function demo(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["src/main.ts", ...args], { cwd: DIR, env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    child.once("exit", (code) => resolve({ code, out }));
  });
}

describe("pnpm demo", () => {
  it("runs a shortened demo whose summary matches the telemetry it exported", async () => {
    const vm = await startVictoriaMetrics();
    try {
      const env = {
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: vm.otlpMetricsUrl,
        OTEL_SERVICE_NAME: "demo-e2e",
        ANTHROPIC_API_KEY: "",
      };
      const { code, out } = await demo(["--duration", "5", "--users", "12", "--json"], env);
      expect(code, out).toBe(0);
      // --json: the summary and nothing else for a person
      expect(out.split("\n").filter((line) => line.startsWith("demo:"))).toEqual([]);
      const summary = JSON.parse(out.trim().split("\n").at(-1) as string) as Summary;
      expect(summary.calls).toBeGreaterThan(10);
      expect(summary.rateLimited).toBeGreaterThan(0); // the heavy users met their limits
      expect(summary.fallbacks + summary.retries).toBeGreaterThan(0); // the fault burst was handled

      // The last export (at shutdown) takes VictoriaMetrics a moment to make searchable: poll until the
      // figure settles on the expected value, or report the last one seen.
      const settled = async (promql: string, expected: number, digits = 9) => {
        let last = Number.NaN;
        for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
          last = Number((await vm.queryWhenPresent(promql))[0]?.value[1]);
          if (Math.abs(last - expected) < 10 ** -digits) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        return last;
      };
      const calls = 'sum(gen_ai_client_operation_duration_seconds_count{service_name="demo-e2e"})';
      expect(await settled(calls, summary.claudeRequests)).toBe(summary.claudeRequests);
      const spend = 'sum(gen_ai_usage_cost_USD_total{service_name="demo-e2e"})';
      expect(await settled(spend, summary.spendUsd, 6)).toBeCloseTo(summary.spendUsd, 6); // to the micro-dollar
      const limited =
        'sum(ballast_ratelimit_decisions_total{service_name="demo-e2e",ballast_ratelimit_outcome="limited"})';
      expect(await settled(limited, summary.rateLimited)).toBe(summary.rateLimited);

      // The alert summary judges every rule of the alert pack, on the figures the telemetry carries.
      expect(summary.alerts.map((a) => a.alert)).toEqual(alertDefinitions().map((d) => d.alert));
      const value = (alert: string) => summary.alerts.find((a) => a.alert === alert)?.value ?? Number.NaN;
      const F = 'service_name="demo-e2e"';
      const total = async (promql: string, expected: number, digits?: number) =>
        expected === 0 ? Number((await vm.query(promql))[0]?.value[1] ?? 0) : settled(promql, expected, digits);
      const stops = value("ClaudeMaxTokensStops");
      expect(stops).toBe(summary.maxTokensStops);
      expect(
        await total(
          `sum(gen_ai_client_operation_duration_seconds_count{${F},anthropic_message_stop_reason="max_tokens"})`,
          stops,
        ),
      ).toBe(stops);
      const failed = value("ClaudeErrorRateHigh") * summary.claudeRequests;
      expect(
        await total(`sum(gen_ai_client_operation_duration_seconds_count{${F},error_type!=""})`, failed, 6),
      ).toBeCloseTo(failed, 6);
      expect(value("ClaudeSpendHigh")).toBeCloseTo(summary.spendUsd, 9);
      const exhausted = value("ClaudeBudgetExhausted");
      expect(await total(`sum(ballast_budget_alerts_total{${F},ballast_budget_threshold="1"})`, exhausted)).toBe(
        exhausted,
      );
      // otel-claude's own health: what the summary read in process is what reached VictoriaMetrics
      const telemetryFailures = value("ClaudeTelemetryFailing");
      expect(telemetryFailures).toBe(summary.telemetryFailures);
      expect(await total(`sum(ballast_claude_telemetry_failures_total{${F}})`, telemetryFailures)).toBe(
        telemetryFailures,
      );
      // one streamed answer was cut mid-way on purpose; every stream's time to first token is real
      expect(summary.cutStreams).toBe(1);
      expect(summary.ttftP99Ms).toBeGreaterThanOrEqual(summary.ttftP50Ms ?? Number.POSITIVE_INFINITY);
      // the order agent: its runs, and the conversation that would have looped forever, stopped by its budget
      expect(summary.agentRuns).toBeGreaterThan(1);
      expect(summary.runsStoppedByBudget).toBe(1);
      expect(summary.runCostMaxUsd).toBeGreaterThanOrEqual(summary.runCostP50Usd);
      expect(value("ClaudeRunsStoppedByBudget")).toBe(1);
      expect(
        await total(`sum(gen_ai_invoke_agent_duration_seconds_count{${F},ballast_run_outcome="stopped_by_budget"})`, 1),
      ).toBe(1);
      for (const a of summary.alerts) {
        expect(summary.alertsThatWouldFire.includes(a.alert), a.alert).toBe(a.fires);
      }
      // the run's truncations and fault burst are what the pack pages on
      expect(summary.alertsThatWouldFire).toEqual(expect.arrayContaining(["ClaudeErrorRateHigh"]));
    } finally {
      await vm.stop();
    }
  }, 60_000);

  it("says what it starts at once, prints a plain line every 10 s when its output is not a terminal, and a summary a person reads", async () => {
    const { code, out } = await demo(["--duration", "12", "--users", "6"], { ANTHROPIC_API_KEY: "" });
    expect(code, out).toBe(0);
    const lines = out.split("\n");
    expect(lines[0]).toMatch(/^demo: starting claude-mock/);
    // the output is a pipe here, as in CI logs or `| tee`: no bar, one line at 10 s
    expect(out).not.toContain("\r[");
    const progress = lines.filter((line) => /^demo: \d+s {2}calls/.test(line));
    expect(progress).toHaveLength(1);
    expect(progress[0]).toMatch(
      /^demo: 1\ds {2}calls \d+ {2}429s \d+ {2}spend \$\d+\.\d{4} {2}\d+\.\d calls\/s {2}p99 [\d,]+ ms {2}alerts firing \d+$/,
    );
    // thousands separators, a table by feature, and what to do next
    expect(out).toMatch(/tokens in \/ out +\d{1,3}(,\d{3})+ \/ /);
    expect(out).toMatch(
      /feature +calls +spend +cache hit +p99\n +support_chat +\d+ +\$\d+\.\d{4} +\d+\.\d% +[\d,]+ ms/,
    );
    expect(out).toContain("docker compose up --build");
    expect(out).toContain("ANTHROPIC_API_KEY=");
  }, 60_000);

  it("streams answers to its HTTP clients as server-sent events; a cut stream ends with its partial answer, marked", async () => {
    const mock = await startMockClaude();
    const limiter = createRateLimiter({ name: "sse_test", rules: [{ name: "requests", limit: 100, window: "1m" }] });
    const client = withRetry(
      new Anthropic({ baseURL: mock.url, apiKey: "sk-test" }),
      retryPolicy({ baseDelayMs: 1, budget: false }),
    );
    const app = buildApp({
      client,
      limiter,
      model: "claude-sonnet-4-6",
      agentLimiter: limiter,
      agentModel: "claude-sonnet-4-6",
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const chat = async () => {
        const res = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/chat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ user: "u1", question: "How do I reset my password?", stream: true }),
        });
        expect(res.headers.get("content-type")).toBe("text/event-stream");
        return [...(await res.text()).matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({
          event: m[1],
          data: JSON.parse(m[2] as string),
        }));
      };
      const whole = await chat();
      expect(whole.filter((e) => e.event === "delta").length).toBeGreaterThan(3);
      expect(whole.at(-1)).toMatchObject({ event: "done", data: { stop_reason: "end_turn" } });

      mock.enqueue({ stream: "drop", after: 4 });
      const cut = await chat();
      expect(cut.filter((e) => e.event === "delta").length).toBeGreaterThan(0);
      expect(cut.at(-1)).toMatchObject({ event: "cut", data: { reason: "StreamInterruptedError" } });
      const partial = cut
        .filter((e) => e.event === "delta")
        .map((e) => e.data.text)
        .join("");
      expect(cut.at(-1)?.data.characters).toBe(partial.length);
    } finally {
      await app.close();
      await mock.close();
    }
  });

  it("writes a self-contained report whose every chart draws in headless Chromium, with no errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "demo-report-"));
    const report = join(dir, "report.html");
    const { code, out } = await demo(["--duration", "5", "--users", "12", "--report", report], {
      ANTHROPIC_API_KEY: "",
    });
    expect(code, out).toBe(0);
    expect(out).toContain(`The run in charts: ${report}`);
    const html = readFileSync(report, "utf8");
    // opens with no network: nothing is fetched from anywhere
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
    const { dom, log } = await chromium().dumpDom(pathToFileURL(report).href);
    expect(dom).toContain('data-ready="true"');
    const charts = [...dom.matchAll(/class="chart" id="(\w+)"[^>]*data-drawn="(\w+)"/g)].map((m) => [m[1], m[2]]);
    expect(charts).toEqual(["calls", "latency", "spend", "cache", "faults", "runs"].map((id) => [id, "true"]));
    expect(dom).not.toContain("data-errors=");
    expect(log).not.toMatch(/Uncaught|CONSOLE\(\d+\)\] "(?:Error|TypeError)/);
    // every alert rule of the pack is in the report's verdict table
    for (const rule of alertDefinitions().map((d) => d.alert)) expect(dom).toContain(`<td>${rule}</td>`);
  }, 90_000);

  it("--serve: a chat page that streams answers and shows each one's tokens, cache hit and cost (headless Chromium)", async () => {
    const bot = startNode(["src/main.ts", "--serve", "--port", "0"], { cwd: DIR, env: { ANTHROPIC_API_KEY: "" } });
    const browser = await puppeteer.launch({ executablePath: chromium().binary, args: ["--no-sandbox"] });
    try {
      await bot.printed("chat with the bot at ");
      const url = /chat with the bot at (\S+)/.exec(bot.output())?.[1] as string;
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(String(error)));
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      await page.goto(url);
      await page.type("#question", "How do I reset my password?");
      await page.click("button[type=submit]");
      await page.waitForFunction('document.querySelectorAll(".meta[data-cost]").length === 1');
      const answer = await page.$eval(".a div", (el) => el.textContent ?? "");
      const meta = await page.$eval(".meta", (el) => el.textContent ?? "");
      expect(answer.length).toBeGreaterThan(20);
      expect(meta).toMatch(/^[\d,]+ tokens in \(cache (hit: [\d,]+ read|miss)\), [\d,]+ out · \$\d\.\d{6} · claude-/);
      // a second question reads the system prompt the first one cached
      await page.type("#question", "Can I get a refund for last month?");
      await page.click("button[type=submit]");
      await page.waitForFunction('document.querySelectorAll(".meta[data-cost]").length === 2');
      const second = await page.$$eval(".meta", (els) => els[1]?.textContent ?? "");
      expect(second).toMatch(/cache hit: [\d,]+ read/);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      bot.child.kill("SIGTERM");
      await bot.exited;
    }
  }, 90_000);

  it("refuses bad options with a clear message", async () => {
    const { code, out } = await demo(["--users", "lots"], {});
    expect(code).toBe(2);
    expect(out).toContain('--users must be a whole number from 1 to 1000; got "lots"');
  });
});
