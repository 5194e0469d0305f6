import type { Attributes, Histogram, Meter } from "@opentelemetry/api";
import { point } from "./metrics.js";
import * as semconv from "./semconv.js";

/** A finished run, as its metrics label it; absent labels are `""`. */
export interface RunFigures {
  name: string;
  feature: string;
  outcome: string;
  errorType: string;
  durationS: number;
  costUsd: number;
  calls: number;
}

/**
 * The run metrics (TELEMETRY.md): the GenAI conventions' agent and tool durations, and Ballast's cost
 * and calls per run, recorded whatever the sampler keeps.
 */
export class RunMetrics {
  readonly #duration: Histogram;
  readonly #cost: Histogram;
  readonly #calls: Histogram;
  readonly #tool: Histogram;

  constructor(meter: Meter) {
    this.#duration = meter.createHistogram(semconv.METRIC_AGENT_DURATION, {
      description: "Duration of agent runs (a tool runner's loop, or withClaudeRun)",
      unit: "s",
      advice: { explicitBucketBoundaries: semconv.AGENT_DURATION_BUCKETS },
    });
    this.#cost = meter.createHistogram(semconv.METRIC_RUN_COST, {
      description: "USD of the Claude calls of one agent run",
      unit: "USD",
      advice: { explicitBucketBoundaries: semconv.RUN_COST_BUCKETS },
    });
    this.#calls = meter.createHistogram(semconv.METRIC_RUN_CALLS, {
      description: "Claude calls made by one agent run",
      unit: "{call}",
      advice: { explicitBucketBoundaries: semconv.RUN_CALL_BUCKETS },
    });
    this.#tool = meter.createHistogram(semconv.METRIC_TOOL_DURATION, {
      description: "Duration of tool executions in agent runs",
      unit: "s",
      advice: { explicitBucketBoundaries: semconv.DURATION_BUCKETS },
    });
  }

  recordRun(run: RunFigures): void {
    const labels: Attributes = {
      [semconv.ATTR_AGENT_NAME]: run.name,
      [semconv.ATTR_RUN_OUTCOME]: run.outcome,
    };
    if (run.feature) labels[semconv.ATTR_FEATURE] = run.feature;
    if (run.errorType) labels[semconv.ATTR_ERROR_TYPE] = run.errorType;
    point(this.#duration, run.durationS, labels);
    point(this.#cost, run.costUsd, labels);
    point(this.#calls, run.calls, labels);
  }

  recordTool(tool: string, run: { name: string; feature: string }, errorType: string, durationS: number): void {
    const labels: Attributes = {
      [semconv.ATTR_TOOL_NAME]: tool,
      [semconv.ATTR_TOOL_TYPE]: "function",
      [semconv.ATTR_AGENT_NAME]: run.name,
    };
    if (run.feature) labels[semconv.ATTR_FEATURE] = run.feature;
    if (errorType) labels[semconv.ATTR_ERROR_TYPE] = errorType;
    point(this.#tool, durationS, labels);
  }
}
