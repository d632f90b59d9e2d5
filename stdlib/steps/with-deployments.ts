// Opens deployment bundles for the duration of a piece of library work, closing them even when
// the work fails, so evaluation steps never leak ONNX Runtime sessions.
import { closeDeployment, openDeployment, type Deployment } from "../../src/evaluate/index.ts"
import { attempt } from "./attempt.ts"

/** Opens deployments for the duration of `use`, closing them even when it fails. */
export const withDeployments = <A>(dirs: readonly string[], threads: number, use: (ds: Deployment[]) => Promise<A>) =>
  attempt(async () => {
    const opened: Deployment[] = []
    try {
      for (const dir of dirs) opened.push(await openDeployment(dir, { threads }))
      return await use(opened)
    } finally {
      for (const d of opened) await closeDeployment(d)
    }
  })
