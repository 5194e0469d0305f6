export { type ClaudeContext, withClaudeContext } from "./attribution.js";
export type { ClaudeCallRecord } from "./call.js";
export { ClaudeInstrumentation, type ClaudeInstrumentationConfig } from "./instrumentation.js";
export { type ClaudeRunOptions, type ClaudeRunRecord, type RunOutcome, withClaudeRun } from "./run.js";
export * as semconv from "./semconv.js";
export { ClaudeSpanProcessor, type ClaudeSpanProcessorOptions } from "./span-processor.js";
