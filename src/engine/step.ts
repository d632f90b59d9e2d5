// Step definitions: a name, a version, a zod schema for params, typed input and output artifact
// kinds, what of the environment the result depends on, and `run`, an Effect. Calling a step with
// params gives an `Applied` step (waiting for its main input) or, for steps without inputs, a Node.
// The runtime's erased view of a step lives in step-definition.ts.
import type * as Effect from "effect/Effect"
import type { z } from "zod"
import { describeIssues } from "../schema/index.ts"
import { PipelineDefinitionError } from "./errors.ts"
import { asModulePath, callerModule } from "./defining-module.ts"
import { type Node, makeNode } from "./node.ts"
import type { Reproducibility } from "./reproducibility.ts"
import type { AnyStep, Kind, ResourceClass, StepContext, StepFailure, StepServices } from "./step-definition.ts"

export interface StepSpec<
  Name extends string,
  P extends z.ZodType,
  In extends Record<string, Kind>,
  Main extends keyof In & string,
  Out extends Kind,
  E extends StepFailure,
  R,
> {
  readonly name: Name
  /**
   * An explicit override: bumping it invalidates this step's cache entries and downstream. The
   * key already covers the step's code (its module and everything it imports, and the versions
   * of the npm packages on that path), so a bump is needed only for what code cannot show.
   */
  readonly version: number
  readonly params: P
  readonly inputs: In
  /** The input `.then` connects; required when there are several inputs. */
  readonly main?: Main
  readonly output: Out
  /**
   * What the result depends on beyond params and inputs: tool versions, for benchmarks the host.
   * Sees the input folders too (a deployment's target decides whose tool versions count).
   */
  readonly fingerprint?: (params: z.output<P>, inputs: { readonly [K in keyof In]: string }) => Record<string, string>
  readonly resources?: ResourceClass | ((params: z.output<P>, inputs: { readonly [K in keyof In]: string }) => ResourceClass)
  /**
   * How the output relates to the machine it ran on (default "portable": the same bytes
   * everywhere). "host": bound to this host class (e.g. compiled for this CPU or device toolchain);
   * "measurement": differs on every run (benchmarks). The lock file and `--frozen` treat each accordingly.
   */
  readonly reproducible?: Reproducibility
  /**
   * Where the step runs (a target name: "cpu", "vacc"), from its params and its input folders; the
   * run's summary shows it. Not part of the key: what results depend on belongs in `fingerprint`.
   */
  readonly runsOn?: (params: z.output<P>, inputs: { readonly [K in keyof In]: string }) => string
  /** The module whose code the step runs; default: the file that calls defineStep. Pass `import.meta`. */
  readonly module?: { readonly path: string }
  /**
   * Writes the output tree under `ctx.outDir`. Fails with the step's own tagged errors (the runtime
   * prints their message and hint); may require any service the run provides (`StepServices`
   * always, others through the run's layers).
   */
  readonly run: (ctx: StepContext<z.output<P>, In>) => Effect.Effect<void, E, R | StepServices>
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

/** Validates params against a step's schema; the error names the node and the field. */
export const validateParams = (step: AnyStep, nodeId: string, params: unknown): unknown => {
  const result = step.params.safeParse(params ?? {})
  if (!result.success) {
    throw new PipelineDefinitionError({
      message: `node "${nodeId}" (step ${step.name}): invalid params: ${describeIssues(result.error, params ?? {}, { schema: step.params, rootName: "params" })}`,
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
  E extends StepFailure = never,
  R = never,
>(spec: StepSpec<Name, P, In, Main, Out, E, R>): Step<P, In, Main, Out> => {
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
    fingerprint: spec.fingerprint as AnyStep["fingerprint"],
    resources: (spec.resources ?? "cpu") as AnyStep["resources"],
    reproducible: spec.reproducible ?? "portable",
    runsOn: spec.runsOn as AnyStep["runsOn"],
    module: spec.module !== undefined ? asModulePath(spec.module.path) : callerModule(defineStep),
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
