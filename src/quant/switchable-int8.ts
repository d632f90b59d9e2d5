// One model for the whole sensitivity search: every searched target keeps its float nodes and gets
// its int8 rewrite beside them (the same rewriteInt8 code and quantized weights), and a bool [groups]
// input chooses per group which one produces the original output. A configuration is then a feed,
// not a model to build, write and load (each of which takes seconds for a base-size encoder).
// Int8 groups compute exactly what the built model computes. A float group's bias Add now feeds the
// Where, so ORT no longer fuses it with what follows (BiasGelu, SkipLayerNormalization): its values
// differ from the float model's by rounding, which dynamic int8 ranges downstream can amplify
// (bge-small, one group int8: up to 7e-5 on the embedding; mixed and all-int8 configurations ≤ 1e-7).
// Tried: the Where before a bias Add both paths share matched float groups exactly, but one bge-small
// configuration (layer 3's Attention float, the rest int8) then differed by 4e-2, cause not found;
// so the Where stays after the Add.

import { GraphEditor, type OnnxModel } from "../onnx/index.ts"
import { rewriteInt8, type Int8RewriteOptions, type QuantizedNode } from "./int8-rewrite.ts"
import { QuantError } from "./quant-error.ts"
import type { QuantTarget } from "./targets.ts"

/** The graph input holding one flag per group: true runs the group in int8, false in float. */
export const SWITCH_INPUT = "kiln_int8_groups"

export interface SwitchableInt8Build {
  readonly model: OnnxModel
  /** Name of the bool [groups.length] input. */
  readonly input: string
  /** Group names in flag order. */
  readonly groups: readonly string[]
  /** Every target rewritten (each also keeps its float nodes). */
  readonly quantized: readonly QuantizedNode[]
}

/**
 * Rewrites `targets` switchably. Each target must belong to exactly one of `groups` (by node name);
 * targets outside `targets` (excluded, ruled out) stay float with no switch.
 */
export const buildSwitchableInt8 = (
  model: OnnxModel,
  targets: readonly QuantTarget[],
  groups: readonly { readonly group: string; readonly nodes: readonly string[] }[],
  options: Omit<Int8RewriteOptions, "switchOf">,
  producer = "kiln-quantize-switchable",
): SwitchableInt8Build => {
  const editor = new GraphEditor(model)
  if (editor.inputs.some((i) => i.name === SWITCH_INPUT) || editor.initializer(SWITCH_INPUT) !== undefined || editor.producer(SWITCH_INPUT) !== undefined)
    throw new QuantError("bad-params", SWITCH_INPUT, "the model already has a value of this name; the switchable search model needs it for its flags")
  const groupOf = new Map<string, number>()
  groups.forEach((g, i) =>
    g.nodes.forEach((node) => {
      if (groupOf.has(node)) throw new QuantError("bad-params", node, `internal error: node is in groups ${groups[groupOf.get(node)!]!.group} and ${g.group}`)
      groupOf.set(node, i)
    }),
  )
  for (const t of targets) if (!groupOf.has(t.node.name)) throw new QuantError("bad-params", t.node.name, "internal error: a switchable target belongs to no group")
  editor.inputs = [...editor.inputs, { name: SWITCH_INPUT, dtype: "bool", dims: [groups.length] }]

  // One scalar flag per group (Gather with a scalar index), read by every Where of the group.
  const flags = new Map<number, string>()
  for (const t of targets) {
    const i = groupOf.get(t.node.name)!
    if (flags.has(i)) continue
    const index = editor.addInitializer(`${SWITCH_INPUT}_index_${i}`, { dtype: "int64", dims: [], data: { kind: "bytes", bytes: new Uint8Array(BigInt64Array.of(BigInt(i)).buffer) } })
    const flag = editor.freshValue(`${SWITCH_INPUT}_${i}`)
    editor.insertBefore(t.node, [editor.makeNode("Gather", [SWITCH_INPUT, index], [flag], { name: `${SWITCH_INPUT}_Gather_${i}`, attributes: [{ name: "axis", type: "int", value: 0 }] })])
    flags.set(i, flag)
  }
  const quantized = rewriteInt8(editor, targets, { ...options, switchOf: (t) => flags.get(groupOf.get(t.node.name)!) })
  return { model: editor.build({ producer }), input: SWITCH_INPUT, groups: groups.map((g) => g.group), quantized }
}

/** The flag values for a configuration: true for every group not kept in float. */
export const switchFlags = (build: Pick<SwitchableInt8Build, "groups">, keptFloat: Iterable<string>): Uint8Array => {
  const float = new Set(keptFloat)
  for (const g of float) if (!build.groups.includes(g)) throw new QuantError("bad-params", g, "internal error: not a group of the switchable model")
  return Uint8Array.from(build.groups, (g) => (float.has(g) ? 0 : 1))
}
