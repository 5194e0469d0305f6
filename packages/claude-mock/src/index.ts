export type { Fault, FaultEndpoint } from "./faults.js";
export type { ApiMessage } from "./messages.js";
export { defaultMinCacheableTokens, responseModelId } from "./models.js";
export type { Latency, MockClaudeOptions } from "./options.js";
export type { OrgLimits } from "./org-limits.js";
export type { MockClaude, MockConfig, RecordedRequest } from "./server.js";
export { startMockClaude } from "./server.js";
export { countTextTokens } from "./tokenizer.js";
