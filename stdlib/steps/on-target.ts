// What steps share about targets: the `target` param, the resource class and fingerprint it
// implies (a step on an accelerator holds a die and keys on the tool versions), and running a
// target's effect with the services it needs (a scope for its processes and temp dirs, a spawner).
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import type { ResourceClass } from "../../src/engine/index.ts"
import { chooseTarget, targetOfDeployment, targetOfModel, type TargetServices } from "../../src/targets/index.ts"

/** The resource class of a step running `target` ("auto" as it resolves here). */
export const targetResources = (target: string | undefined): ResourceClass => chooseTarget(target ?? "auto").target.resources

/** What of the environment a step's output depends on when it uses `target`. */
export const targetFingerprint = (target: string | undefined): Record<string, string> => {
  const chosen = chooseTarget(target ?? "auto")
  // An explicit target keys on its versions only; "auto" also records what it resolved to.
  return { ...(target === undefined || target === "auto" ? { target: chosen.target.name } : {}), ...chosen.target.fingerprint() }
}

/** Runs a target's effect inside the step: scoped (processes and temp dirs end with it), with a process spawner. */
export const onTarget = <A, E>(effect: Effect.Effect<A, E, TargetServices>): Effect.Effect<A, E> => effect.pipe(Effect.scoped, Effect.provide(NodeServices.layer))

/** Where a step that picks its target by param runs (compile): the name, or what "auto" resolves to here. */
export const runsOnTarget = (target: string | undefined): string => chooseTarget(target ?? "auto").target.name

/** Where a step over a model or deployment folder runs: the target that made the folder. */
export const runsOnModel = (dir: string): string => targetOfModel(dir).name
export const runsOnDeployment = (dir: string): string => targetOfDeployment(dir).name
