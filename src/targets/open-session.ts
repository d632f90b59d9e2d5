// Opening a deployment of any target outside an Effect program (evaluation code, benchmarks, tests):
// the target's scoped session, with close() releasing its scope — the runner process, the die.
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { BundleSession } from "../runtime/index.ts"
import { targetOfDeployment } from "./select.ts"
import type { SessionOptions } from "./target.ts"

export const openDeploymentSession = async (dir: string, options: SessionOptions = {}): Promise<BundleSession> => {
  const target = targetOfDeployment(dir)
  const scope = Effect.runSync(Scope.make())
  const release = () => Effect.runPromise(Scope.close(scope, Exit.void))
  try {
    const session = await Effect.runPromise(target.openSession(dir, options).pipe(Scope.provide(scope), Effect.provide(NodeServices.layer)))
    let closed = false
    return {
      ...session,
      close: async () => {
        if (closed) return
        closed = true
        await session.close()
        await release()
      },
    }
  } catch (error) {
    await release()
    throw error
  }
}
