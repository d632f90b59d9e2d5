// Executors other than the engine's local one: where a run's cache misses are executed
// (`--executor URL`). The engine's seam is src/engine/executor.ts; each executor has its own
// folder and one line in registry.ts.
export { executorLayer, executorSchemes, openExecutor } from "./registry.ts"
export type { ExecutorContext, OpenedExecutor } from "./opened.ts"
