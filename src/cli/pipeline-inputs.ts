// Inputs a pipeline file needs from its user (a model folder, a dataset file), given as flags or
// environment variables. Missing or wrong inputs stop the run with a message saying what is
// missing and how to supply it; the remaining flags go to the run CLI.
import { existsSync, statSync } from "node:fs"
import { resolve } from "node:path"
import type { Pipeline } from "../engine/pipeline.ts"
import type { Kind } from "../engine/step-definition.ts"
import { RUN_USAGE } from "./run-args.ts"
import { type ProgramOptions, runAsProgram } from "./run-pipeline.ts"

export interface PipelineInput {
  /** Flag without dashes, e.g. "model-dir". */
  readonly flag: string
  readonly env?: string
  /** A path that must exist, one of `choices`, or any text. */
  readonly type: "dir" | "file" | "choice" | "text"
  readonly choices?: readonly string[]
  /** Used when the flag and the variable are absent; an input with a default is never missing. */
  readonly default?: string
  /** May be left out (its value is then undefined). */
  readonly optional?: boolean
  /** What it is and where to get it; shown when it is missing. */
  readonly description: string
}

type InputValue<I extends PipelineInput> = I extends { readonly optional: true } ? string | undefined : string

export class PipelineInputError extends Error {
  override readonly name = "PipelineInputError"
}

const metavar = (input: PipelineInput): string => (input.type === "choice" ? (input.choices ?? []).join("|") : input.type === "dir" ? "DIR" : input.type === "text" ? "TEXT" : "FILE")

/** Takes the inputs' flags out of argv (`--flag value` or `--flag=value`), falling back to env. */
export const takePipelineInputs = <S extends Record<string, PipelineInput>>(
  spec: S,
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
): { readonly values: { readonly [K in keyof S]: InputValue<S[K]> }; readonly rest: string[] } => {
  const rest: string[] = []
  const given = new Map<string, string>()
  const flags = new Map(Object.values(spec).map((s) => [`--${s.flag}`, s]))
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [name, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined]
    const input = flags.get(name)
    if (input === undefined) {
      rest.push(arg)
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined || value.startsWith("--")) throw new PipelineInputError(`--${input.flag}: expected ${input.type === "choice" ? `one of ${input.choices?.join(", ")}` : input.type === "text" ? "a value" : `a ${input.type === "dir" ? "folder" : "file"} path`} after it`)
    given.set(input.flag, value)
  }
  const values: Record<string, string | undefined> = {}
  const problems: string[] = []
  for (const [key, input] of Object.entries(spec)) {
    const given_ = given.get(input.flag) ?? (input.env !== undefined ? env[input.env] : undefined)
    const raw = given_ === undefined || given_ === "" ? input.default : given_
    const how = `--${input.flag} ${metavar(input)}${input.env !== undefined ? ` or ${input.env}=…` : ""}`
    if (raw === undefined || raw === "") {
      if (input.optional === true) values[key] = undefined
      else problems.push(`missing ${how}: ${input.description}`)
      continue
    }
    if (input.type === "text") {
      values[key] = raw
      continue
    }
    if (input.type === "choice") {
      if (input.choices?.includes(raw) === true) values[key] = raw
      else problems.push(`${how}: "${raw}" is not one of ${input.choices?.join(", ")} (${input.description})`)
      continue
    }
    const path = resolve(raw)
    if (!existsSync(path)) problems.push(`${how}: ${path} does not exist (${input.description})`)
    else if (input.type === "dir" && !statSync(path).isDirectory()) problems.push(`${how}: ${path} is not a folder (${input.description})`)
    else if (input.type === "file" && !statSync(path).isFile()) problems.push(`${how}: ${path} is not a file (${input.description})`)
    else values[key] = path
  }
  if (problems.length > 0) throw new PipelineInputError(problems.join("\n"))
  return { values: values as { [K in keyof S]: InputValue<S[K]> }, rest }
}

/**
 * Like `main`, for pipelines that need user inputs: `build` gets the resolved paths. `--help`
 * lists the inputs and works without them.
 */
export const mainWithInputs = <S extends Record<string, PipelineInput>, K extends Kind>(
  meta: { readonly main: boolean; readonly path: string },
  spec: S,
  build: (inputs: { readonly [Key in keyof S]: InputValue<S[Key]> }) => Pipeline<K>,
  options: ProgramOptions = {},
): void => {
  if (!meta.main) return
  const argv = process.argv.slice(2)
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`Inputs:\n${Object.values(spec).map((s) => `  --${s.flag} ${metavar(s)}${s.env !== undefined ? ` (or ${s.env})` : ""}${s.default !== undefined ? ` [default ${s.default}]` : s.optional === true ? " [optional]" : ""}\n      ${s.description}`).join("\n")}\n\n${RUN_USAGE}\n`)
    process.exit(0)
  }
  let built
  let rest
  try {
    const taken = takePipelineInputs(spec, argv)
    rest = taken.rest
    // A combination of inputs the pipeline cannot build (e.g. a precision its target has not) is a usage error, not a crash.
    built = build(taken.values)
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`)
    process.exit(2)
  }
  runAsProgram(built, meta.path, rest, options)
}
