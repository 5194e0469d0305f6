// Names from TELEMETRY.md, copied here as instrumentation-openai does with the incubating GenAI
// semantic conventions (1.45): dashboards and alerts depend on them, so they live in one place.

export const SDK_SCOPE = "com.anthropic.sdk.typescript";
export const SPAN_CREATE = "anthropic.messages.create";
export const SPAN_COUNT_TOKENS = "anthropic.messages.count_tokens";

export const ATTR_OPERATION = "gen_ai.operation.name";
export const ATTR_PROVIDER = "gen_ai.provider.name";
export const ATTR_REQUEST_MODEL = "gen_ai.request.model";
export const ATTR_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens";
export const ATTR_REQUEST_STREAM = "gen_ai.request.stream";
export const ATTR_REQUEST_TEMPERATURE = "gen_ai.request.temperature";
export const ATTR_REQUEST_TOP_P = "gen_ai.request.top_p";
export const ATTR_REQUEST_TOP_K = "gen_ai.request.top_k";
export const ATTR_SERVER_ADDRESS = "server.address";
export const ATTR_SERVER_PORT = "server.port";
export const ATTR_RESPONSE_ID = "gen_ai.response.id";
export const ATTR_RESPONSE_MODEL = "gen_ai.response.model";
export const ATTR_FINISH_REASONS = "gen_ai.response.finish_reasons";
export const ATTR_TTFC = "gen_ai.response.time_to_first_chunk";
export const ATTR_USAGE_INPUT = "gen_ai.usage.input_tokens";
export const ATTR_USAGE_OUTPUT = "gen_ai.usage.output_tokens";
export const ATTR_USAGE_CACHE_READ = "gen_ai.usage.cache_read.input_tokens";
export const ATTR_USAGE_CACHE_CREATION = "gen_ai.usage.cache_creation.input_tokens";
export const ATTR_USAGE_CACHE_WRITE = "gen_ai.usage.cache_write.input_tokens";
export const ATTR_USAGE_5M = "anthropic.usage.cache_creation.ephemeral_5m_input_tokens";
export const ATTR_USAGE_1H = "anthropic.usage.cache_creation.ephemeral_1h_input_tokens";
export const ATTR_STOP_REASON = "anthropic.message.stop_reason";
export const ATTR_REQUEST_ID = "anthropic.request.id";
export const ATTR_RESEND_COUNT = "http.request.resend_count";
export const ATTR_ERROR_TYPE = "error.type";
export const ATTR_COST = "gen_ai.usage.cost";
export const ATTR_CACHE_SAVINGS = "ballast.cost.cache_savings";
export const ATTR_PRICING_MODEL = "ballast.pricing.model";
export const ATTR_USER_ID = "user.id";
export const ATTR_FEATURE = "ballast.feature";
/** `hit` or `stale` on the span of an answer @ballast/response-cache replayed (no tokens used) */
export const ATTR_RESPONSE_CACHE = "ballast.response_cache";
/** set by @ballast/response-cache on the Response of an answer it replayed: `hit` or `stale` */
export const RESPONSE_REPLAYED = Symbol.for("ballast.response-cache.replayed");
export const ATTR_TOKEN_TYPE = "gen_ai.token.type";
export const ATTR_TOKEN_KIND = "ballast.token.kind";
export const ATTR_TELEMETRY_STEP = "ballast.telemetry.step";
export const ATTR_INPUT_MESSAGES = "gen_ai.input.messages";
export const ATTR_OUTPUT_MESSAGES = "gen_ai.output.messages";
export const ATTR_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions";

export const METRIC_DURATION = "gen_ai.client.operation.duration";
export const METRIC_TOKEN_USAGE = "gen_ai.client.token.usage";
export const METRIC_TTFC = "gen_ai.client.operation.time_to_first_chunk";
export const METRIC_TOKENS = "ballast.claude.tokens";
export const METRIC_COST = "gen_ai.usage.cost";
export const METRIC_CACHE_SAVINGS = "ballast.claude.cache_savings";
export const METRIC_MISSED_SAVINGS = "ballast.cache.missed_savings";
export const METRIC_TELEMETRY_FAILURES = "ballast.claude.telemetry.failures";

export const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
export const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

export const LOG_EVENT = "ballast.claude.call";

// Runs: a tool runner's loop, or `withClaudeRun` around the user's own.
export const SPAN_TOOL_RUNNER = "anthropic.messages.tool_runner";
export const OPERATION_INVOKE_AGENT = "invoke_agent";
export const ATTR_CONVERSATION_ID = "gen_ai.conversation.id";
export const ATTR_AGENT_NAME = "gen_ai.agent.name";
export const ATTR_TOOL_NAME = "gen_ai.tool.name";
export const ATTR_TOOL_TYPE = "gen_ai.tool.type";
export const ATTR_RUN_ID = "ballast.run.id";
export const ATTR_RUN_CALLS = "ballast.run.calls";
export const ATTR_RUN_TOOL_CALLS = "ballast.run.tool_calls";
export const ATTR_RUN_TOOL_ERRORS = "ballast.run.tool_errors";
export const ATTR_RUN_OUTCOME = "ballast.run.outcome";

export const METRIC_AGENT_DURATION = "gen_ai.invoke_agent.duration";
export const METRIC_TOOL_DURATION = "gen_ai.execute_tool.duration";
export const METRIC_RUN_COST = "ballast.run.cost";
export const METRIC_RUN_CALLS = "ballast.run.calls";

export const AGENT_DURATION_BUCKETS = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6];
export const RUN_COST_BUCKETS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30];
export const RUN_CALL_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128];

export const LOG_EVENT_RUN = "ballast.claude.run";
