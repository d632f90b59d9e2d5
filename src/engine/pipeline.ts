// Pipelines: a name and the nodes it ends in, built by chaining `.then(step(...))`. A chain is an
// immutable value; `.fork` adds consumers of the current tail and `.also` adds other end nodes.
import type { Node } from "./node.ts"
import type { Applied } from "./step.ts"
import type { Kind } from "./step-definition.ts"

export interface Pipeline<K extends Kind> {
  readonly name: string
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

const chain = <K extends Kind>(name: string, tail: Node<K>, ends: readonly Node<Kind>[]): Pipeline<K> => ({
  name,
  tail,
  ends,
  then: (step) => {
    const next = step.to(tail)
    return chain(name, next, [...ends.filter((n) => n !== tail), next])
  },
  fork: (...steps) => chain(name, tail, [...ends, ...steps.map((s) => s.to(tail))]),
  also: (...nodes) => chain(name, tail, [...ends, ...nodes]),
})

export const pipeline = <K extends Kind>(name: string, source: Node<K>): Pipeline<K> => chain(name, source, [source])
