// Step definitions: a name, a version, a zod schema for params, typed input and output artifact
// kinds, what of the environment the result depends on, and `run`, an Effect. Calling a step with
// params gives an `Applied` step (waiting for its main input) or, for steps without inputs, a Node.
import type * as Effect from "effect/Effect"
import type { FileSystem } from "effect/FileSystem"
import type { Path } from "effect/Path"
import { z } from "zod"
import { PipelineDefinitionError } from "./errors.ts"
import { type Node, makeNode } from "./node.ts"

/** An artifact kind, e.g. "hf-checkpoint", "onnx-model". Kinds are compared by name at compile time. */
export type Kind = string

/** Resource classes bound how many steps of a class run at once. */
export type ResourceClass = "cpu" | "io" | "device"

/** An input artifact handed to a running step: a readable path and its tree digest. */
export interface ArtifactInput {
  readonly path: string
  readonly digest: string
}

/** What a running step sees. Everything it writes under `outDir` becomes its output artifact. */
export interface StepContext<P, In extends Record<string, Kind>> {
  readonly nodeId: string
  readonly params: P
  readonly inputs: { readonly [K in keyof In]: ArtifactInput }
  /** Empty directory for the step's output tree; committed to the cache when `run` succeeds. */
  readonly outDir: string
  /** Scratch directory, removed when the step ends. */
  readonly tmpDir: string
  /** Appends a line to the step's log (stored with the cache entry). */
  readonly log: (line: string) => Effect.Effect<void>
  /** Reports progress; renderers draw a bar and an ETA. */
  readonly progress: (done: number, total: number) => Effect.Effect<void>
}

/** Services every step may use; the runtime provides them. */
export type StepServices = FileSystem | Path

export interface StepSpec<
  Name extends string,
  P extends z.ZodType,
  In extends Record<string, Kind>,
  Main extends keyof In & string,
  Out extends Kind,
> {
  readonly name: Name
  /** Bump when the step's logic changes: it invalidates this step's cache entries and downstream. */
  readonly version: number
  readonly params: P
  readonly inputs: In
  /** The input `.then` connects; required when there are several inputs. */
  readonly main?: Main
  readonly output: Out
  /** What the result depends on beyond params and inputs: tool versions, for benchmarks the host. */
  readonly fingerprint?: () => Record<string, string>
  readonly resources?: ResourceClass
  readonly run: (ctx: StepContext<z.output<P>, In>) => Effect.Effect<void, unknown, StepServices>
}

/** A defined step with its types erased, as the runtime sees it. */
export interface AnyStep {
  readonly name: string
  readonly version: number
  readonly params: z.ZodType
  readonly inputs: Record<string, Kind>
  readonly main: string | undefined
  readonly output: Kind
  readonly fingerprint: (() => Record<string, string>) | undefined
  readonly resources: ResourceClass
  readonly run: (ctx: StepContext<any, any>) => Effect.Effect<void, unknown, StepServices>
}

/** A step called with params, waiting for the node that feeds its main input. */
export interface Applied<I extends Kind, O extends Kind> {
  /** Invariant in I: a mismatched upstream kind is a compile error in `.then`. */
  readonly _in: (kind: I) => I
  readonly step: AnyStep
  readonly label: string | undefined
  /** Connects the main input. */
  readonly to: (node: Node<I>) => Node<O>
  /** Gives the resulting node an id of its own (default: the step name). */
  readonly as: (id: string) => Applied<I, O>
}

type ExtraInputs<In extends Record<string, Kind>, Main extends keyof In> = {
  readonly [K in Exclude<keyof In, Main>]: Node<In[K]>
}

type ParamsArg<P extends z.ZodType> = z.input<P>

export type Step<
  P extends z.ZodType,
  In extends Record<string, Kind>,
  Main extends keyof In & string,
  Out extends Kind,
> = ([keyof In] extends [never]
  ? (params?: ParamsArg<P>) => Node<Out>
  : [Exclude<keyof In, Main>] extends [never]
    ? (params?: ParamsArg<P>) => Applied<In[Main], Out>
    : (params: ParamsArg<P> | undefined, inputs: ExtraInputs<In, Main>) => Applied<In[Main], Out>) & {
  readonly definition: AnyStep
}

/** Formats zod issues as "field: expected …" lines. */
export const describeZodIssues = (error: z.ZodError): string =>
  error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(params)"}: ${issue.message}`)
    .join("; ")

/** Validates params against a step's schema; the error names the node and the field. */
export const validateParams = (step: AnyStep, nodeId: string, params: unknown): unknown => {
  const result = step.params.safeParse(params ?? {})
  if (!result.success) {
    throw new PipelineDefinitionError({
      message: `node "${nodeId}" (step ${step.name}): invalid params: ${describeZodIssues(result.error)}`,
      hint: `fix the params passed to ${step.name}(...) or the --set override`,
    })
  }
  return result.data
}

export const defineStep = <
  const Name extends string,
  P extends z.ZodType,
  const In extends Record<string, Kind>,
  const Out extends Kind,
  const Main extends keyof In & string = keyof In & string,
>(spec: StepSpec<Name, P, In, Main, Out>): Step<P, In, Main, Out> => {
  const inputNames = Object.keys(spec.inputs)
  if (!Number.isInteger(spec.version) || spec.version < 1) {
    throw new PipelineDefinitionError({ message: `step ${spec.name}: version must be a positive integer, got ${spec.version}` })
  }
  if (inputNames.length > 1 && spec.main === undefined) {
    throw new PipelineDefinitionError({
      message: `step ${spec.name}: it has several inputs (${inputNames.join(", ")}), so it must name its main input`,
      hint: `add main: "${inputNames[0]}" to the step definition`,
    })
  }
  const main = spec.main ?? inputNames[0]
  const definition: AnyStep = {
    name: spec.name,
    version: spec.version,
    params: spec.params,
    inputs: spec.inputs,
    main,
    output: spec.output,
    fingerprint: spec.fingerprint,
    resources: spec.resources ?? "cpu",
    run: spec.run as AnyStep["run"],
  }
  const call = (params?: unknown, extra?: Record<string, Node<Kind>>): unknown => {
    const resolved = validateParams(definition, spec.name, params)
    if (main === undefined) return makeNode(definition, resolved, {}, undefined)
    for (const name of inputNames) {
      if (name === main) continue
      if (extra?.[name] === undefined) {
        throw new PipelineDefinitionError({
          message: `step ${spec.name}: input "${name}" is missing`,
          hint: `pass it as the second argument: ${spec.name}(params, { ${name}: someNode })`,
        })
      }
    }
    const applied = (label: string | undefined): Applied<Kind, Kind> => ({
      _in: (k) => k,
      step: definition,
      label,
      to: (node) => makeNode(definition, resolved, { ...extra, [main]: node }, label),
      as: (id) => applied(id),
    })
    return applied(undefined)
  }
  return Object.assign(call, { definition }) as unknown as Step<P, In, Main, Out>
}
