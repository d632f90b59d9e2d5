// Planning a run before anything executes: every node the command line names must exist, each
// step node's params are its source params merged with `--set` overrides and validated by the
// step's schema, and `--until` narrows the run to one node and its ancestors.
import * as Effect from "effect/Effect"
import { PipelineDefinitionError } from "./errors.ts"
import { ancestorsOf, type Graph } from "./graph.ts"
import { validateParams } from "./step.ts"

export interface PlanRequest {
  readonly force: ReadonlySet<string> | "all"
  readonly until?: string | undefined
  /** Per-node param overrides, merged over the params given in source, then validated. */
  readonly overrides: ReadonlyMap<string, Record<string, unknown>>
}

export interface RunPlan {
  /** Resolved params of every step node, by node id. */
  readonly params: ReadonlyMap<string, unknown>
  /** Nodes this run resolves (all of them unless `--until`). */
  readonly selected: ReadonlySet<string>
}

export const planRun = (graph: Graph, request: PlanRequest): Effect.Effect<RunPlan, PipelineDefinitionError> =>
  Effect.gen(function* () {
    const named = [...(request.force === "all" ? [] : request.force), ...(request.until !== undefined ? [request.until] : []), ...request.overrides.keys()]
    for (const id of named) {
      if (!graph.byId.has(id)) {
        return yield* new PipelineDefinitionError({ message: `unknown node "${id}"`, hint: `nodes of this pipeline: ${[...graph.byId.keys()].join(", ")}` })
      }
    }
    const params = new Map<string, unknown>()
    for (const { id, node } of graph.nodes) {
      if (node.step === undefined) continue
      const step = node.step
      const override = request.overrides.get(id)
      const value = override === undefined ? node.params : { ...(node.params as object), ...override }
      params.set(id, yield* Effect.try({ try: () => validateParams(step, id, value), catch: (e) => e as PipelineDefinitionError }))
    }
    const selected = request.until !== undefined ? ancestorsOf(graph, request.until) : new Set(graph.byId.keys())
    return { params, selected }
  })
