// Pipelines: a name and the nodes it ends in, built by chaining `.then(step(...))`. A chain is an
// immutable value; `.fork` adds consumers of the current tail and `.also` adds other end nodes.
import { PipelineDefinitionError } from "./errors.ts"
import type { Node } from "./node.ts"
import type { Applied } from "./step.ts"
import type { Kind } from "./step-definition.ts"

export interface Pipeline<K extends Kind> {
  readonly name: string
  /**
   * Which variant of its pipeline file this is (e.g. "vacc" for `--target vacc`), when a file
   * builds different graphs from its flags: each variant keeps its own lock file,
   * `<file>.<variant>.lock.json`, so runs of one do not overwrite the other's. Absent: the default.
   */
  readonly variant?: string
  /** The node `.then` connects to next. */
  readonly tail: Node<K>
  /** Every node added to the pipeline; the graph is these and their ancestors. */
  readonly ends: readonly Node<Kind>[]
  readonly then: <O extends Kind>(step: Applied<K, O>) => Pipeline<O>
  /** Feeds the tail to several steps; the tail stays the same. */
  readonly fork: (...steps: Applied<K, Kind>[]) => Pipeline<K>
  /** Adds nodes built elsewhere (fan-in graphs) as ends of the pipeline. */
  readonly also: (...nodes: Node<Kind>[]) => Pipeline<K>
}

const chain = <K extends Kind>(name: string, variant: string | undefined, tail: Node<K>, ends: readonly Node<Kind>[]): Pipeline<K> => ({
  name,
  ...(variant !== undefined ? { variant } : {}),
  tail,
  ends,
  then: (step) => {
    const next = step.to(tail)
    return chain(name, variant, next, [...ends.filter((n) => n !== tail), next])
  },
  fork: (...steps) => chain(name, variant, tail, [...ends, ...steps.map((s) => s.to(tail))]),
  also: (...nodes) => chain(name, variant, tail, [...ends, ...nodes]),
})

const VARIANT = /^[a-z0-9][a-z0-9-]*$/

export const pipeline = <K extends Kind>(name: string, source: Node<K>, options: { readonly variant?: string | undefined } = {}): Pipeline<K> => {
  if (options.variant !== undefined && !VARIANT.test(options.variant)) {
    throw new PipelineDefinitionError({ message: `pipeline ${name}: variant "${options.variant}" must be lower-case letters, digits and dashes (it names the lock file)` })
  }
  return chain(name, options.variant, source, [source])
}
