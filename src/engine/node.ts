// Nodes: a step applied to validated params and to its input nodes. Nodes are immutable values;
// their cache identity comes from content (step, params, input digests), not from object identity.
import type * as Effect from "effect/Effect"
import type { AnyStep, Kind } from "./step-definition.ts"

const nodeBrand: unique symbol = Symbol.for("kiln/Node")

/** A file or directory that enters a pipeline; its digest is its content's. */
export interface SourceSpec {
  /** A local path; for a resolved source, what it is called (e.g. "hf:BAAI/bge-m3@main"). */
  readonly path: string
  /** Absent: `path` is read in place. Present: called when the pipeline runs to find the files. */
  readonly resolve?: SourceResolver
}

/** What a resolved source hands to the runtime. */
export interface ResolvedSource {
  /** The folder steps read. */
  readonly path: string
  /** Relative path → the regular file holding its bytes; the source's digest covers exactly these. */
  readonly files: ReadonlyMap<string, string>
  /** What the source resolved to (e.g. the commit a branch points at): part of its key and its lock-file entry. */
  readonly pin: Readonly<Record<string, string>>
}

export interface SourceContext {
  /** A dry run must not fetch: answer from what is at hand, or `{ pending }` saying what would be fetched. */
  readonly dryRun: boolean
  readonly log: (line: string) => Effect.Effect<void>
  /** Progress of one part (a file being downloaded). */
  readonly progress: (part: string, done: number, total: number) => Effect.Effect<void>
}

/** Finds a source's files when the pipeline runs; the source's own module knows how (the engine does not). */
export type SourceResolver = (ctx: SourceContext) => Effect.Effect<ResolvedSource | { readonly pending: string }, unknown>

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

/** A source whose files are found when the pipeline runs, e.g. a Hub repo (see src/hub's `hf`). */
export const resolvedSource = <const K extends Kind>(kind: K, name: string, resolve: SourceResolver, id?: string): Node<K> =>
  build<K>({ kind, step: undefined, source: { path: name, resolve }, params: undefined, inputs: {}, label: id })

export const isNode = (value: unknown): value is Node<Kind> =>
  typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[nodeBrand] === true
