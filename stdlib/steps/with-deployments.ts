// Opens deployments (of any target) for the duration of a piece of library work, closing them
// when it ends, fails or is interrupted — so evaluation steps never leak ONNX Runtime sessions, and
// Ctrl-C stops an accelerator runner process.
import * as Effect from "effect/Effect"
import { closeDeployment, openDeployment, type Deployment } from "../../src/evaluate/index.ts"
import { matchTarget, targetOfDeployment } from "../../src/targets/index.ts"
import { attempt, attemptSync, release, type StepErrorClass } from "./attempt.ts"

/**
 * Opens deployments for the duration of `use` (handed the step's abort signal, which interrupting
 * the step aborts), closing them even when it fails or is interrupted. Failures are the step's `failure`.
 */
export const withDeployments = <A, E>(
  failure: StepErrorClass<E>,
  dirs: readonly string[],
  threads: number,
  use: (ds: Deployment[], signal: AbortSignal) => Promise<A>,
  target?: string,
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const opened: Deployment[] = []
      for (const dir of dirs) yield* attemptSync(failure, () => matchTarget(target ?? "auto", targetOfDeployment(dir), dir))
      for (const dir of dirs) opened.push(yield* Effect.acquireRelease(attempt(failure, () => openDeployment(dir, { threads })), (d) => release(`the deployment ${d.dir}`, () => closeDeployment(d))))
      return yield* attempt(failure, (signal) => use(opened, signal))
    }),
  )
