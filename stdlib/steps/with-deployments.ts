// Opens deployments (of any target) for the duration of a piece of library work, closing them
// when it ends, fails or is interrupted — so evaluation steps never leak ONNX Runtime sessions, and
// Ctrl-C stops an accelerator runner process.
import * as Effect from "effect/Effect"
import { closeDeployment, openDeployment, type Deployment } from "../../src/evaluate/index.ts"
import { matchTarget, type TargetError, targetOfDeployment } from "../../src/targets/index.ts"
import { attempt } from "./attempt.ts"

/** Opens deployments for the duration of `use`, closing them even when it fails or is interrupted. */
export const withDeployments = <A>(dirs: readonly string[], threads: number, use: (ds: Deployment[]) => Promise<A>, target?: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const opened: Deployment[] = []
      for (const dir of dirs) yield* Effect.try({ try: () => matchTarget(target ?? "auto", targetOfDeployment(dir), dir), catch: (e) => e as TargetError })
      for (const dir of dirs) opened.push(yield* Effect.acquireRelease(attempt(() => openDeployment(dir, { threads })), (d) => Effect.promise(() => closeDeployment(d))))
      return yield* attempt(() => use(opened))
    }),
  )
