export { type ClaudeScope, type RunScope, scopeFrom, withScope } from "./claude-scope.js";
export { messageOf, otelApi, WarnOnce } from "./diagnostics.js";
export {
  apiPromise,
  interceptCalls,
  type Layer,
  type Operation,
  type ResponseProps,
  type Send,
  type Sent,
  sentOf,
} from "./intercept-calls.js";
export { isAbortError, observedStream, type SdkStream } from "./streams.js";
export { UserCall, userCallFrom, withUserCall } from "./user-call.js";
