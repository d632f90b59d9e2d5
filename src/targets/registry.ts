// The registered targets, one line each. Order matters twice: "auto" takes the first target that
// is available here, and a model or deployment folder belongs to the first target that claims it —
// so the always-available catch-all (cpu) goes last.
import { cpuTarget } from "./cpu/target.ts"
import type { Target } from "./target.ts"
import { vaccTarget } from "./vacc/target.ts"

export const registeredTargets = [
  vaccTarget,
  cpuTarget,
] as const satisfies readonly Target[]

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never

/** Every registered target's compile params, in one shape (their names must not collide). */
export type CompileParamsShape = UnionToIntersection<(typeof registeredTargets)[number]["compileParams"]>

export const compileParamsShape = (): CompileParamsShape => {
  const shape: Record<string, unknown> = {}
  for (const target of registeredTargets) {
    for (const [name, schema] of Object.entries(target.compileParams)) {
      if (name in shape || name === "target") throw new Error(`targets: compile param "${name}" of ${target.name} is declared twice`)
      shape[name] = schema
    }
  }
  return shape as CompileParamsShape
}
