// Rendering what a step failed with for the user: a step's tagged error gives its message and
// hint; a thrown Error its message; a service the run does not provide says which one. A full disk
// anywhere in the cause chain gets the disk-space hint instead of whatever the step attached
// (stdlib steps blame their params).
import { DISK_FULL_HINT, isDiskFull } from "../cache/disk-full.ts"
import type { StepFailure } from "./step-definition.ts"

export interface FailureText {
  readonly message: string
  readonly hint?: string
}

const isStepFailure = (error: unknown): error is StepFailure =>
  typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string" && typeof (error as { message?: unknown }).message === "string"

export const failureText = (error: unknown): FailureText => {
  const text = describe(error)
  if (!isDiskFull(error)) return text
  return { message: /no space left/i.test(text.message) ? text.message : `${text.message}: no space left on device`, hint: DISK_FULL_HINT }
}

const describe = (error: unknown): FailureText => {
  if (isStepFailure(error)) {
    const message = error.message !== "" ? error.message : error._tag
    return typeof error.hint === "string" ? { message, hint: error.hint } : { message }
  }
  if (error instanceof Error) {
    const missing = /^Service not found: (\S+)/.exec(error.message)
    if (missing !== null) return { message: `the step needs the service ${missing[1]}, which this run does not provide`, hint: "provide the service's layer to the run (RunOptions.services)" }
    return { message: error.message !== "" ? error.message : error.name }
  }
  if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    const e = error as { message: string; hint?: unknown }
    return typeof e.hint === "string" ? { message: e.message, hint: e.hint } : { message: e.message }
  }
  return { message: String(error) }
}
