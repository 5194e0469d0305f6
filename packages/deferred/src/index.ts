export {
  createDeferredQueue,
  DeferredQueue,
  type DeferredQueueOptions,
  type DeferredResult,
} from "./queue.js";
