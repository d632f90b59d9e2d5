// The engine's public surface: define steps, build pipelines, run them.
export { defineStep, type Applied, type AnyStep, type ArtifactInput, type Kind, type ResourceClass, type Step, type StepContext, type StepServices } from "./step.ts"
export { local, type Node } from "./node.ts"
export { pipeline, type Pipeline } from "./pipeline.ts"
export { StepError, PipelineDefinitionError, StepFailedError, CacheError, LockDriftError } from "./errors.ts"
export { buildGraph, toMermaid, type Graph } from "./graph.ts"
export { runGraph, type RunOptions, type RunOutcome } from "./runtime.ts"
export { RunEvents, type NodeResult, type RunEvent } from "./events.ts"
export { actionKey, canonicalJson, CACHE_SCHEMA_VERSION, type ActionKey, type ActionKeyInputs } from "./action-key.ts"
