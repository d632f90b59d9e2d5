// Mixed precision by exclusion: node-name globs, op types and encoder layer indices name the nodes
// that stay in float. A pattern that matches no node is an error naming the field and pattern,
// because a typo there would otherwise silently quantize what the user meant to protect.

import { opKey, type OnnxNode } from "../onnx/index.ts"
import { nodeLayerIndex } from "./layer-index.ts"
import { QuantError } from "./quant-error.ts"

export interface ExcludeSpec {
  /**
   * Globs over node names and the names of the weights a node reads: `*` any run of characters
   * (dots and slashes included), `?` one character. kiln's exporter auto-names nodes ("MatMul_3")
   * but keeps Hugging Face weight names, so "encoder.layer.23.output.dense.*" finds that Linear.
   */
  readonly nodes?: readonly string[]
  /** Op types: "MatMul", or with a domain, "com.microsoft:Attention" ("Attention" matches any domain). */
  readonly opTypes?: readonly string[]
  /** Encoder layer indices, read off node and weight names (see layer-index.ts). */
  readonly layers?: readonly number[]
}

export const globToRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")}$`)

/** Why each excluded node is excluded, by node name. */
export type Exclusions = Map<string, string>

/**
 * Resolves an exclude spec against every node of the graph. `field` prefixes error subjects
 * ("exclude" → "exclude.nodes"). Throws QuantError("bad-option") for a pattern matching nothing.
 */
export const resolveExclusions = (
  nodes: readonly OnnxNode[],
  isInitializer: (name: string) => boolean,
  spec: ExcludeSpec | undefined,
  field = "exclude",
): Exclusions => {
  const excluded: Exclusions = new Map()
  if (spec === undefined) return excluded
  const add = (node: OnnxNode, why: string) => {
    if (!excluded.has(node.name)) excluded.set(node.name, why)
  }
  for (const [i, glob] of (spec.nodes ?? []).entries()) {
    const re = globToRegExp(glob)
    const hits = nodes.filter((n) => re.test(n.name) || n.inputs.some((x) => isInitializer(x) && re.test(x)))
    if (hits.length === 0) throw new QuantError("bad-option", `${field}.nodes[${i}]`, `pattern "${glob}" matches no node name or weight name in the graph`)
    for (const n of hits) add(n, `${field}.nodes "${glob}"`)
  }
  for (const [i, op] of (spec.opTypes ?? []).entries()) {
    const hits = nodes.filter((n) => (op.includes(":") ? opKey(n) === op : n.opType === op))
    if (hits.length === 0) throw new QuantError("bad-option", `${field}.opTypes[${i}]`, `op type "${op}" matches no node in the graph`)
    for (const n of hits) add(n, `${field}.opTypes "${op}"`)
  }
  for (const [i, layer] of (spec.layers ?? []).entries()) {
    const hits = nodes.filter((n) => nodeLayerIndex(n, isInitializer) === layer)
    if (hits.length === 0) {
      const known = [...new Set(nodes.map((n) => nodeLayerIndex(n, isInitializer)).filter((x) => x !== undefined))].sort((a, b) => a - b)
      throw new QuantError(
        "bad-option",
        `${field}.layers[${i}]`,
        `layer ${layer} matches no node (layers found in node and weight names: ${known.length === 0 ? "none" : `${known[0]}…${known.at(-1)}`})`,
      )
    }
    for (const n of hits) add(n, `${field}.layers ${layer}`)
  }
  return excluded
}
