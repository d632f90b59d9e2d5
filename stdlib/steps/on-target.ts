// What steps share about targets: the `target` param, the resource class and fingerprint it
// implies (a step on an accelerator holds a die and keys on the tool versions), and running a
// target's effect with the services it needs (a scope for its processes and temp dirs, a spawner).
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import type { ResourceClass } from "../../src/engine/index.ts"
import { chooseTarget, matchTarget, type Target, targetOfDeployment, targetOfModel, type TargetServices } from "../../src/targets/index.ts"

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

/**
 * The target that runs a deployment: the one that made the folder (checked against the step's
 * `target` param unless that is absent or "auto"). Steps over deployments key on and hold what
 * this target needs — not on what "auto" would pick on this machine.
 */
export const deploymentTarget = (asked: string | undefined, dir: string): Target => matchTarget(asked ?? "auto", targetOfDeployment(dir), dir).target

/**
 * What the results of opening these deployments depend on: the tool versions of each device target
 * among them (a vacc deployment's numbers come from vaststreamx and the driver); a CPU deployment
 * adds nothing (its outputs depend on its inputs only).
 */
export const deploymentsFingerprint = (targets: readonly Target[]): Record<string, string> =>
  Object.assign({}, ...[...new Set(targets)].filter((t) => t.resources === "device").map((t) => t.fingerprint()))

/** "device" when any of them runs on an accelerator (the step holds a die), else "cpu". */
export const deploymentsResources = (targets: readonly Target[]): ResourceClass => (targets.some((t) => t.resources === "device") ? "device" : "cpu")

/**
 * Fingerprint, resource class and place of a step over one deployment (its `deployment` input):
 * those of the deployment's own target, whatever "auto" would pick on this machine — on an
 * accelerator the runtime's versions shape the results, and the step holds a die.
 */
export const overDeployment = {
  fingerprint: (p: { readonly target?: string | undefined }, inputs: { readonly deployment: string }) => deploymentsFingerprint([deploymentTarget(p.target, inputs.deployment)]),
  resources: (p: { readonly target?: string | undefined }, inputs: { readonly deployment: string }) => deploymentsResources([deploymentTarget(p.target, inputs.deployment)]),
  runsOn: (_p: unknown, inputs: { readonly deployment: string }) => runsOnDeployment(inputs.deployment),
}
