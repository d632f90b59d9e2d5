// Nodes: a step applied to validated params and to its input nodes. Nodes are immutable values;
// their cache identity comes from content (step, params, input digests), not from object identity.
import type { AnyStep, Kind } from "./step-definition.ts"

const nodeBrand: unique symbol = Symbol.for("kiln/Node")

/** A local file or directory that enters a pipeline; its digest is its content's. */
export interface SourceSpec {
  readonly path: string
}

export interface Node<K extends Kind> {
  readonly [nodeBrand]: true
  readonly kind: K
  readonly step: AnyStep | undefined
  readonly source: SourceSpec | undefined
  readonly params: unknown
  readonly inputs: Readonly<Record<string, Node<Kind>>>
  /** User-chosen id; the runtime derives one from the step name when absent. */
  readonly label: string | undefined
  /** The same node under another id. */
  readonly as: (id: string) => Node<K>
}

const build = <K extends Kind>(fields: Omit<Node<K>, typeof nodeBrand | "as">): Node<K> => {
  const node: Node<K> = {
    [nodeBrand]: true,
    ...fields,
    as: (id: string) => build({ ...fields, label: id }),
  }
  return Object.freeze(node)
}

export const makeNode = <K extends Kind>(
  step: AnyStep,
  params: unknown,
  inputs: Record<string, Node<Kind>>,
  label: string | undefined,
): Node<K> => build<K>({ kind: step.output as K, step, source: undefined, params, inputs, label })

/** A local file or directory as a node of the given kind, e.g. `local("hf-checkpoint", "./bge-m3")`. */
export const local = <const K extends Kind>(kind: K, path: string, id?: string): Node<K> =>
  build<K>({ kind, step: undefined, source: { path }, params: undefined, inputs: {}, label: id })

export const isNode = (value: unknown): value is Node<Kind> =>
  typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[nodeBrand] === true
