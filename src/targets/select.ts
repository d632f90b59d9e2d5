// Choosing a target: by name, "auto" (the first registered target that is available here — the
// accelerator when its toolchain and a die are found, else the CPU), or by who wrote a model or
// deployment folder. Every choice says why, for the step log.
import { z } from "zod"
import { TargetError } from "./errors.ts"
import { registeredTargets } from "./registry.ts"
import type { Target } from "./target.ts"

export const targetNames = (targets: readonly Target[] = registeredTargets): string[] => targets.map((t) => t.name)

/** The `target` param of steps: a registered name or "auto". */
export const TargetParam = z.string().refine((v) => v === "auto" || targetNames().includes(v), { message: `expected "auto" or one of ${targetNames().map((n) => `"${n}"`).join(", ")}` })

export interface Chosen {
  readonly target: Target
  /** e.g. "auto → vacc (vamc 3.4.2; …)". */
  readonly why: string
}

export const chooseTarget = (name: string, targets: readonly Target[] = registeredTargets): Chosen => {
  if (name !== "auto") {
    const target = targets.find((t) => t.name === name)
    if (target === undefined) throw new TargetError({ target: name, reason: "unknown-target", message: `unknown target "${name}"`, hint: `use "auto" or one of ${targetNames(targets).join(", ")}` })
    return { target, why: `target ${name}` }
  }
  const skipped: string[] = []
  for (const target of targets) {
    const a = target.availability()
    if (a.available) return { target, why: `auto → ${target.name} (${a.summary})${skipped.length > 0 ? `; not ${skipped.join("; not ")}` : ""}` }
    skipped.push(`${target.name}: ${a.summary}`)
  }
  throw new TargetError({ target: "auto", reason: "unknown-target", message: `no target is available: ${skipped.join("; ")}` })
}

const owner = (dir: string, kind: "model" | "deployment", targets: readonly Target[]): Target => {
  const target = targets.find((t) => (kind === "model" ? t.ownsModel(dir) : t.ownsDeployment(dir)))
  if (target === undefined) throw new TargetError({ target: "?", reason: "bad-input", message: `${dir}: no target recognises this ${kind} folder (${targetNames(targets).join(", ")})`, path: dir })
  return target
}

export const targetOfModel = (dir: string, targets: readonly Target[] = registeredTargets): Target => owner(dir, "model", targets)
export const targetOfDeployment = (dir: string, targets: readonly Target[] = registeredTargets): Target => owner(dir, "deployment", targets)

/**
 * For steps that take a folder made by some target: the folder's target, checked against the step's
 * `target` param when that is not "auto".
 */
export const matchTarget = (asked: string, found: Target, dir: string): Chosen => {
  if (asked !== "auto" && asked !== found.name)
    throw new TargetError({ target: asked, reason: "bad-input", message: `${dir} was made for target ${found.name}, but the step asks for ${asked}`, hint: `set target: "${found.name}" or "auto"` })
  return { target: found, why: `target ${found.name} (from the input)` }
}
