// The units the sensitivity search keeps in float: one group per quantized MatMul role of an encoder
// layer ("layer.3.qkv", "layer.3.attention-output", "layer.3.ffn-up", "layer.3.ffn-down"), one per
// head outside the layers ("head.classifier.dense"), or whole layers. Each group knows its cost in
// multiply-accumulates per token, so the search can prefer keeping cheap groups in float.

import type { QuantTarget } from "./targets.ts"

export type GroupUnit = "matmul" | "layer"

export interface TargetGroup {
  readonly group: string
  /** Encoder layer index, when the group lies inside one. */
  readonly layer: number | undefined
  /** "qkv", "attention-output", "ffn-up", "ffn-down", "head", "embedding", "layer" or the weight name. */
  readonly role: string
  readonly nodes: readonly string[]
  /** Weight multiply-accumulates per token (Σ K·N of the group's weights; 0 for embedding lookups). */
  readonly macsPerToken: number
}

/**
 * A MatMul's role from its weight name (Hugging Face names: "attention.self.query",
 * "attention.output.dense", "intermediate.dense", "output.dense"); undefined when the name says
 * nothing, and the weight name then names the group.
 */
export const matmulRole = (target: QuantTarget): string | undefined => {
  if (target.kind === "attention") return "qkv"
  if (target.kind === "gather") return "embedding"
  const name = target.weight.name.toLowerCase()
  if (/(^|[./_])(qkv|query|key|value|q_proj|k_proj|v_proj)([./_]|$)/.test(name)) return "qkv"
  if (/attention[./_](output|out_proj|o_proj)|(^|[./_])(out_proj|o_proj)([./_]|$)/.test(name)) return "attention-output"
  if (/(^|[./_])(intermediate|fc1|up_proj|gate_proj)([./_]|$)/.test(name)) return "ffn-up"
  if (/(^|[./_])(output[./_]dense|fc2|down_proj)([./_]|$)/.test(name)) return "ffn-down"
  return undefined
}

/** Weight name without its ".weight"/"_weight" suffix (what names a head group). */
const weightStem = (name: string): string => name.replace(/[._]?(weight|kernel)$/i, "")

const macsOf = (t: QuantTarget): number => (t.kind === "gather" ? 0 : t.weight.k * t.weight.n)

/** Groups quantization targets by `unit`, in graph order of their first node. Targets in `skip` are left out. */
export const groupTargets = (targets: readonly QuantTarget[], unit: GroupUnit, skip: (node: string) => boolean = () => false): TargetGroup[] => {
  const groups = new Map<string, { layer: number | undefined; role: string; nodes: string[]; macs: number }>()
  for (const t of targets) {
    if (skip(t.node.name)) continue
    let key: string
    let role: string
    if (unit === "layer") {
      role = t.layer === undefined ? "other" : "layer"
      key = t.layer === undefined ? "other" : `layer.${t.layer}`
    } else {
      const known = matmulRole(t)
      const stem = t.kind === "gather" ? weightStem(t.table.name) : weightStem(t.weight.name)
      if (t.layer === undefined) {
        role = known === "embedding" ? "embedding" : "head"
        key = `${role}.${stem || t.node.name}`
      } else {
        role = known ?? stem
        key = `layer.${t.layer}.${known ?? (stem || t.node.name)}`
      }
    }
    const g = groups.get(key) ?? { layer: t.layer, role, nodes: [], macs: 0 }
    g.nodes.push(t.node.name)
    g.macs += macsOf(t)
    groups.set(key, g)
  }
  return [...groups].map(([group, g]) => ({ group, layer: g.layer, role: g.role, nodes: g.nodes, macsPerToken: g.macs }))
}
