// The code digest of every step a run resolves, computed once before any node runs: one bundler
// pass over the step modules whose persisted import closure is stale, none on a no-op re-run.
import * as Effect from "effect/Effect"
import type { CacheLayout } from "../cache/layout.ts"
import { NO_CODE } from "./action-key.ts"
import { type CodeDigest, makeCodeDigester } from "./code/index.ts"
import { PipelineDefinitionError } from "./errors.ts"
import type { AnyStep } from "./step-definition.ts"

export type StepCode = (step: AnyStep) => CodeDigest

export const prepareStepCode = (layout: CacheLayout, steps: readonly AnyStep[]): Effect.Effect<StepCode, PipelineDefinitionError> =>
  Effect.tryPromise({
    try: async () => {
      const digester = makeCodeDigester({ stateDir: layout.code })
      const modules = [...new Set(steps.flatMap((s) => (s.module !== undefined ? [s.module] : [])))].sort()
      await digester.prepare(modules)
      const digests = new Map(modules.map((m) => [m, digester.digestOf(m)]))
      return (step: AnyStep) => (step.module !== undefined ? digests.get(step.module)! : NO_CODE)
    },
    catch: (cause) =>
      new PipelineDefinitionError({
        message: `cannot compute the code digest of the pipeline's steps: ${cause instanceof Error ? cause.message : String(cause)}`,
        hint: "every step's key covers its module and what it imports; fix the module or bun.lock named above",
      }),
  })
