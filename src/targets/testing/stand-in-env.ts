// For tests that run the vacc target: points discovery at kiln's stand-ins for the duration of a
// describe block (process.env, restored afterwards), plus any extra variables a fault test needs.
import { afterAll, beforeAll } from "bun:test"
import { standInEnvironment } from "../vacc/stand-in/env.ts"

export const useStandIns = (extra: Record<string, string> = {}): void => {
  const saved = new Map<string, string | undefined>()
  const env = { ...standInEnvironment(), ...extra }
  beforeAll(() => {
    for (const [k, v] of Object.entries(env)) {
      saved.set(k, process.env[k])
      process.env[k] = v
    }
  })
  afterAll(() => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
}

/** Sets variables while `work` runs (for one fault), restoring them after. */
export const withEnv = async <A>(vars: Record<string, string | undefined>, work: () => Promise<A>): Promise<A> => {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  try {
    return await work()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
